// The worker threads of one threaded model: a piscina pool whose threads load thread-entry.ts
// and, through it, the model's module. Each method becomes a Handler that the runner calls like
// an in-process one: it sends the try to a thread and resolves with its result, or rejects with
// the error its outcome names (outcome.ts). A try is stopped by aborting its JobContext's signal
// (timeout, cancel, requeue, close's timeout): piscina then terminates the thread running it
// and starts another, so CPU-bound code that never yields is stopped too.

import { Piscina } from 'piscina'
import type { JobContext } from './runner.js'
import type { Handler } from './runner.js'
import { RetryableJobError, WharfClosedError } from '../errors.js'
import { describe } from '../core/describe.js'
import { errorOfOutcome } from './outcome.js'
import { isProgressMessage, type DescribeTask, type ThreadReply, type ThreadTask } from './thread-protocol.js'
import type { Warn } from './warnings.js'
import { threadTaskAnswered, threadTaskSent } from './thread-tasks.js'

/** From the sources (tests, benches under tsx) the entry is TypeScript: its threads need tsx too. */
const FROM_SOURCES = import.meta.url.endsWith('.ts')
const ENTRY = new URL(FROM_SOURCES ? './thread-entry.ts' : './thread-entry.js', import.meta.url)

export class ThreadPool {
  private readonly pool: Piscina
  /** Tries and calls in a thread now, by task id: where their progress messages go. */
  private readonly contexts = new Map<number, JobContext>()
  private nextId = 0
  private destroyed = false

  constructor(
    readonly href: string,
    threads: number,
    private readonly warn: Warn,
  ) {
    this.pool = new Piscina({
      filename: ENTRY.href,
      minThreads: threads,
      maxThreads: threads,
      // Plain messages: a thread's own timers (a progress send) run between tasks too.
      atomics: 'disabled',
      ...(FROM_SOURCES ? { execArgv: ['--import', 'tsx'] } : {}),
    })
    this.pool.on('message', (message: unknown) => {
      if (!isProgressMessage(message)) return
      this.contexts.get(message.id)?.progress(message.fraction, message.message ?? undefined)
    })
    // A thread that dies fails the task it ran; this is what the pool reports besides.
    this.pool.on('error', (error: unknown) => warn(`wharf: a worker thread of ${href} failed: ${String(error)}`, 'WHARF_THREAD_ERROR'))
  }

  /** The module's exported functions (loading it in a thread: a module that cannot load rejects). */
  async functionNames(): Promise<string[]> {
    const task: DescribeTask = { describe: this.href }
    return (await this.pool.run(task)) as string[]
  }

  /** The handler of `method`: what the registry holds for it, as for an in-process model. */
  handler(method: string): Handler {
    const pool = this
    return function (this: JobContext, ...args: unknown[]): Promise<unknown> {
      return pool.call(this, method, args)
    }
  }

  /** Stop every thread (a task still running is terminated) and release the pool. */
  async destroy(): Promise<void> {
    this.destroyed = true
    await this.pool.destroy()
  }

  private async call(context: JobContext, method: string, args: unknown[]): Promise<unknown> {
    // A destroyed piscina pool still runs a task, on a thread it starts again and nothing ends.
    if (this.destroyed) throw new WharfClosedError(`this Wharf is closed: ${this.href} runs no more calls (its worker threads are gone)`)
    const id = ++this.nextId
    const signal = context.signal
    const task: ThreadTask = { id, href: this.href, method, args, records: context.records, context: context.context, job: context.job ?? null }
    this.contexts.set(id, context)
    threadTaskSent()
    let reply: ThreadReply
    try {
      reply = (await this.pool.run(task, { signal })) as ThreadReply
    } catch (error) {
      // Aborted: the reason (a JobTimeoutError, a JobSupersededError…) says why, not piscina.
      if (signal.aborted) throw signal.reason
      // Ended by close() destroying the pool (it waits for tries, not for direct calls): the
      // caller learns that the Wharf closed, not piscina's 'Terminating worker thread'.
      if (this.destroyed) throw new WharfClosedError(`this Wharf closed while ${method} of ${this.href} ran: its worker threads are gone`, { cause: error })
      // Else the thread itself ended under the try: a handler's own errors come back as
      // outcomes, so this is an error nothing caught (maybe a timer another job left behind),
      // process.exit() or memory. Its message was failing whichever try ran there, for good. As
      // a crash of the app would be recovered on the next open, the try is retried now (it
      // counts; past maxRetries it fails), and the thread's end is warned.
      const why = error instanceof Error ? `${error.name}: ${error.message}` : describe(error)
      this.warn(`wharf: the worker thread running ${method} of ${this.href} ended: ${why}; its try is retried`, 'WHARF_THREAD_ERROR')
      throw new RetryableJobError(`the worker thread running it ended: ${why}`, { seconds: 0 })
    } finally {
      this.contexts.delete(id)
      threadTaskAnswered()
    }
    if (reply.progress !== null) context.progress(reply.progress.fraction, reply.progress.message ?? undefined)
    if (reply.outcome.kind === 'returned') return reply.outcome.result
    throw errorOfOutcome(reply.outcome)
  }
}
