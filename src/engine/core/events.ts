// The event union: every state change Wharf can make, and nothing else. The log stores these;
// `evolve` applies them; replay is a fold. Names are past tense. `v` is the format version of
// the event shape: a new shape gets a new `v` and an upcaster in storage/codec.ts, and the log is
// never rewritten. Everything an event needs (times, retry etas, cascades) is decided before it
// is written, so applying it never reads a clock or draws a random number.

import type { JobView } from './view.js'

export const EVENT_FORMAT_VERSION = 1

export const JOB_STATES = [
  'wait_dependencies',
  'pending',
  'enqueued',
  'started',
  'done',
  'cancelled',
  'failed',
] as const
export type JobState = (typeof JOB_STATES)[number]

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type RecordId = string | number

/** Everything about a job that is fixed when it is created (decided at the API boundary). */
export interface JobSpec {
  uuid: string
  graphUuid: string | null
  model: string
  method: string
  records: RecordId[]
  args: unknown[]
  context: Record<string, unknown>
  priority: number
  /** Earliest start, ms since epoch; null = as soon as possible. */
  eta: number | null
  maxRetries: number
  description: string
  /** Complete channel name ('root' or 'root.…'). */
  channel: string
  identityKey: string | null
  /** Parents' uuids: existing jobs, or jobs created earlier in the same batch. */
  dependsOn: string[]
  createdAt: number
}

/** What a cron does about firings it missed while no engine ran (API.md: default 'one'). */
export const CATCH_UPS = ['none', 'one', 'all'] as const
export type CatchUp = (typeof CATCH_UPS)[number]

/**
 * The job each firing of a cron stores: one job function call with its properties, settled when
 * the cron was declared. `channel` null: the function's configured channel when it fires.
 */
export interface CronJob extends Pick<JobSpec, 'model' | 'method' | 'records' | 'args' | 'context' | 'priority' | 'maxRetries' | 'description'> {
  channel: string | null
  /** The delayable's own identity key, when it had one: every firing's job carries it instead of
   * the firing's, so a firing while a job with it still waits stores nothing (queue_job's
   * identity_key on a cron's job). Absent otherwise (definitions before it compare equal). */
  identityKey?: string
}

/** A cron as declared (wharf.cron()): everything but the times, which the shell computes. */
export interface CronDefinition {
  name: string
  /** The cron expression, as given. */
  schedule: string
  /** IANA time zone the expression is read in (the process's, resolved, when none was given). */
  tz: string
  catchUp: CatchUp
  job: CronJob
}

interface Base {
  /** Position in the log, 1-based and gapless; stamped by the shell when the batch is formed. */
  seq: number
  v: typeof EVENT_FORMAT_VERSION
  /** Clock time at which the decision was made (ms since epoch). */
  at: number
}

export interface JobCreated extends Base { type: 'job.created'; job: JobSpec }
/** A pending job's eta passed: it leaves the eta queue and competes on priority. */
export interface JobEtaReached extends Base { type: 'job.eta_reached'; uuid: string }
/** The scheduler picked the job: it holds a slot on every channel of its path. */
export interface JobEnqueued extends Base { type: 'job.enqueued'; uuid: string }
/**
 * The runner is about to call the handler; `retry` counts this try. `node`: in a cluster, the
 * worker (a member's id, runtime/cluster.ts) the scheduler assigned this try to — absent when the
 * scheduling process runs it itself (embedded, and every log written before clusters).
 */
export interface JobStarted extends Base { type: 'job.started'; uuid: string; node?: string }
export interface JobDone extends Base {
  type: 'job.done'
  uuid: string
  result: unknown
  /** true when set done by a user (setDone), false when the handler finished. */
  manual: boolean
}
export interface JobPostponed extends Base {
  type: 'job.postponed'
  uuid: string
  eta: number
  message: string
  /** -1 when the error asked to ignore this try (RetryableJobError ignoreRetry). */
  retryAdjust: 0 | -1
}
export interface JobFailed extends Base {
  type: 'job.failed'
  uuid: string
  excName: string
  excMessage: string
  excInfo: string
}
export interface JobCancelled extends Base {
  type: 'job.cancelled'
  uuid: string
  /** Descendants cancelled with it (every parent cancelled), in the order they were found. */
  cascade: string[]
}
export interface JobRequeued extends Base { type: 'job.requeued'; uuid: string }
/**
 * A pending job delayed alone was re-stored into a graph (queue_job's delay() step 2): it takes
 * the graph's uuid and these parents, and waits for them (wait_dependencies) unless all are done.
 */
export interface JobJoinedGraph extends Base { type: 'job.joined_graph'; uuid: string; graphUuid: string; dependsOn: string[] }
/**
 * On open, a job the previous process left enqueued or started (it died with it) goes back to
 * pending — or fails as JobFoundDead once its tries are past maxRetries (queue_job's dead-job
 * rule). A started job's try was already counted by its job.started.
 */
export interface JobRecovered extends Base { type: 'job.recovered'; uuid: string; dead: boolean }
/** What a job found dead (job.recovered, dead) fails with; wharf.result() rejects with it too. */
export const FOUND_DEAD = Object.freeze({ excName: 'JobFoundDead', excMessage: 'Job found dead after too many retries' })
/**
 * The handler of run `run` of this job, superseded (its job was cancelled, requeued or set done
 * while it ran), settled — or, on open, died with the previous process: the slots it held on its
 * channel path are free again.
 */
export interface JobRunReleased extends Base { type: 'job.run_released'; uuid: string; run: number }
/**
 * Finished jobs brought back from history into memory, so that a command can change them (a
 * requeue of a done job, a cancel of a done one…): the whole graph of the job, as history held it.
 */
export interface JobsRestored extends Base { type: 'jobs.restored'; jobs: JobView[] }
/**
 * Autovacuum removed these done or cancelled jobs from history (whole graphs at a time). Logs of
 * 0.1 also name jobs still in memory, children before parents.
 */
export interface JobsVacuumed extends Base { type: 'jobs.vacuumed'; uuids: string[] }
/**
 * The handler of run `run` said how far its try got (JobContext.progress). The runner coalesces
 * reports (at most one per PROGRESS_INTERVAL_MS, the latest when the try ends), and decide drops
 * those of a run that no longer owns its job, as it drops a stale outcome.
 */
export interface JobProgressed extends Base {
  type: 'job.progressed'
  uuid: string
  run: number
  /** 0 to 1. */
  fraction: number
  message: string | null
}
/**
 * A user removed these jobs for good (remove(), purge()): `memory` ones from memory (failed jobs,
 * and finished jobs of a graph that had not left memory, or that jobs.restored just brought
 * back), `history` ones from history (whole graphs, or jobs outside any graph).
 */
export interface JobsRemoved extends Base { type: 'jobs.removed'; memory: string[]; history: string[] }
/**
 * A batch was stored (wharf.batch()): its jobs are the job.created events just before it, in the
 * same command, which this names. `onDone`: the jobs to store when the batch is done (a graph,
 * parents first; their createdAt is set then), or null.
 */
export interface BatchCreated extends Base {
  type: 'batch.created'
  uuid: string
  name: string
  jobs: string[]
  onDone: JobSpec[] | null
}
/**
 * Every job of the batch is done or cancelled, at least one done (core/batch.ts). `onDone`: the
 * batch's onDone jobs follow as job.created events — only the first time a batch is done, never
 * again after a requeue reopened it.
 */
export interface BatchDone extends Base { type: 'batch.done'; uuid: string; onDone: boolean }
/**
 * Finished jobs of batches left history (vacuum, remove, purge): per batch, how many done and how
 * many cancelled, so that its counts stay exact (history's events name jobs, not their batches).
 */
export interface BatchesTrimmed extends Base { type: 'batches.trimmed'; batches: [uuid: string, done: number, cancelled: number][] }
export interface ChannelPaused extends Base { type: 'channel.paused'; channel: string }
export interface ChannelResumed extends Base { type: 'channel.resumed'; channel: string }

/**
 * A cron was declared, or declared again differently. `nextMs`: its next firing (ms since epoch;
 * null: the expression never fires again), computed by the shell — the core reads no calendar.
 * A cron declared again keeps its last firing and its pause.
 */
export interface CronDefined extends Base { type: 'cron.defined'; cron: CronDefinition; nextMs: number | null }
export interface CronRemoved extends Base { type: 'cron.removed'; name: string }
/** No firing while paused; those that fall in the pause are skipped. */
export interface CronPaused extends Base { type: 'cron.paused'; name: string }
/** Fires again from `nextMs`, the first firing after the resume (the shell's). */
export interface CronResumed extends Base { type: 'cron.resumed'; name: string; nextMs: number | null }
/**
 * The cron's firings at these scheduled times (ascending) stored their jobs (job.created events
 * just before it, identity key `cron:<name>:<ISO time>`, or the definition's own; a firing whose
 * key a waiting job holds, or an earlier firing of the same event took, stores none), and it
 * fires next at `nextMs`. `fired` may be empty: missed firings skipped by its catchUp.
 */
export interface CronFired extends Base { type: 'cron.fired'; name: string; fired: number[]; nextMs: number | null }

export type WharfEvent =
  | JobCreated
  | JobEtaReached
  | JobEnqueued
  | JobStarted
  | JobDone
  | JobPostponed
  | JobFailed
  | JobCancelled
  | JobRequeued
  | JobJoinedGraph
  | JobRecovered
  | JobRunReleased
  | JobsRestored
  | JobsVacuumed
  | JobsRemoved
  | ChannelPaused
  | ChannelResumed
  | JobProgressed
  | CronDefined
  | CronRemoved
  | CronPaused
  | CronResumed
  | CronFired
  | BatchCreated
  | BatchDone
  | BatchesTrimmed

export type EventType = WharfEvent['type']
