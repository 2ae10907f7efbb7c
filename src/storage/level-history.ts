// History in the LevelDB of the event log, beside its records. LevelLog.append stages the writes
// of a HistoryWrite in the same LevelDB batch as the log record, so the two are durable or absent
// together. Every key below is one more insert in the batch that finishes a job, on the durable
// hot path: a common job costs two (view, one composite index), and each batch one more key per
// finish time (the group of the jobs it finished then).
//
// Keys (utf8; every field escaped so that it holds no \x00, and \x00 separates fields):
//   h\0j\0<uuid>                                   the final JobView (view-codec.ts)
//   h\0i\0x\0<channel>\0<state>\0<model>\0<method>\0<uuid>   one composite index (empty value)
//   h\0i\0k\0<identity key>\0<uuid>                 jobs that have one
//   h\0i\0g\0<graph uuid>\0<uuid>                   jobs of a graph
//   h\0i\0b\0<batch uuid>\0<uuid>                   jobs of a batch (written since batches)
//   h\0t\0<finished ms>\0<batch seq>                 finish-time groups, for autovacuum (finish-groups.ts)
//   h\0n\0<channel>\0<model>\0<method>             [done, cancelled] counts of that "combo"
//
// A query on any of channel, state, function walks the composite ranges of the combos it matches
// and holds jobs in the state asked for (combo-catalog.ts), and merges them in uuid order — or,
// matching many ranges and much of history, walks the views themselves (level-history-reads.ts).

import type { JobView } from '../engine/core/view.js'
import type { LogCorruptionError } from '../engine/errors.js'
import {
  batchUuidOf,
  countInto,
  finishedAtOf,
  channelOf,
  type FinishedCounts,
  type FinishedJob,
  type FinishedCursor,
  type HistoryQuery,
  type HistoryStore,
  type HistoryWrite,
  type PinnedHistory,
} from './history.js'
import type { Db } from './level-recovery.js'
import { FinishGroups } from './finish-groups.js'
import { ComboCatalog } from './combo-catalog.js'
import { encodeView } from './view-codec.js'
import { esc, unesc } from './key-escape.js'
import { comboKey, end, INDEX_PREFIX, LevelHistoryReads, VIEW_PREFIX } from './level-history-reads.js'

export { unesc }
export { COMBO_INDEX, end, INDEX_PREFIX, VIEW_PREFIX } from './level-history-reads.js'

export const COUNT_PREFIX = 'h\x00n\x00'
/** Present once history holds every finished job of the log (from the first event, or migrated). */
export const COMPLETE_KEY = 'h\x00complete'

/** Where a batch takes the writes (classic-level's chained batch). */
export interface Staging {
  put(key: string, value: Uint8Array): unknown
  del(key: string): unknown
}

/** The escaped (channel, model, method) of a job: one combo of the composite index and counts. */
export function comboOf(job: FinishedJob): string {
  return esc(channelOf(job)) + '\x00' + esc(job.model) + '\x00' + esc(job.method)
}

/** Every key of a job but its view's: the indexes that name it. */
export function indexKeys(job: FinishedJob, combo: string): string[] {
  const uuid = esc(job.uuid)
  const keys = [comboKey(combo, job.state, uuid)]
  if (job.identityKey !== null) keys.push(INDEX_PREFIX + 'k\x00' + esc(job.identityKey) + '\x00' + uuid)
  if (job.graphUuid !== null) keys.push(INDEX_PREFIX + 'g\x00' + esc(job.graphUuid) + '\x00' + uuid)
  const batchUuid = batchUuidOf(job)
  if (batchUuid !== null) keys.push(INDEX_PREFIX + 'b\x00' + esc(batchUuid) + '\x00' + uuid)
  return keys
}

const EMPTY = new Uint8Array(0)

/** Counts as a count key stores them: [done, cancelled]. */
export const countText = (c: FinishedCounts): string => `[${c.done},${c.cancelled}]`

/** A combo and its composite index keys' prefixes per finished state (comboKey of an empty uuid). */
interface ComboKeys {
  readonly channel: string
  readonly model: string
  readonly method: string
  readonly combo: string
  readonly done: string
  readonly cancelled: string
}

/** Count `sign` job of `combo` in `state` into the counts a stage touches (from `known` first). */
function tallyInto(touched: Map<string, FinishedCounts>, known: ReadonlyMap<string, FinishedCounts>, combo: string, state: string, sign: 1 | -1): string {
  let c = touched.get(combo)
  if (c === undefined) {
    const was = known.get(combo)
    touched.set(combo, (c = { done: was?.done ?? 0, cancelled: was?.cancelled ?? 0 }))
  }
  if (state === 'done') c.done += sign
  else if (state === 'cancelled') c.cancelled += sign
  return combo
}

/** Counts per combo after a staged write, from stage() to commit(). */
export type StagedCounts = ReadonlyMap<string, FinishedCounts>
const NONE: readonly string[] = []

export class LevelHistory implements HistoryStore {
  private readonly perChannel = new Map<string, FinishedCounts>()
  private readonly finishGroups = new FinishGroups()
  /** Counts per combo (comboOf), and the combos by channel (combo-catalog.ts). */
  private readonly combos = new ComboCatalog()
  complete = false
  /** The combo of the job staged last: jobs of one function finish in runs, and escaping and
   * joining its names (and hashing the result) for each was a good part of stage(). */
  private lastKeys: ComboKeys | null = null

  private readonly reads: LevelHistoryReads

  constructor(
    private readonly db: () => Db,
    private readonly path: string,
  ) {
    this.reads = new LevelHistoryReads(db, path, this.combos, this.combos)
  }

  /**
   * Read the counts and whether history is complete (LevelLog.open calls this once the db is
   * open). A store with no event and no snapshot starts complete.
   */
  async load(db: Db, emptyLog: boolean, writeOptions: { sync: boolean }): Promise<void> {
    this.complete = (await db.get(COMPLETE_KEY)) !== undefined
    // Only a store written before history existed (0.1) lacks the mark, and it has no history at
    // all: history without the mark lost it to damage, and taking the store for an old one would
    // file its finished jobs again (counted twice). 'truncate' puts the mark back (history-repair.ts).
    if (!this.complete && (await db.keys({ gte: 'h\x00', lt: 'h\x01', limit: 1 }).all()).length > 0) {
      throw this.corrupt(`it holds finished jobs but its completeness mark (key ${JSON.stringify(COMPLETE_KEY)}) is missing; open with onCorruption: 'truncate' to put it back`)
    }
    if (!this.complete && emptyLog) {
      await db.put(COMPLETE_KEY, EMPTY, writeOptions)
      this.complete = true
    }
    this.perChannel.clear()
    this.combos.clear()
    for await (const [key, value] of db.iterator({ gte: COUNT_PREFIX, lt: end(COUNT_PREFIX) })) {
      const combo = key.slice(COUNT_PREFIX.length)
      const fields = combo.split('\x00')
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(value).toString('utf8'))
      } catch {
        parsed = undefined
      }
      if (fields.length !== 3 || !Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((n) => Number.isSafeInteger(n) && n >= 0)) {
        throw this.corrupt(`history counts under ${JSON.stringify(key)} are ${JSON.stringify(parsed)}`)
      }
      const counts = { done: parsed[0] as number, cancelled: parsed[1] as number }
      this.combos.set(combo, counts)
      const channel = unesc(fields[0]!)
      const c = this.perChannel.get(channel)
      if (c === undefined) this.perChannel.set(channel, { ...counts })
      else {
        c.done += counts.done
        c.cancelled += counts.cancelled
      }
    }
  }

  /**
   * Put the writes that make `write` durable in `batch`, the record of first seq `seq`; once the
   * batch is durable, commit() with what this returns: the counts of every combo it touches.
   */
  stage(batch: Staging, write: HistoryWrite, seq: number): StagedCounts {
    const touched = new Map<string, FinishedCounts>()
    const tally = (view: FinishedJob, sign: 1 | -1): string => tallyInto(touched, this.combos.counts, comboOf(view), view.state, sign)
    for (const view of write.del) {
      batch.del(VIEW_PREFIX + esc(view.uuid))
      for (const key of indexKeys(view, tally(view, -1))) batch.del(key)
    }
    const finished: { uuid: string; atMs: number }[] = []
    for (const job of write.put) {
      const uuid = esc(job.uuid)
      batch.put(VIEW_PREFIX + uuid, encodeView(job))
      const keys = this.keysOf(job)
      tallyInto(touched, this.combos.counts, keys.combo, job.state, 1)
      // The common job has no identity key, graph or batch: its one index key is the prefix's.
      const prefix = job.state === 'done' ? keys.done : job.state === 'cancelled' ? keys.cancelled : null
      if (prefix !== null && job.identityKey === null && job.graphUuid === null && batchUuidOf(job) === null) batch.put(prefix + uuid, EMPTY)
      else for (const key of indexKeys(job, keys.combo)) batch.put(key, EMPTY)
      finished.push({ uuid, atMs: finishedAtOf(job) })
    }
    this.finishGroups.stagePuts(batch, finished, seq)
    if (write.del.length > 0) this.finishGroups.stageCleanup(batch, write.del.map((view) => esc(view.uuid)))
    else this.finishGroups.stageCleanup(batch, NONE)
    for (const [combo, c] of touched) {
      if (c.done === 0 && c.cancelled === 0) batch.del(COUNT_PREFIX + combo)
      else batch.put(COUNT_PREFIX + combo, Buffer.from(countText(c)))
    }
    return touched
  }

  /** The combo of `job` and its index keys' prefixes (comboOf, comboKey), kept for the next job. */
  private keysOf(job: FinishedJob): ComboKeys {
    const channel = channelOf(job)
    const last = this.lastKeys
    if (last !== null && last.channel === channel && last.model === job.model && last.method === job.method) return last
    const combo = comboOf(job)
    const keys = { channel, model: job.model, method: job.method, combo, done: comboKey(combo, 'done', ''), cancelled: comboKey(combo, 'cancelled', '') }
    this.lastKeys = keys
    return keys
  }

  /** Stage views that fill an incomplete history, and the mark that it is complete. */
  stageInit(batch: Staging, views: readonly JobView[]): StagedCounts {
    const staged = this.stage(batch, { put: views, del: [] }, 0)
    batch.put(COMPLETE_KEY, EMPTY)
    return staged
  }

  /** The batch holding stageInit(views) is durable. */
  commitInit(views: readonly JobView[], staged: StagedCounts): void {
    this.commit({ put: views, del: [] }, staged)
    this.complete = true
  }

  /** The batch holding stage(write) is durable: count it (the combos' counts as staged). */
  commit(write: HistoryWrite, staged: StagedCounts): void {
    countInto(this.perChannel, write.del, -1)
    countInto(this.perChannel, write.put, 1)
    for (const [combo, c] of staged) this.combos.set(combo, c)
  }

  get(uuid: string): Promise<JobView | undefined> {
    return this.reads.get(uuid)
  }

  /** A page as history is when it is called (pinned: its index and its views agree). */
  async page(q: HistoryQuery): Promise<JobView[]> {
    const pinned = this.pin()
    try {
      return await pinned.page(q)
    } finally {
      pinned.release()
    }
  }

  /** Reads of history as it is now, whatever is written meanwhile (a LevelDB snapshot, and the
   * combos' counts now), until released. */
  pin(): PinnedHistory {
    const snapshot = this.db().snapshot()
    const counts = this.combos.pin()
    const reads = new LevelHistoryReads(this.db, this.path, this.combos, counts, snapshot)
    return {
      get: (uuid) => reads.get(uuid),
      page: (q) => reads.page(q),
      release: () => {
        this.combos.unpin(counts)
        snapshot.close().catch(() => undefined)
      },
    }
  }

  finishedUpTo(atMs: number, limit: number, cursor?: FinishedCursor): Promise<JobView[]> {
    return this.reads.named(() => this.finishedUpToOf(atMs, limit, cursor))
  }

  private async finishedUpToOf(atMs: number, limit: number, cursor?: FinishedCursor): Promise<JobView[]> {
    const views = new Map<string, JobView>()
    const entries = await this.finishGroups.scan(
      (gte, lt) => this.db().iterator({ gte, lt }),
      atMs,
      limit,
      cursor === undefined ? undefined : { atMs: cursor.atMs, uuid: esc(cursor.uuid) },
      async (candidates) => {
        const found = await this.reads.viewsOrNot(candidates.map((e) => e.uuid))
        return candidates.map((e, i) => {
          const bytes = found[i]
          if (bytes === undefined) return false
          const view = this.reads.decode(bytes, unesc(e.uuid))
          views.set(e.uuid, view)
          return finishedAtOf(view) === e.atMs
        })
      },
    )
    return entries.map((e) => views.get(e.uuid)!)
  }

  counts(): ReadonlyMap<string, FinishedCounts> {
    return this.perChannel
  }

  private corrupt(what: string): LogCorruptionError {
    return this.reads.corrupt(what)
  }
}
