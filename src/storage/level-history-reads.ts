// The reads of LevelDB history (level-history.ts says what the keys hold): one job's view, and
// pages by an index or by a walk of the views. A page takes several LevelDB calls — an index's
// keys, then the views they name — and the engine goes on writing between them: a batch that
// takes a finished job out of history (a requeue, a purge) between the two left an index entry
// read without its view. A read pinned to a LevelDB snapshot (`snapshot`) makes every one of its
// calls see the same moment; an unpinned one makes each call see its own.

import type { AbstractSnapshot } from 'abstract-level'
import type { JobView } from '../engine/core/view.js'
import { LogCorruptionError, StorageError, WharfError } from '../engine/errors.js'
import { matchesHistoryQuery, type HistoryQuery } from './history.js'
import type { Db } from './level-recovery.js'
import { isLevelCorruption, isLevelError, levelMessage } from './level-corruption.js'
import { decodeView, ViewDecodeError } from './view-codec.js'
import { esc, unesc } from './key-escape.js'
import type { ComboCatalog, ComboCounts } from './combo-catalog.js'

export const VIEW_PREFIX = 'h\x00j\x00'
export const INDEX_PREFIX = 'h\x00i\x00'
export const COMBO_INDEX = INDEX_PREFIX + 'x\x00'
/** Just past every key that starts with `prefix` (prefixes end with the \x00 separator). */
export const end = (prefix: string): string => prefix.slice(0, -1) + '\x01'

/** Keys read per native round trip when walking an index. */
const SCAN_CHUNK = 128
/** Reading one composite range (an iterator of its own) costs about what reading this many
 * views does in a walk of all of them (~150 µs against ~4 µs, 20,000 combos, 2026-12-01). */
const VIEWS_PER_RANGE = 32
/** Below this many ranges, reading them is as cheap as a walk that fills the page (a walk
 * decodes every view it reads, the ranges only the page's). */
const WALK_RANGES_MIN = 8
const FINISHED_STATES = ['done', 'cancelled'] as const

const uuidOfKey = (key: string): string => unesc(key.slice(key.lastIndexOf('\x00') + 1))

/** The composite index key of a job of `combo` (escaped channel\0model\0method) in `state`. */
export function comboKey(combo: string, state: string, uuid: string): string {
  const channelEnd = combo.indexOf('\x00')
  return COMBO_INDEX + combo.slice(0, channelEnd) + '\x00' + state + combo.slice(channelEnd) + '\x00' + uuid
}

export class LevelHistoryReads {
  /** What every LevelDB call of these reads passes: the snapshot they are pinned to, if any. */
  private readonly at: { snapshot?: AbstractSnapshot }

  constructor(
    private readonly db: () => Db,
    private readonly path: string,
    /** The combos' names, by channel. */
    private readonly catalog: ComboCatalog,
    /** The combos' counts at the moment the reads see (the snapshot's). */
    private readonly counts: ComboCounts,
    snapshot?: AbstractSnapshot,
  ) {
    this.at = snapshot === undefined ? {} : { snapshot }
  }

  async get(uuid: string): Promise<JobView | undefined> {
    const bytes = await this.named(() => this.db().get(VIEW_PREFIX + esc(uuid), this.at))
    return bytes === undefined ? undefined : this.decode(bytes, uuid)
  }

  page(q: HistoryQuery): Promise<JobView[]> {
    return this.named(() => this.pageOf(q))
  }

  /** The views of the escaped `uuids` (undefined for one not in history), in that order. */
  viewsOrNot(uuids: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return uuids.length === 0 ? Promise.resolve([]) : this.db().getMany(uuids.map((u) => VIEW_PREFIX + u), this.at)
  }

  private async pageOf(q: HistoryQuery): Promise<JobView[]> {
    if (q.identityKey !== undefined) return this.walkIndex(INDEX_PREFIX + 'k\x00' + esc(q.identityKey) + '\x00', q)
    if (q.graphUuid !== undefined) return this.walkIndex(INDEX_PREFIX + 'g\x00' + esc(q.graphUuid) + '\x00', q)
    if (q.batchUuid !== undefined) return this.walkIndex(INDEX_PREFIX + 'b\x00' + esc(q.batchUuid) + '\x00', q)
    if (q.channel === undefined && q.state === undefined && q.model === undefined && q.method === undefined) return this.scanViews(q)
    return this.mergeCombos(q)
  }

  /**
   * The composite ranges of every combo and state the query matches, merged in uuid order: each
   * range is read up to the page's limit, so a page costs the same however deep its cursor is.
   * Combos the counts say hold no job in a state are skipped. With many ranges and a query that
   * matches much of history (done jobs, with a channel per tenant), a walk of the views in order
   * fills the page sooner: it goes first, within what the ranges would cost, and the ranges are
   * read only for what it did not reach.
   */
  private async mergeCombos(q: HistoryQuery): Promise<JobView[]> {
    const states = q.state === undefined ? FINISHED_STATES : FINISHED_STATES.filter((s) => s === q.state)
    const combos = this.catalog.of(q.channel)
    // How many jobs and ranges the query matches: kept per state for a query on states only.
    let matched = 0
    let ranges = 0
    if (q.channel === undefined && q.model === undefined && q.method === undefined) {
      for (const state of states) {
        matched += this.counts.jobs[state]
        ranges += this.counts.combos[state]
      }
    } else {
      this.eachRange(combos, q, states, (_combo, _state, jobs) => {
        matched += jobs
        ranges++
      })
    }
    if (ranges === 0) return []
    const budget = ranges * VIEWS_PER_RANGE
    let walked: { out: JobView[]; last: string | null } | null = null
    if (ranges >= WALK_RANGES_MIN && q.limit * (this.counts.jobs.done + this.counts.jobs.cancelled) <= matched * budget) {
      walked = await this.walkViews(q, budget)
      if (walked.out.length === q.limit || walked.last === null) return walked.out
    }
    const prefixes: string[] = []
    this.eachRange(combos, q, states, (combo, state) => prefixes.push(comboKey(combo, state, '')))
    if (walked === null) return this.readRanges(prefixes, q)
    const rest = await this.readRanges(prefixes, { ...q, after: walked.last!, limit: q.limit - walked.out.length })
    return walked.out.concat(rest)
  }

  /** Each range of `combos` the query reads: a combo whose function is the one `q` names (if it
   * names one) and a state of `states` the counts say it holds jobs in (`jobs` of them). */
  private eachRange(combos: readonly string[], q: HistoryQuery, states: readonly ('done' | 'cancelled')[], visit: (combo: string, state: 'done' | 'cancelled', jobs: number) => void): void {
    const byName = q.model !== undefined || q.method !== undefined
    for (const combo of combos) {
      const c = this.counts.count(combo)
      if (c === undefined) continue
      if (byName) {
        const name = this.catalog.name(combo)
        if ((q.model !== undefined && q.model !== name.model) || (q.method !== undefined && q.method !== name.method)) continue
      }
      for (const state of states) if (c[state] > 0) visit(combo, state, c[state])
    }
  }

  /** The first `q.limit` jobs of the composite ranges `prefixes`, in uuid order. */
  private async readRanges(prefixes: readonly string[], q: HistoryQuery): Promise<JobView[]> {
    const ranges = await Promise.all(prefixes.map((prefix) => this.db().keys({ ...this.range(prefix, q), reverse: q.desc, limit: q.limit, ...this.at }).all()))
    let uuids = ranges.length === 1 ? ranges[0]!.map(uuidOfKey) : ranges.flat().map(uuidOfKey)
    if (ranges.length > 1) {
      uuids.sort(q.desc ? (a, b) => (a < b ? 1 : a > b ? -1 : 0) : (a, b) => (a < b ? -1 : a > b ? 1 : 0))
      if (uuids.length > q.limit) uuids = uuids.slice(0, q.limit)
    }
    return this.views(uuids, 'the composite index')
  }

  /** Walk one index range in uuid order, reading views in chunks and filtering the other fields. */
  private async walkIndex(prefix: string, q: HistoryQuery): Promise<JobView[]> {
    const out: JobView[] = []
    const it = this.db().keys({ ...this.range(prefix, q), reverse: q.desc, ...this.at })
    try {
      while (out.length < q.limit) {
        const keys = await it.nextv(Math.min(SCAN_CHUNK, Math.max(16, 2 * (q.limit - out.length))))
        if (keys.length === 0) break
        for (const view of await this.views(keys.map(uuidOfKey), `index ${JSON.stringify(prefix)}`)) {
          if (matchesHistoryQuery(view, q) && out.length < q.limit) out.push(view)
        }
      }
    } finally {
      await it.close()
    }
    return out
  }

  /** The views of `uuids`, in that order; every one must exist (an index named it). */
  private async views(uuids: string[], index: string): Promise<JobView[]> {
    if (uuids.length === 0) return []
    const values = await this.viewsOrNot(uuids.map(esc))
    return values.map((bytes, i) => {
      if (bytes === undefined) throw this.corrupt(`${index} names job ${uuids[i]}, which is not in history`)
      return this.decode(bytes, uuids[i]!)
    })
  }

  /** No index fits: walk the views themselves in uuid order. */
  private async scanViews(q: HistoryQuery): Promise<JobView[]> {
    return (await this.walkViews(q, Infinity)).out
  }

  /**
   * Walk the views in the query's order, keeping those that match, until the page is full or
   * `budget` views were read. `last`: the uuid of the last view read when the budget ran out
   * before the page was full and views remain (null when the walk saw them all).
   */
  private async walkViews(q: HistoryQuery, budget: number): Promise<{ out: JobView[]; last: string | null }> {
    const out: JobView[] = []
    let read = 0
    let last: string | null = null
    const it = this.db().iterator({ ...this.range(VIEW_PREFIX, q), reverse: q.desc, ...this.at })
    try {
      while (out.length < q.limit) {
        if (read >= budget) return { out, last }
        const entries = await it.nextv(Math.min(SCAN_CHUNK, Math.max(1, budget - read)))
        if (entries.length === 0) break
        read += entries.length
        for (const [key, bytes] of entries) {
          last = unesc(key.slice(VIEW_PREFIX.length))
          const view = this.decode(bytes, last)
          if (matchesHistoryQuery(view, q) && out.length < q.limit) out.push(view)
        }
      }
    } finally {
      await it.close()
    }
    return { out, last: null }
  }

  /** The key range of `prefix` after the query's cursor, in its order. */
  private range(prefix: string, q: HistoryQuery): { gt?: string; gte?: string; lt?: string; lte?: string } {
    if (q.after === undefined) return { gte: prefix, lt: end(prefix) }
    const cursor = prefix + esc(q.after)
    return q.desc ? { gte: prefix, lt: cursor } : { gt: cursor, lt: end(prefix) }
  }

  decode(bytes: Uint8Array, uuid: string): JobView {
    try {
      return decodeView(bytes, uuid)
    } catch (error) {
      if (error instanceof ViewDecodeError) throw this.corrupt(`the history entry of job ${uuid} is ${error.message}`)
      throw error
    }
  }

  /** A read that LevelDB fails with its own corruption error fails with a LogCorruptionError. */
  async named<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read()
    } catch (error) {
      if (isLevelCorruption(error)) throw new LogCorruptionError(`corrupt history in ${JSON.stringify(this.path)}: LevelDB reports ${levelMessage(error)}`, 0, { cause: error })
      // Any other error of LevelDB's (a table this process may not read: EACCES, EIO) is named
      // too, as at open; Wharf's own pass as they are.
      if (isLevelError(error) && !(error instanceof WharfError)) {
        throw new StorageError(`reading history in ${JSON.stringify(this.path)} failed: LevelDB reports ${levelMessage(error)}`, { cause: error })
      }
      throw error
    }
  }

  corrupt(what: string): LogCorruptionError {
    return new LogCorruptionError(`corrupt history in ${JSON.stringify(this.path)}: ${what}`, 0)
  }
}
