// Commands: what the shell asks the core to decide. They carry everything the decision needs
// that is not in the state (the clock arrives separately as nowMs; entropy and config as data).

import type { CronDefinition, JobSpec, JobState } from './events.js'
import type { RetryPattern } from './retry.js'
import type { JobView } from './view.js'

/** The states remove() and purge() take jobs out of. */
export type RemovableState = 'done' | 'cancelled' | 'failed'

export type HandlerOutcome =
  | { kind: 'returned'; result: unknown }
  | {
      kind: 'retryable'
      message: string
      seconds: number | undefined
      ignoreRetry: boolean
      /** Class name and stack of the error, kept if retries run out. */
      excName: string
      excInfo: string
    }
  | { kind: 'failed'; excName: string; excMessage: string; excInfo: string }
  | { kind: 'nothing_to_do'; message: string }

/** A stored job that joins the graph being stored: its graph and its parents in that graph. */
export interface GraphJoin {
  uuid: string
  graphUuid: string
  dependsOn: string[]
  /** Set by the shell when the job is not in memory but finished, in history. */
  finished?: JobState
}

export type Command =
  /**
   * Store new jobs (one job, or a graph with parents before children). `joins`: jobs delayed
   * alone before, re-stored into this graph (queue_job's delay() step 2); their parents are
   * jobs of `jobs` or other joined jobs.
   */
  | {
      type: 'enqueue'
      jobs: JobSpec[]
      joins?: GraphJoin[]
      /** Uuids of `jobs` that finished jobs in history already have (set, maybe empty, by the
       * shell when uuids come from a custom newId: the core then also refuses the uuid of a job
       * finished earlier in the tick). */
      historyUuids?: string[]
      /** Its uuids come from a custom newId: a cluster follower's call says so, since the
       * scheduler that checks them against history may have ULIDs of its own. */
      customIds?: true
      /**
       * delayMany: `jobs` holds several independent graphs (or single jobs) back to back, graph i
       * ending before jobs[ends[i]]; none depends on another's jobs, and there are no joins.
       * Stored all in one batch, but identity keys decide each graph on its own, in order, as
       * that many enqueues one after another would. Absent: `jobs` is one graph.
       */
      ends?: number[]
    }
  /**
   * Store a batch (wharf.batch()): `jobs` holds its elements' graphs (or lone jobs) back to back,
   * as delayMany's enqueue does (`ends`), all stored — identity keys are refused at the boundary —
   * then the batch that names them. `onDone`: a graph stored when the batch is first done.
   */
  | {
      type: 'batch'
      uuid: string
      name: string
      jobs: JobSpec[]
      ends: number[]
      onDone: JobSpec[] | null
      /** Uuids of `jobs` and `onDone` that finished jobs in history already have (set, maybe
       * empty, by the shell when uuids come from a custom newId, as for enqueue). */
      historyUuids?: string[]
      /** As enqueue's: its uuids come from a follower's custom newId. */
      customIds?: true
    }
  /** The runner takes an enqueued job; `node`: the cluster worker that runs it (see job.started). */
  | { type: 'start'; uuid: string; node?: string }
  /** A handler settled. `run` is the job's `runs` when it started: stale completions are dropped. */
  | {
      type: 'finish'
      uuid: string
      run: number
      outcome: HandlerOutcome
      retryPattern: RetryPattern | null
      /** Uniform in [0, 1): draws from a [min, max] retry delay. */
      entropy: number
    }
  /**
   * Management of one job. `restore`: when the job is not in memory, its graph as history holds
   * it, read by the shell before the tick (the core reads no storage). `from`: the states the
   * caller (the dashboard's bulk actions) means to act on; a job in another state is left as it
   * is and the command refused (JobStateConflictError), decided with the state it applies to.
   */
  | { type: 'cancel'; uuid: string; restore?: JobView[]; from?: readonly JobState[] }
  | { type: 'requeue'; uuid: string; restore?: JobView[]; from?: readonly JobState[] }
  | { type: 'setDone'; uuid: string; restore?: JobView[]; from?: readonly JobState[] }
  /**
   * On open: jobs a dead process left enqueued or started, at most `limit` per decision. `keep`:
   * in a cluster, the workers still alive — their runs go on, and only the others' are recovered
   * (at a takeover, and when a worker is found dead). Absent: every run is the dead process's.
   */
  | { type: 'recover'; limit: number; keep?: readonly string[] }
  /**
   * Remove these finished jobs from history: whole graphs, old enough by their channel's
   * removeAfterDays, read by the shell. A graph brought back to memory since is kept.
   */
  | { type: 'vacuum'; jobs: JobView[] }
  /**
   * Delete these jobs for good (remove()): all of them, or none and a refusal. `history`: set by
   * the shell, the graph (or the lone job) of each named job that was not in memory, as history
   * holds it.
   */
  | { type: 'remove'; uuids: string[]; history?: JobView[][] }
  /**
   * Delete jobs in `state` that entered it before `beforeMs` (null: whenever), at most about
   * `limit` (purge()). For done and cancelled, the shell reads the candidates from history before
   * the tick: `history` holds their graphs (or lone jobs), `historyMore` says it stopped at the limit.
   */
  | { type: 'purge'; state: RemovableState; beforeMs: number | null; limit: number; history?: JobView[][]; historyMore?: boolean }
  | { type: 'pauseChannel'; channel: string }
  | { type: 'resumeChannel'; channel: string }
  /** A running handler's progress (JobContext.progress), checked and coalesced by the runner;
   * `run` as for finish: a stale run's progress is dropped. Nobody awaits it. */
  | { type: 'progress'; uuid: string; run: number; fraction: number; message: string | null }
  /**
   * Declare a cron, or declare it again (nothing is written when nothing changed). `nextMs`: its
   * next firing after now (and after its last one), computed by the shell; kept from the stored
   * cron instead when its schedule and time zone did not change (missed firings stay due).
   */
  | { type: 'defineCron'; cron: CronDefinition; nextMs: number | null }
  | { type: 'removeCron'; name: string }
  | { type: 'pauseCron'; name: string }
  /**
   * `atMs`: when it was called. A tick given the shell's cron clock (TickInput.cronNext) resumes
   * at the first firing after `atMs` of the cron as the tick finds it: a cron() call decided before
   * it in the same tick may have changed its schedule since the caller computed `nextMs` (that
   * first firing of the cron the caller saw, taken only without a cron clock).
   */
  | { type: 'resumeCron'; name: string; nextMs: number | null; atMs: number }
  /**
   * A cron is due (the shell saw its next firing, `fromMs`, at or before now): store `jobs`, one
   * per firing in `fired` (the scheduled times its catchUp keeps, ascending), and fire next at
   * `nextMs`. Dropped when the cron changed since the shell read it (removed, paused, or moved on).
   */
  | { type: 'fireCron'; name: string; fromMs: number; fired: number[]; jobs: JobSpec[]; nextMs: number | null }
