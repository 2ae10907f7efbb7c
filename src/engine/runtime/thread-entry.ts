// The file each worker thread of a threaded model loads (the pool's entry, see thread-pool.ts).
// It imports the user's module once per thread, runs one task at a time, and turns how the
// handler ended into its outcome here, where a thrown RetryableJobError still is one (outcome.ts).
// `this` inside a threaded handler is a ThreadJobContext: what a JobContext offers that can cross
// a thread boundary.

import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parentPort } from 'node:worker_threads'
import type { HandlerOutcome } from '../core/commands.js'
import type { RecordId } from '../core/events.js'
import { PROGRESS_INTERVAL_MS } from '../core/limits.js'
import type { JobProgress, JobView } from '../core/view.js'
import { InvalidJobFunctionError } from '../errors.js'
import { SystemClock } from './clock.js'
import { outcomeOfError, outcomeOfValue } from './outcome.js'
import { checkProgress } from './progress.js'
import { PROGRESS_MESSAGE, type DescribeTask, type ProgressMessage, type ThreadReply, type ThreadTask } from './thread-protocol.js'

const modules = new Map<string, Promise<Record<string, unknown>>>()

function load(href: string): Promise<Record<string, unknown>> {
  let loaded = modules.get(href)
  if (loaded === undefined) modules.set(href, (loaded = importOrRequire(href)))
  return loaded
}

/**
 * Node 20 runs no ESM loader hooks in worker threads, so under tsx (`node --import tsx`, and
 * Wharf's own tests) import() refuses a TypeScript module for its extension while tsx's require
 * hook still works in the thread: such a module is required instead.
 */
async function importOrRequire(href: string): Promise<Record<string, unknown>> {
  try {
    return (await import(href)) as Record<string, unknown>
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error
    return createRequire(href)(fileURLToPath(href)) as Record<string, unknown>
  }
}

/** A module's exported functions, but its default export: those are the model's methods. */
function functionNames(exported: Record<string, unknown>): string[] {
  return Object.keys(exported).filter((name) => name !== 'default' && typeof exported[name] === 'function').sort()
}

export default async function runTask(task: ThreadTask | DescribeTask): Promise<ThreadReply | string[]> {
  if ('describe' in task) return functionNames(await load(task.describe))
  const context = new ThreadJobContext(task)
  let outcome: HandlerOutcome
  try {
    const handler = (await load(task.href))[task.method]
    if (typeof handler !== 'function') throw new InvalidJobFunctionError(`${task.href} exports no function ${JSON.stringify(task.method)}`)
    outcome = outcomeOfValue(await (handler as (...args: unknown[]) => unknown).apply(context, task.args))
  } catch (error) {
    outcome = outcomeOfError(error)
  }
  return { outcome, progress: context.end() }
}

const SYSTEM_CLOCK = new SystemClock()

/** Never aborted: a try that must stop (timeout, cancel, close) has its thread terminated. */
const NEVER = new AbortController().signal

/**
 * `this` of a handler running in a worker thread. `records`, `context` and `job` as in-process;
 * `now()` and `sleep()` use the system clock (a FakeClock does not reach threads); `signal`
 * never aborts, because the thread is terminated instead; `progress()` is checked here (a bad
 * fraction throws in the handler) and sent to the main thread at most once per
 * PROGRESS_INTERVAL_MS, the latest value going back with the outcome.
 */
export class ThreadJobContext {
  readonly records: RecordId[]
  readonly context: Record<string, unknown>
  readonly job: JobView | undefined
  readonly signal: AbortSignal = NEVER
  private readonly id: number
  private last: JobProgress | null = null
  private postedAtMs = Number.NEGATIVE_INFINITY
  private timer: ReturnType<typeof setTimeout> | null = null
  private ended = false

  constructor(task: ThreadTask) {
    this.id = task.id
    this.records = task.records
    this.context = task.context
    this.job = task.job ?? undefined
  }

  now(): number {
    return Date.now()
  }

  /** The system clock's sleep, as an in-process handler's: a bad duration rejects (RangeError),
   * and a sleep past setTimeout's 2^31-1 ms is re-armed instead of ending after 1 ms. */
  sleep(ms: number): Promise<void> {
    return SYSTEM_CLOCK.sleep(ms)
  }

  progress(fraction: number, message?: string): void {
    const progress = checkProgress(fraction, message)
    if (this.ended) return
    this.last = progress
    if (this.timer !== null) return // a send is already due: it takes the latest value
    const waitMs = this.postedAtMs + PROGRESS_INTERVAL_MS - Date.now()
    if (waitMs <= 0) this.send()
    else this.timer = setTimeout(() => this.send(), waitMs)
  }

  /** The try is over: nothing more is sent; the latest value goes back with the outcome. */
  end(): JobProgress | null {
    this.ended = true
    if (this.timer !== null) clearTimeout(this.timer)
    return this.last
  }

  private send(): void {
    this.timer = null
    if (this.ended || this.last === null) return
    this.postedAtMs = Date.now()
    const message: ProgressMessage = { type: PROGRESS_MESSAGE, id: this.id, fraction: this.last.fraction, message: this.last.message }
    parentPort?.postMessage(message)
  }
}
