// History kept in memory: for Wharf.open() without a path, tests and simulations. Same contract
// as the LevelDB store (test/unit/history-contract.ts runs on both). A page is a scan of the
// finished jobs kept, which is what an in-memory queue holds anyway; the finish-time order that
// vacuum walks is kept sorted, with deletions skipped lazily.

import type { JobView } from '../engine/core/view.js'
import {
  countInto,
  finishedAtOf,
  matchesHistoryQuery,
  type FinishedCounts,
  type FinishedCursor,
  type HistoryQuery,
  type HistoryStore,
  type HistoryWrite,
} from './history.js'

interface Finished {
  atMs: number
  uuid: string
}

export class MemoryHistory implements HistoryStore {
  /** A memory store is created with its log: it has seen every event. */
  readonly complete = true
  private readonly views = new Map<string, JobView>()
  /** Every view put, by (finished time, uuid); entries whose view left are skipped and pruned. */
  private byFinish: Finished[] = []
  private stale = 0
  private readonly perChannel = new Map<string, FinishedCounts>()

  /** Apply one write (EventLog.append calls this once its batch is accepted). */
  apply(write: HistoryWrite): void {
    for (const view of write.del) {
      if (this.views.delete(view.uuid)) this.stale++
    }
    countInto(this.perChannel, write.del, -1)
    for (const view of write.put) {
      if (this.views.has(view.uuid)) throw new RangeError(`job ${view.uuid} is already in history; delete it first`)
      this.views.set(view.uuid, view)
      insertSorted(this.byFinish, { atMs: finishedAtOf(view), uuid: view.uuid })
    }
    countInto(this.perChannel, write.put, 1)
    if (this.stale > 1024 && this.stale > this.byFinish.length / 2) this.prune()
  }

  async get(uuid: string): Promise<JobView | undefined> {
    return this.views.get(uuid)
  }

  /** get(), synchronously: for tests and simulations that audit between ticks. */
  peek(uuid: string): JobView | undefined {
    return this.views.get(uuid)
  }

  async page(q: HistoryQuery): Promise<JobView[]> {
    const hits: JobView[] = []
    for (const view of this.views.values()) {
      if (q.after !== undefined && (q.desc ? view.uuid >= q.after : view.uuid <= q.after)) continue
      if (matchesHistoryQuery(view, q)) hits.push(view)
    }
    hits.sort(q.desc ? (a, b) => compare(b.uuid, a.uuid) : (a, b) => compare(a.uuid, b.uuid))
    if (hits.length > q.limit) hits.length = q.limit
    return hits
  }

  async finishedUpTo(atMs: number, limit: number, cursor?: FinishedCursor): Promise<JobView[]> {
    const out: JobView[] = []
    let i = cursor === undefined ? 0 : upperBound(this.byFinish, cursor)
    for (; i < this.byFinish.length && out.length < limit; i++) {
      const entry = this.byFinish[i]!
      if (entry.atMs > atMs) break
      const view = this.views.get(entry.uuid)
      // A uuid can come back to history with another finish time: only its current entry counts.
      // (equal entries are adjacent: a job deleted and put back at the same time appears twice).
      if (view !== undefined && finishedAtOf(view) === entry.atMs && out[out.length - 1]?.uuid !== entry.uuid) out.push(view)
    }
    return out
  }

  counts(): ReadonlyMap<string, FinishedCounts> {
    return this.perChannel
  }

  private prune(): void {
    this.byFinish = this.byFinish.filter((e) => {
      const view = this.views.get(e.uuid)
      return view !== undefined && finishedAtOf(view) === e.atMs
    })
    this.stale = 0
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function before(a: Finished, b: Finished): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.uuid < b.uuid)
}

/** First index whose entry comes after `key` (binary search). */
function upperBound(list: readonly Finished[], key: Finished): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(key, list[mid]!)) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** Jobs mostly finish in time order, so this is usually a push. */
function insertSorted(list: Finished[], entry: Finished): void {
  const last = list[list.length - 1]
  if (last === undefined || !before(entry, last)) list.push(entry)
  else list.splice(upperBound(list, entry), 0, entry)
}
