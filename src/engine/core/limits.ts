// Named limits (STYLE habit 7): one module, so the bounds of the system can be read in one place.
// Each is checked at the boundary with a typed error and, where the core relies on it, asserted
// or refused inside. Pure constants: any layer may import them.

import { fail } from './assert.js'

// ---- payloads ------------------------------------------------------------------------------

/** Rough size budget of one job's args+records+context, or of one result (see cloneSerializable). */
export const PAYLOAD_BYTES_MAX = 1_048_576
/** Containers (arrays, objects) in a payload may nest this many levels deep. */
export const PAYLOAD_DEPTH_MAX = 64
/** excMessage of a thrown non-Error value (its JSON) is cut at this many characters. */
export const EXC_MESSAGE_LENGTH_MAX = 1_000
/** A thrown Error's message and stack (excMessage, excInfo, a retry's message) are cut at this
 * many characters: an error can carry a whole response body, stored with each try like a result,
 * and a result is bounded too (PAYLOAD_BYTES_MAX). */
export const EXC_TEXT_LENGTH_MAX = 100_000
/** A thrown Error's class name (excName) is cut at this many characters: a class may be named at
 * runtime (from a response, a generated name), and a name is short where it means anything
 * (as a batch's or a cron's, BATCH_NAME_LENGTH_MAX). */
export const EXC_NAME_LENGTH_MAX = 200
/** A handler's progress message (JobContext.progress) is cut at this many characters. */
export const PROGRESS_MESSAGE_LENGTH_MAX = 1_000
/** At most one progress write per try per this much clock time: a handler may report in a tight
 * loop, and each write is an event in the log (the latest value is written when the try ends). */
export const PROGRESS_INTERVAL_MS = 100

// ---- time ----------------------------------------------------------------------------------

/** The latest instant Wharf stores or reads from a clock: 9999-12-31T23:59:59.999Z. A Date shows
 * it with a four-digit year, a ULID's 48-bit time holds it, and an eta past it would be a job that
 * never runs, shown by nothing (the CLI's dates, a ULID minted at that time) without failing. */
export const TIME_MS_MAX = 253_402_300_799_999
/** The longest delay in seconds (an eta from now, a retry's): longer lands past TIME_MS_MAX from
 * any present time. */
export const DELAY_SECONDS_MAX = Math.floor(TIME_MS_MAX / 1000)

// ---- channels and graphs -------------------------------------------------------------------

/** Maximum number of dotted components in a complete channel name; root counts as depth 1. */
export const CHANNEL_DEPTH_MAX = 16
/** Jobs one enqueue may store (a graph, or a single job): it is decided and written in one tick. */
export const GRAPH_JOBS_MAX = 100_000
/** Jobs one delayMany call may store, all its graphs together: the call is one enqueue, so it
 * is decided and written in one tick, like a graph. */
export const DELAY_MANY_JOBS_MAX = 100_000
/** Jobs one wharf.batch() call may store (its elements together): one command, one tick. */
export const BATCH_JOBS_MAX = 50_000
/** Jobs of a batch's onDone graph: stored in the tick that completes the batch, on top of what
 * that tick decides (a remove() of failed jobs may complete many batches at once). */
export const BATCH_ON_DONE_JOBS_MAX = 8
/** Events a batch's completion adds to the decision that completed it: batch.done and onDone. */
export const BATCH_DONE_EVENTS_MAX = 1 + BATCH_ON_DONE_JOBS_MAX
/** Characters of a batch's name. */
export const BATCH_NAME_LENGTH_MAX = 200

// ---- crons ---------------------------------------------------------------------------------

/** Crons one store may hold. */
export const CRONS_MAX = 1_000
/** Characters of a cron's name (it is part of every firing's identity key). */
export const CRON_NAME_LENGTH_MAX = 200
/** Firings one due cron stores at once: catchUp 'all' after a long downtime fires at most this
 * many of the missed ones (and warns about the rest). */
export const CRON_FIRINGS_MAX = 1_000

// ---- ticks and batches ---------------------------------------------------------------------
// One tick appends one batch. It is bounded by taking at most so many commands and starts; what
// is left waits for the next tick, which is scheduled at once.

/** Events one log record may hold; more is a bug upstream (the codec asserts it). */
export const BATCH_EVENTS_MAX = 1_000_000
/** Handler outcomes decided per tick (one event each). */
export const TICK_OUTCOMES_MAX = 50_000
/** Events the tick's API calls may produce; the first call of a tick is always taken (it is at
 * most GRAPH_JOBS_MAX, RECOVER_BATCH or VACUUM_BATCH events, all within this). */
export const TICK_CALL_EVENTS_MAX = 100_000
/** Jobs started per tick (up to two events each: enqueued and started; or one eta_reached). */
export const TICK_STARTS_MAX = 50_000
/** Ticks decided whose batches are not committed yet: the next tick is decided while the one
 * before it is being written (its write starts once that one is durable, so the log stays in
 * order), which keeps the CPU busy during the write. More than two would only queue writes. */
export const APPENDS_IN_FLIGHT_MAX = 2
/** Jobs recovered per recover decision at open (one event each, and a cancel with its batch's
 * completion for one sent back to waiting on parents all cancelled); open repeats it until done. */
export const RECOVER_BATCH = 5_000
/** Jobs removed per vacuum decision (one event): bounded, like queue_job's 1000-row deletes. */
export const VACUUM_BATCH = 1_000
/** Jobs one remove() call may name: it is decided and written in one tick, all or nothing. */
export const REMOVE_UUIDS_MAX = 10_000
/** With the default snapshotEvery, a snapshot waits for at least this many events per live job
 * (runtime/maintenance.ts): its cost, ~10-30 µs per live job, then stays a few µs per event. */
export const SNAPSHOT_EVENTS_PER_LIVE_JOB = 8
/** Jobs one purge decision removes at most (plus the rest of the last graph it takes): purge()
 * repeats it, one bounded batch per tick, like autovacuum. */
export const PURGE_BATCH = 1_000
/** Ticks in a row that append nothing yet leave a wake-up already due (the timer fires again at
 * once, with nothing changed). A correct tick clears what it woke for, so a race makes one or two;
 * more is a spin (an eta compared with `<` where `<=` was meant), and the engine fails loudly
 * instead of hanging. Far above any race, far below a hang. */
export const IDLE_DUE_TICKS_MAX = 1_000

// A tick can never build a batch the codec refuses, whatever the input (an outcome may complete
// a batch, or retry a job it then cancels — which may complete it; the calls' bounds count their
// completions; cron firings are no batch's jobs).
if (TICK_OUTCOMES_MAX * (2 + BATCH_DONE_EVENTS_MAX) + CRON_FIRINGS_MAX + CRONS_MAX + TICK_CALL_EVENTS_MAX + 2 * TICK_STARTS_MAX > BATCH_EVENTS_MAX) {
  fail('tick bounds exceed BATCH_EVENTS_MAX')
}
if (Math.max(GRAPH_JOBS_MAX, RECOVER_BATCH * (2 + BATCH_DONE_EVENTS_MAX), 1) > TICK_CALL_EVENTS_MAX) fail('one call may not fit in a tick')
if (DELAY_MANY_JOBS_MAX > GRAPH_JOBS_MAX) fail('one delayMany call may not fit one enqueue')
if (BATCH_JOBS_MAX + 1 > TICK_CALL_EVENTS_MAX) fail('one batch call may not fit in a tick')
if (REMOVE_UUIDS_MAX * BATCH_DONE_EVENTS_MAX + 2 > TICK_CALL_EVENTS_MAX || PURGE_BATCH * BATCH_DONE_EVENTS_MAX + 2 > TICK_CALL_EVENTS_MAX) {
  fail('the batches one remove() or purge decision may complete may not fit in a tick')
}
