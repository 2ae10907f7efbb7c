// What the main thread and a worker thread of a threaded model (wharf.model(name, { module,
// threads })) say to each other: tasks go out through the pool, replies come back as the task's
// result, and progress reports come back as messages on the worker's parentPort (the pool
// re-emits them), tagged with the id of the task that reported them.

import type { HandlerOutcome } from '../core/commands.js'
import type { RecordId } from '../core/events.js'
import type { JobProgress, JobView } from '../core/view.js'

/** Run `method` of the module at `href` for one try (or one direct call). */
export interface ThreadTask {
  /** Which JobContext the task's progress reports go to (unique per pool). */
  id: number
  href: string
  method: string
  args: unknown[]
  records: RecordId[]
  context: Record<string, unknown>
  /** The job as it was when this try started; null for a direct call. */
  job: JobView | null
}

/** Load the module at `describe` and answer with the names of its exported functions. */
export interface DescribeTask {
  describe: string
}

/** How a task ended, computed in the worker by the same rules as in-process (outcome.ts). */
export interface ThreadReply {
  outcome: HandlerOutcome
  /** The latest progress the handler reported, whether or not a message carried it already:
   * messages and the reply travel on different ports, so the last one may arrive after it. */
  progress: JobProgress | null
}

export const PROGRESS_MESSAGE = 'wharf.progress'

export interface ProgressMessage {
  type: typeof PROGRESS_MESSAGE
  id: number
  fraction: number
  message: string | null
}

export function isProgressMessage(message: unknown): message is ProgressMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === PROGRESS_MESSAGE
}
