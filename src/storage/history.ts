// The history store: the final JobView of every finished (done or cancelled) job that has left
// the engine's memory, with the indexes that jobs() queries and autovacuum need. It is a
// projection of the event log: it changes only inside EventLog.append, in the same atomic write
// as the log record whose events finished (or brought back, or vacuumed) those jobs. Reads are
// answered in creation order (uuid order: uuids are monotonic ULIDs), by cursor, so the cost of a
// page does not grow with the number of jobs kept.

import type { JobState } from '../engine/core/events.js'
import { JobRecord } from '../engine/core/state.js'
import { toJobView, type JobView } from '../engine/core/view.js'

export type FinishedState = 'done' | 'cancelled'

/**
 * A finished job entering history: its view, or the core's record of it as it left memory. A
 * record is never changed once retired (a job brought back gets a new one), so a store may keep
 * it as it is and build the view when it is read: the in-memory store allocates nothing per job.
 */
export type FinishedJob = JobView | JobRecord

export function viewOf(job: FinishedJob): JobView {
  return job instanceof JobRecord ? toJobView(job) : job
}

export function channelOf(job: FinishedJob): string {
  return typeof job.channel === 'string' ? job.channel : job.channel.name
}

/** What one append changes in history: jobs that enter it, and views that leave it. */
export interface HistoryWrite {
  /** Finished jobs entering history. A job already in history must be deleted first. */
  readonly put: readonly FinishedJob[]
  /** Jobs leaving history (brought back to memory, or vacuumed), as they are stored there. */
  readonly del: readonly JobView[]
}

export const NO_HISTORY_WRITE: HistoryWrite = Object.freeze({ put: Object.freeze([]), del: Object.freeze([]) })

/** A checked page query, every field present (the API validates; storage trusts it). */
export interface HistoryQuery {
  state: JobState | undefined
  channel: string | undefined
  model: string | undefined
  method: string | undefined
  graphUuid: string | undefined
  identityKey: string | undefined
  /** Jobs of this batch (wharf.batch()). */
  batchUuid: string | undefined
  /** 1 or more. */
  limit: number
  desc: boolean
  /** Exclusive cursor: the page starts after this uuid, in the query's order. */
  after: string | undefined
}

/** Where a vacuum scan resumes: the last entry it saw, in finish-time order. */
export interface FinishedCursor {
  atMs: number
  uuid: string
}

export interface HistoryStore {
  /**
   * False for a store written before history existed (0.1): replay must hand every finished job
   * it meets to EventLog.initHistory once. True once that is done, and for every newer store.
   */
  readonly complete: boolean
  get(uuid: string): Promise<JobView | undefined>
  /** One page of the finished jobs matching every filter of `query`. */
  page(query: HistoryQuery): Promise<JobView[]>
  /** Jobs finished at or before `atMs`, oldest first, at most `limit`, after `cursor`. */
  finishedUpTo(atMs: number, limit: number, cursor?: FinishedCursor): Promise<JobView[]>
  /** Jobs in history per channel and finished state (stats() adds them to the live counts). */
  counts(): ReadonlyMap<string, FinishedCounts>
  /**
   * A store shared with a scheduler (a cluster follower's): the follower applied the batch that
   * ends at `lastSeq`, which the scheduler wrote to history as `write` — counted from it, unless
   * the counts already hold it; null when the follower cannot count what it changed (it deleted
   * from history views it never had: the counts are read again).
   */
  followed?(write: HistoryWrite | null, lastSeq: number): void
  /**
   * Reads that all see history as it is at this call, whatever is written meanwhile, until
   * released (LevelDB: a snapshot). A store without it answers each read as of that read.
   */
  pin?(): PinnedHistory
}

/** History's reads, pinned to one moment (HistoryStore.pin). */
export interface PinnedHistory extends Pick<HistoryStore, 'get' | 'page'> {
  release(): void
}

/** What a history scrub found: every problem (one line per kind of damage) among the views it
 * read, or why it could not finish (not damage: the scrub itself failed). */
export type ScrubResult = { checked: true; views: number; problems: string[] } | { checked: false; why: string }

export interface ScrubOptions {
  /** Whether the app has work in hand: a scrub then leaves it most of the machine. */
  busy?: () => boolean
}

/**
 * A check of all of history running in the background (EventLog.scrubHistory; for LevelDB,
 * history-scrub.ts says how and history-check.ts what).
 */
export interface HistoryScrub {
  /** The store, for messages. */
  readonly where: string
  /** Settles once the check has ended, never rejects. */
  readonly done: Promise<ScrubResult>
  /** Stop it and release what it holds; `done` then says it was stopped. */
  stop(): Promise<void>
}

export interface FinishedCounts {
  done: number
  cancelled: number
}

/** When a finished job finished: the time its final state was entered. */
export function finishedAtOf(view: FinishedJob): number {
  const at = view.state === 'done' ? view.doneAt : view.state === 'cancelled' ? view.cancelledAt : null
  if (at === null) throw new RangeError(`job ${view.uuid} is ${view.state}, not finished: it has no place in history`)
  return at
}

export function matchesHistoryQuery(view: FinishedJob, q: HistoryQuery): boolean {
  return (
    (q.state === undefined || view.state === q.state) &&
    (q.channel === undefined || channelOf(view) === q.channel) &&
    (q.model === undefined || view.model === q.model) &&
    (q.method === undefined || view.method === q.method) &&
    (q.graphUuid === undefined || view.graphUuid === q.graphUuid) &&
    (q.identityKey === undefined || view.identityKey === q.identityKey) &&
    (q.batchUuid === undefined || batchUuidOf(view) === q.batchUuid)
  )
}

/** The batch of a finished job (a view read from an older store, or an old jobs.restored, has none). */
export function batchUuidOf(job: FinishedJob): string | null {
  return job instanceof JobRecord ? (job.batch?.uuid ?? null) : (job.batchUuid ?? null)
}

/** Add (sign 1) or remove (sign -1) the views of a write to per-channel counts, in place. */
export function countInto(counts: Map<string, FinishedCounts>, views: readonly FinishedJob[], sign: 1 | -1): void {
  for (const view of views) {
    const channel = channelOf(view)
    let c = counts.get(channel)
    if (c === undefined) counts.set(channel, (c = { done: 0, cancelled: 0 }))
    if (view.state === 'done') c.done += sign
    else if (view.state === 'cancelled') c.cancelled += sign
    if (c.done === 0 && c.cancelled === 0) counts.delete(channel)
  }
}

/**
 * The first `limit` of two pages that are each in uuid order (`desc`: newest first). A job in
 * both (seen in memory and in history during a move) is taken once, from `a`.
 */
export function mergeByUuid(a: JobView[], b: JobView[], desc: boolean, limit: number): JobView[] {
  if (b.length === 0) return a.length > limit ? a.slice(0, limit) : a
  if (a.length === 0) return b.length > limit ? b.slice(0, limit) : b
  const out: JobView[] = []
  let i = 0
  let j = 0
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i]
    const y = b[j]
    if (x !== undefined && y !== undefined && x.uuid === y.uuid) {
      out.push(x)
      i++
      j++
    } else if (y === undefined || (x !== undefined && (desc ? x.uuid > y.uuid : x.uuid < y.uuid))) {
      out.push(x!)
      i++
    } else {
      out.push(y)
      j++
    }
  }
  return out
}

/** A query with no filter, in ascending uuid order, changed by `over`. */
export function historyQuery(over: Partial<HistoryQuery> = {}): HistoryQuery {
  return { state: undefined, channel: undefined, model: undefined, method: undefined, graphUuid: undefined, identityKey: undefined, batchUuid: undefined, limit: 10_000, desc: false, after: undefined, ...over }
}

/** Every job of a graph that history holds (a graph leaves memory whole), in uuid order. */
export async function graphInHistory(history: Pick<HistoryStore, 'page'>, graphUuid: string): Promise<JobView[]> {
  const jobs: JobView[] = []
  for (;;) {
    const page = await history.page(historyQuery({ graphUuid, after: jobs.at(-1)?.uuid }))
    jobs.push(...page)
    if (page.length < 10_000) return jobs
  }
}
