// JobView: the public, JSON-safe copy of a job, built on demand. records, args and context are
// shared, not copied: the API deep-copies and deep-freezes them when the job is created, so a
// caller can read them without cost and cannot change the stored job through them.

import type { JobState, RecordId } from './events.js'
import type { JobRecord } from './state.js'
import { exposedPayloads } from './frozen-payload.js'

/** How far a job's latest try got, as its handler last said (JobContext.progress). Frozen. */
export interface JobProgress {
  /** 0 to 1. */
  fraction: number
  /** null when the handler gave none. */
  message: string | null
}

export interface JobView {
  uuid: string
  graphUuid: string | null
  model: string
  method: string
  records: RecordId[]
  args: unknown[]
  context: Record<string, unknown>
  state: JobState
  priority: number
  eta: number | null
  maxRetries: number
  retry: number
  description: string
  channel: string
  identityKey: string | null
  dependsOn: string[]
  dependents: string[]
  result: unknown
  excName: string | null
  excMessage: string | null
  excInfo: string | null
  createdAt: number
  enqueuedAt: number | null
  startedAt: number | null
  doneAt: number | null
  cancelledAt: number | null
  execTimeMs: number | null
  /** The latest try's progress; null until its handler reports one (each try starts at null). */
  progress: JobProgress | null
  /**
   * The cluster member (its `node` name) the latest try was assigned to, and ran or runs on. It
   * stays once that try ended — a done, failed (JobFoundDead too), postponed or cancelled job
   * names where it last ran — until the next try starts; a requeue clears it with `retry` and
   * `startedAt` (the job starts over). Null embedded (one process runs every job) and for a job
   * that never started.
   */
  node: string | null
  /** The batch it belongs to (wharf.batch()), or null. */
  batchUuid: string | null
}

/** A frozen progress value: views share it with the job's record, so nobody may change it. */
export function frozenProgress(fraction: number, message: string | null): JobProgress {
  return Object.freeze({ fraction, message })
}

export function toJobView(job: JobRecord): JobView {
  exposedPayloads(job)
  return {
    uuid: job.uuid,
    graphUuid: job.graphUuid,
    model: job.model,
    method: job.method,
    records: job.records,
    args: job.args,
    context: job.context,
    state: job.state,
    priority: job.priority,
    eta: job.eta,
    maxRetries: job.maxRetries,
    retry: job.retry,
    description: job.description,
    channel: job.channel.name,
    identityKey: job.identityKey,
    dependsOn: job.parents.length === 0 ? [] : job.parents.map((p) => p.uuid),
    dependents: job.children.length === 0 ? [] : job.children.map((c) => c.uuid),
    result: job.result,
    excName: job.excName,
    excMessage: job.excMessage,
    excInfo: job.excInfo,
    createdAt: job.createdAt,
    enqueuedAt: job.enqueuedAt,
    startedAt: job.startedAt,
    doneAt: job.doneAt,
    cancelledAt: job.cancelledAt,
    execTimeMs: job.doneAt !== null && job.startedAt !== null && job.state === 'done' ? job.doneAt - job.startedAt : null,
    progress: job.progress,
    node: job.node,
    batchUuid: job.batch === null ? null : job.batch.uuid,
  }
}
