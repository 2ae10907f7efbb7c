// Commands: what the shell asks the core to decide. They carry everything the decision needs
// that is not in the state (the clock arrives separately as nowMs; entropy and config as data).

import type { JobSpec } from './events.js'
import type { RetryPattern } from './retry.js'

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
}

export type Command =
  /**
   * Store new jobs (one job, or a graph with parents before children). `joins`: jobs delayed
   * alone before, re-stored into this graph (queue_job's delay() step 2); their parents are
   * jobs of `jobs` or other joined jobs.
   */
  | { type: 'enqueue'; jobs: JobSpec[]; joins?: GraphJoin[] }
  /** The runner takes an enqueued job. */
  | { type: 'start'; uuid: string }
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
  | { type: 'cancel'; uuid: string }
  | { type: 'requeue'; uuid: string }
  | { type: 'setDone'; uuid: string }
  /** On open: jobs a dead process left enqueued or started, at most `limit` per decision. */
  | { type: 'recover'; limit: number }
  /** Remove done/cancelled jobs older than their channel's removeAfterDays (else the default). */
  | { type: 'vacuum'; defaultDays: number; limit: number }
  | { type: 'pauseChannel'; channel: string }
  | { type: 'resumeChannel'; channel: string }
