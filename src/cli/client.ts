// What the CLI's commands ask of Wharf, whichever way it is reached: a store on disk that no
// process holds (local-client.ts, --path) or a running app's dashboard API (http-client.ts,
// --url). The answers have the shapes of the dashboard's JSON API (docs: operator surface), so
// that `--json` prints the same document in both modes.

import type { RemovableState } from '../engine/core/commands.js'
import type { JobState } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import type { BatchState, BatchView } from '../engine/core/batch.js'
import type { Stats } from '../engine/api/queries.js'
import type { ClusterView } from '../engine/runtime/cluster.js'
import { WharfError } from '../engine/errors.js'
import { PATH_ADVICE } from '../storage/level-path.js'

export interface JobsFilter {
  state?: JobState
  channel?: string
  model?: string
  method?: string
  batchUuid?: string
  limit: number
  order?: 'asc' | 'desc'
  after?: string
}

export interface BatchesFilter {
  state?: BatchState
  limit: number
  order?: 'asc' | 'desc'
  after?: string
}

/** One page of batches, as GET /api/batches answers. */
export interface BatchesPage {
  batches: BatchView[]
  next: string | null
}

/** One page; `next` is the cursor of the following page, null when this one is the last. */
export interface JobsPage {
  jobs: JobView[]
  next: string | null
  /** When each failed job of the page failed, by uuid (not a JobView field). */
  failedAt: Record<string, number>
}

export interface JobDetail {
  job: JobView
  /** When it failed, for a failed job whose time is known; else null. */
  failedAt: number | null
  /** The function's related action for this job (only a running app can compute it). */
  related: { url: string; label?: string } | null
  /** The job function's configuration as the app registered it (null without the app's code). */
  function: unknown
}

/** One reason of explain(): `kind` and the fields that kind carries (API.md, Reason). */
export type Reason = { kind: string } & Record<string, unknown>

export interface Explanation {
  state: JobState
  reasons: Reason[]
}

export type Action = 'requeue' | 'cancel' | 'done'

export interface ErrorInfo {
  name: string
  code?: string
  message: string
}

export type ActionResult = { uuid: string; ok: true } | { uuid: string; ok: false; error: ErrorInfo }

export interface OperatorClient {
  jobs(filter: JobsFilter): Promise<JobsPage>
  /** Rejects with a Refusal (UnknownJobError) for an unknown uuid. */
  job(uuid: string): Promise<JobDetail>
  explain(uuid: string): Promise<Explanation>
  /** One result per uuid, in order; a refused one does not stop the others. */
  act(action: Action, uuids: readonly string[]): Promise<ActionResult[]>
  /** All or nothing: how many were removed, or a refusal (nothing removed). */
  remove(uuids: readonly string[]): Promise<{ removed: number }>
  /** Every job in `state` (that entered it before `before`, when given): how many were removed. */
  purge(state: RemovableState, before: Date | undefined): Promise<{ removed: number }>
  stats(): Promise<Stats>
  crons(): Promise<{ crons: unknown[] }>
  /** wharf.cluster() of the app (--url) or of the CLI's own member (--postgres). */
  cluster(): Promise<ClusterView>
  batches(filter: BatchesFilter): Promise<BatchesPage>
  close(): Promise<void>
}

/**
 * An action or a read that Wharf refused, or a store or server that cannot be used: exit code 1
 * (2 when `usage` is set: the server refused a value as bad input, HTTP 400).
 */
export class Refusal extends Error {
  override readonly name = 'Refusal'
  constructor(
    readonly info: ErrorInfo,
    readonly usage = false,
  ) {
    super(info.message)
  }
}

/** The library's advice for a path that is not a store offers an empty directory: the CLI refuses one. */
const CLI_PATH_ADVICE = 'give the directory of a Wharf store (the wharf command never creates one)'

/** The name, code and message of a Wharf error, as the dashboard API reports them (CLI_PATH_ADVICE in it). */
export function errorInfo(error: WharfError): ErrorInfo {
  return { name: error.name, code: error.code, message: error.message.replace(PATH_ADVICE, CLI_PATH_ADVICE) }
}

/** A Wharf error as a Refusal, with `hint` (what to do instead) added to its message. */
export function refusalOf(error: WharfError, hint = ''): Refusal {
  const info = errorInfo(error)
  return new Refusal(hint === '' ? info : { ...info, message: `${info.message}; ${hint}` })
}
