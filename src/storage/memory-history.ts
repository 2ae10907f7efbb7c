// History kept in memory: for Wharf.open() without a path, tests and simulations. Same contract
// as the LevelDB store (test/unit/history.test.ts runs on both). It keeps what it is given — for
// a job that finished in this process, the core's retired record — and builds views when read.
// Finishing a job costs one push here: the uuid index and the finish-time order are built from
// those pushes by the first read or delete that needs them, so an app that never reads its
// finished jobs never pays for their index (it is a lifecycle's largest cost in memory
// otherwise). A page is a scan of the finished jobs kept, which is what an in-memory queue holds
// anyway; the finish-time order that vacuum walks is kept sorted (two parallel arrays), with
// deletions skipped lazily.

import type { JobView } from '../engine/core/view.js'
import {
  countInto,
  finishedAtOf,
  matchesHistoryQuery,
  viewOf,
  type FinishedCounts,
  type FinishedJob,
  type FinishedCursor,
  type HistoryQuery,
  type HistoryStore,
  type HistoryWrite,
} from './history.js'

export class MemoryHistory implements HistoryStore {
  /** A memory store is created with its log: it has seen every event. */
  readonly complete = true
  private readonly jobs = new Map<string, FinishedJob>()
  /** Every job put, by (finished time, uuid): entries whose job left are skipped and pruned. */
  private byFinish = new FinishOrder()
  private stale = 0
  private readonly perChannel = new Map<string, FinishedCounts>()
  /** Jobs put since the indexes were last brought up to date, in put order. */
  private unindexed: FinishedJob[] = []

  /** Apply one write (EventLog.append calls this once its batch is accepted). */
  apply(write: HistoryWrite): void {
    if (write.del.length > 0) {
      this.index()
      for (const view of write.del) {
        if (this.jobs.delete(view.uuid)) this.stale++
      }
      countInto(this.perChannel, write.del, -1)
    }
    const put = write.put
    for (let i = 0; i < put.length; i++) this.unindexed.push(put[i]!)
    countInto(this.perChannel, put, 1)
  }

  /** Bring the uuid index and the finish-time order up to date with every put. */
  private index(): void {
    const jobs = this.unindexed
    if (jobs.length === 0) return
    this.unindexed = []
    for (const job of jobs) {
      // One hash lookup, not two: a put that does not grow the map replaced a job, which is a bug.
      const size = this.jobs.size
      this.jobs.set(job.uuid, job)
      if (this.jobs.size === size) throw new RangeError(`job ${job.uuid} is already in history; delete it first`)
      this.byFinish.insert(finishedAtOf(job), job.uuid)
    }
    if (this.stale > 1024 && this.stale > this.byFinish.length / 2) this.prune()
  }

  async get(uuid: string): Promise<JobView | undefined> {
    return this.peek(uuid)
  }

  /** get(), synchronously: for tests and simulations that audit between ticks. */
  peek(uuid: string): JobView | undefined {
    this.index()
    const job = this.jobs.get(uuid)
    return job === undefined ? undefined : viewOf(job)
  }

  async page(q: HistoryQuery): Promise<JobView[]> {
    this.index()
    const hits: FinishedJob[] = []
    for (const job of this.jobs.values()) {
      if (q.after !== undefined && (q.desc ? job.uuid >= q.after : job.uuid <= q.after)) continue
      if (matchesHistoryQuery(job, q)) hits.push(job)
    }
    hits.sort(q.desc ? (a, b) => compare(b.uuid, a.uuid) : (a, b) => compare(a.uuid, b.uuid))
    if (hits.length > q.limit) hits.length = q.limit
    return hits.map(viewOf)
  }

  async finishedUpTo(atMs: number, limit: number, cursor?: FinishedCursor): Promise<JobView[]> {
    this.index()
    const out: JobView[] = []
    const order = this.byFinish
    let i = cursor === undefined ? 0 : order.upperBound(cursor.atMs, cursor.uuid)
    for (; i < order.length && out.length < limit; i++) {
      const at = order.atMs[i]!
      if (at > atMs) break
      const uuid = order.uuids[i]!
      const job = this.jobs.get(uuid)
      // A uuid can come back to history with another finish time: only its current entry counts.
      // (equal entries are adjacent: a job deleted and put back at the same time appears twice).
      if (job !== undefined && finishedAtOf(job) === at && out[out.length - 1]?.uuid !== uuid) out.push(viewOf(job))
    }
    return out
  }

  counts(): ReadonlyMap<string, FinishedCounts> {
    return this.perChannel
  }

  private prune(): void {
    this.byFinish = this.byFinish.filter((at, uuid) => {
      const job = this.jobs.get(uuid)
      return job !== undefined && finishedAtOf(job) === at
    })
    this.stale = 0
  }
}

/** (finished time, uuid) pairs in order, as two arrays: no object per entry. */
class FinishOrder {
  atMs: number[] = []
  uuids: string[] = []

  get length(): number {
    return this.atMs.length
  }

  /** Jobs mostly finish in time order, so this is usually a push. */
  insert(at: number, uuid: string): void {
    const n = this.atMs.length
    if (n === 0 || !before(at, uuid, this.atMs[n - 1]!, this.uuids[n - 1]!)) {
      this.atMs.push(at)
      this.uuids.push(uuid)
      return
    }
    const i = this.upperBound(at, uuid)
    this.atMs.splice(i, 0, at)
    this.uuids.splice(i, 0, uuid)
  }

  /** First index whose entry comes after (at, uuid) (binary search). */
  upperBound(at: number, uuid: string): number {
    let lo = 0
    let hi = this.atMs.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (before(at, uuid, this.atMs[mid]!, this.uuids[mid]!)) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  filter(keep: (at: number, uuid: string) => boolean): FinishOrder {
    const out = new FinishOrder()
    for (let i = 0; i < this.atMs.length; i++) {
      if (!keep(this.atMs[i]!, this.uuids[i]!)) continue
      out.atMs.push(this.atMs[i]!)
      out.uuids.push(this.uuids[i]!)
    }
    return out
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function before(atA: number, uuidA: string, atB: number, uuidB: string): boolean {
  return atA < atB || (atA === atB && uuidA < uuidB)
}
