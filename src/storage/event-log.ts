// The EventLog seam: everything the engine needs from storage, and nothing LevelDB-specific, so
// the same core can later run on a log kept elsewhere (PostgreSQL, IndexedDB).

import type { WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import type { HistoryScrub, HistoryStore, HistoryWrite, ScrubOptions } from './history.js'

/** The state as plain data at a seq (habit 4: an optimisation, never the truth). */
export interface Snapshot {
  /** The last event folded into `state`. */
  seq: number
  /** Format of `state`, owned by the core (it upcasts or refuses old ones). */
  formatVersion: number
  /**
   * JSON-able data produced by the core; Dates and any keys survive the log. null: the empty
   * state at `seq` (a log that 'truncate' restarted past a lost snapshot, level-log.ts).
   */
  state: unknown
}

/**
 * The engine's tick whose batch is being appended (runtime/appends.ts's Pending), opaque here: a
 * log that records more with a batch — a cluster's answers to the calls it decided (pg-log.ts) —
 * hands it to whoever knows its shape; other logs ignore it.
 */
export type DecidedTick = object

/** See EventLog.appendDurable. */
export interface Acknowledgement {
  acknowledged: Promise<void>
}

export interface EventLog {
  /** Prepare for reading and appending (Wharf.open calls it once per open). */
  open(): Promise<void>
  /**
   * Append one batch (the events of one engine tick, seqs consecutive), and with it what those
   * events change in history, atomically. Resolves when both are durable to the log's promise;
   * rejects when nothing of either was written. The caller gives up ownership of the arrays. A
   * wrapper around a log must pass `history` on: dropping it loses finished jobs. `tick`: the tick
   * the batch comes from (see DecidedTick), also when the batch is empty.
   */
  append(batch: readonly WharfEvent[], history?: HistoryWrite, tick?: DecidedTick): Promise<void>
  /**
   * Optional: append() in two steps, for a log whose acknowledgement needs a write beyond the
   * batch's own (LevelLog's synced end-of-log mark in 'fsync' mode). Resolves once the batch is
   * durable in the log, as append() does, but before that extra write: with `{ acknowledged }`,
   * which settles (never rejects) once it is done, or null when nothing more is needed (wrapped:
   * a promise resolved with a promise would wait for it). The engine may start the batch's
   * handlers and append the next batch meanwhile; it answers the batch's callers only once
   * `acknowledged` settles. A log without it is used through append(). `answers`: whether calls
   * wait for this batch's acknowledgement (false: the log may acknowledge it later, with a later
   * batch, and return null).
   */
  appendDurable?(batch: readonly WharfEvent[], history?: HistoryWrite, tick?: DecidedTick, answers?: boolean): Promise<Acknowledgement | null>
  /**
   * Optional: true when append() may be called again before the call before it settled (without
   * it, the engine waits for each append to settle before the next). Such a log commits batches
   * in call order, and never one after a batch that it did not commit: once an append fails,
   * every one made while it was in flight rejects too (PgLog: the next batch is sent while the
   * one before it commits, and fails inside the server unless that one committed).
   */
  readonly overlapsAppends?: boolean
  /**
   * Optional: how long (ms, real time) a tick that would only record handlers'
   * successes may wait for the next call, to share its append (runtime/tick-linger.ts). For a log
   * whose every append is a round trip and a commit flush (PgLog); absent or 0: never.
   */
  readonly lingerMs?: number
  /**
   * Optional: true when `error`, from a read of this log, says only that the store cannot be
   * reached now (a lost connection, a server restarting) — not that it is damaged. The engine then
   * keeps trying to rebuild its state from the log instead of stopping for good (PgLog: a
   * PostgreSQL server that restarts or fails over). Absent: every failed read stops the engine.
   */
  unreachable?(error: unknown): boolean
  /** Finished jobs that left the engine's memory; changed only by append() and initHistory(). */
  readonly history: HistoryStore
  /** Fill an incomplete history (see HistoryStore.complete) with these views, atomically. */
  initHistory(views: readonly JobView[]): Promise<void>
  /**
   * Optional, called once the log has been read at open, with the uuids of the jobs its state
   * holds: a log whose recovery can drop acknowledged events (LevelLog's 'truncate') deletes from
   * history those of them it holds — the events that finished them were dropped, not the history
   * they wrote — so that each job is in one state. Such a job is live again (it may run again, as
   * after a crash), and the warning names it.
   */
  leaveHistoryLive?(live: Iterable<string>): Promise<void>
  /** Every committed event with seq > afterSeq, batch by batch, in order. */
  read(afterSeq?: number): AsyncIterable<readonly WharfEvent[]>
  /** Release the storage. Appending after close rejects. */
  close(): Promise<void>
  /**
   * A check of all of history as it was at open, running in the background; null when this log
   * was not set up for one. Offered by logs whose storage can lose history entries without an
   * error on reads (LevelDB), so that such a loss is found after open, whose cost follows live
   * jobs and cannot read all of history. Called once, after the log has been read.
   */
  scrubHistory?(options?: ScrubOptions): HistoryScrub | null

  /** The latest snapshot written, or null when there is none. */
  readSnapshot(): Promise<Snapshot | null>
  /**
   * Replace the snapshot, atomically: a crash leaves the old one or the new one, never half.
   * Rejects a snapshot past the end of the log or older than the compacted history.
   */
  writeSnapshot(snapshot: Snapshot): Promise<void>
  /**
   * Delete every record whose events all have seq <= uptoSeq. Rejects unless the snapshot covers
   * uptoSeq (history nothing else holds is never deleted). Afterwards read(afterSeq) of the
   * compacted range yields only what remains; appending continues after the last seq.
   */
  compact(uptoSeq: number): Promise<void>
}

/** Shared by every EventLog: a snapshot must be replayable up to the end of the log. */
export function checkSnapshotSeq(seq: number, floorSeq: number, lastSeq: number): void {
  if (!Number.isSafeInteger(seq) || seq < floorSeq || seq > lastSeq) {
    throw new RangeError(`snapshot at seq ${seq} is outside the log, which holds seqs ${floorSeq + 1}..${lastSeq} (compacted up to ${floorSeq}); snapshot a state folded from this log`)
  }
}

/** Shared by every EventLog: compaction never deletes history the snapshot does not hold. */
export function checkCompaction(uptoSeq: number, snapshotSeq: number | null): void {
  if (!Number.isSafeInteger(uptoSeq) || uptoSeq < 0) throw new RangeError(`compact(${uptoSeq}): uptoSeq must be a non-negative integer`)
  if (snapshotSeq === null || uptoSeq > snapshotSeq) {
    throw new RangeError(`compact(${uptoSeq}) would delete events that no snapshot covers (snapshot at ${snapshotSeq ?? 'none'}); write a snapshot first`)
  }
}
