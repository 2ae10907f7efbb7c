// The runner: calls handlers of jobs the engine has started, and turns how they settle into
// `finish` commands. A handler that returns synchronously is finished without a promise; an
// async one costs one `then`. Timeouts are deadlines checked by the engine's single timer.

import type { HandlerOutcome } from '../core/commands.js'
import type { RecordId } from '../core/events.js'
import type { RetryPattern } from '../core/retry.js'
import type { JobRecord } from '../core/state.js'
import { toJobView, type JobProgress, type JobView } from '../core/view.js'
import { exposedPayloads } from '../core/frozen-payload.js'
import { JobTimeoutError } from '../errors.js'
import { FakeClock, sleepOn, type Clock, type SleepWatch } from './clock.js'
import type { Engine } from './engine.js'
import { outcomeOfError, outcomeOfValue } from './outcome.js'
import { RunFrames } from './own-handler.js'
import { checkProgress, ProgressGate, type ProgressSink } from './progress.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (this: JobContext, ...args: any[]) => unknown

export interface ResolvedFunction {
  handler: Handler | undefined
  /** Configured default channel (complete name), or null for 'root'. */
  channel: string | null
  retryPattern: RetryPattern | null
  timeoutMs: number | null
}

export interface FunctionLookup {
  resolve(model: string, method: string): ResolvedFunction
  /** Functions with a handler in this process, model -> methods: what the scheduler may start. */
  readonly registered: ReadonlyMap<string, ReadonlySet<string>>
}

/** `this` inside a handler. */
export class JobContext {
  private controller: AbortController | null = null
  private contextCache: Record<string, unknown> | null = null
  private viewCache: JobView | undefined
  /** @internal Where progress() reports: the runner's try of a stored job; null elsewhere. */
  progressSink: ProgressSink | null = null
  /** @internal Told when a sleep on a FakeClock starts and ends: drain() may jump the clock at
   * once for a try that sleeps (see Runner.awake). Null outside a stored job's try. */
  sleepWatch: SleepWatch | null = null
  /** @internal The latest progress() on this context (no-delay mode's view holds it). */
  lastProgress: JobProgress | null = null

  constructor(
    readonly records: RecordId[],
    private readonly baseContext: Record<string, unknown>,
    private readonly clock: Clock,
    private readonly jobRecord: JobRecord | null,
    /** The job as it runs when there is no record of it (trapJobs, no-delay mode). */
    view?: JobView,
  ) {
    this.viewCache = view
  }

  /** Allow-listed context of the job, plus `jobUuid` inside a job. */
  get context(): Record<string, unknown> {
    if (this.contextCache === null) {
      this.contextCache =
        this.jobRecord === null ? { ...this.baseContext } : { ...this.baseContext, jobUuid: this.jobRecord.uuid }
    }
    return this.contextCache
  }

  /** The job as it was when this try started (undefined for a direct call; trapJobs and no-delay
   * mode give the job they run, started). */
  get job(): JobView | undefined {
    if (this.viewCache === undefined && this.jobRecord !== null) this.viewCache = toJobView(this.jobRecord)
    return this.viewCache
  }

  /** Aborted when the job's timeoutMs passes. */
  get signal(): AbortSignal {
    if (this.controller === null) this.controller = new AbortController()
    return this.controller.signal
  }

  /** The engine's clock: with a FakeClock, simulated time. */
  now(): number {
    return this.clock.now()
  }

  /** Resolves after `ms` of clock time; rejects at once when the try's signal aborts (a timeout,
   * cancel, requeue, setDone, close's timeout), whether or not the handler ever read `signal`. */
  sleep(ms: number): Promise<void> {
    // The signal, not the controller: the controller is made lazily, and a sleep begun before it
    // exists must still follow it (else a superseded try sleeps on, holding its slots).
    const signal = this.signal
    // Only a FakeClock needs to know who sleeps on it; any other clock keeps its own sleep.
    if (this.sleepWatch !== null && this.clock instanceof FakeClock) return sleepOn(this.clock, ms, signal, this.sleepWatch)
    return this.clock.sleep(ms, signal)
  }

  /**
   * Say how far this try got: `fraction` from 0 to 1 (else InvalidPropertyError), an optional
   * `message` (cut at 1,000 characters). It becomes JobView.progress, written at most once per
   * 100 ms of clock time — the latest value is written when that time has passed or the try ends.
   * Each try starts at null. Outside a stored job (a direct call, no-delay mode) it is checked
   * and kept on this context only.
   */
  progress(fraction: number, message?: string): void {
    const progress = checkProgress(fraction, message)
    this.lastProgress = progress
    this.progressSink?.report(progress)
  }

  /** @internal */
  abort(reason: unknown): void {
    if (this.controller === null) this.controller = new AbortController()
    this.controller.abort(reason)
  }
}

/** One try of one job, from launch until its outcome is decided (or it timed out). */
class Attempt implements ProgressSink, SleepWatch {
  decided = false
  async = false
  /** Sleeps of this try waiting on their timer (a handler may sleep in parallel). */
  sleeping = 0
  /** Made on the first progress report: most handlers report none. */
  progress: ProgressGate | null = null
  constructor(
    readonly runner: Runner,
    readonly job: JobRecord,
    readonly run: number,
    readonly retryPattern: RetryPattern | null,
    readonly context: JobContext,
    readonly deadlineMs: number | null,
    readonly timeoutMs: number | null,
  ) {}
  /** The slot of the frames that call and await its handler (own-handler.ts), until its promise settled. */
  slot = -1

  report(progress: JobProgress): void {
    this.runner.reportProgress(this, progress)
  }

  asleep(): void {
    this.sleeping++
  }

  awake(): void {
    this.sleeping--
  }
}

/** A try whose handler made a call (Runner.callers): what idle() and stop() do not wait for. */
export type HandlerTry = Attempt

/** Tells runners apart in the frame names of their tries (one process may run many Wharfs). */
let runners = 0

export class Runner {
  /** Async handlers whose outcome is not decided yet. */
  inflight = 0
  /** The named frames handlers run in, whose calls callers() can tell. */
  private readonly frames = new RunFrames<Attempt>(++runners)
  private timed: Attempt[] = []
  /** The latest async try of each job whose outcome is not decided: what abort() can reach. */
  private readonly live = new Map<string, Attempt>()
  /** Those same async attempts, so close({ timeoutMs }) can abandon them. */
  private readonly pending = new Set<Attempt>()
  /** Tries holding a progress value until their write interval ends. */
  private readonly holding = new Set<Attempt>()
  /** Told of each try that timed out (telemetry); null when nobody asked. */
  timeoutListener: ((uuid: string) => void) | null = null

  constructor(
    private readonly engine: Engine,
    private readonly functions: FunctionLookup,
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {}

  /** Run `run` of `job` (its run number when the start was decided: a later tick may have
   * started it again before this one's batch was durable, and the outcome must name this run). */
  launch(job: JobRecord, run: number): void {
    const fn = this.functions.resolve(job.model, job.method)
    exposedPayloads(job) // a handler must not change the stored job (frozen-payload.ts)
    const context = new JobContext(job.records, job.context, this.clock, job)
    const deadlineMs = fn.timeoutMs === null ? null : this.clock.now() + fn.timeoutMs
    const attempt = new Attempt(this, job, run, fn.retryPattern, context, deadlineMs, fn.timeoutMs)
    context.progressSink = attempt
    context.sleepWatch = attempt
    if (fn.handler === undefined) {
      this.decide(attempt, {
        kind: 'failed',
        excName: 'UnknownJobFunctionError',
        excMessage: `no handler registered for ${job.model}.${job.method}: call wharf.model('${job.model}', { ${job.method}() {…} }) before start()`,
        excInfo: '',
      })
      return
    }
    // Called and awaited by frames named after a slot it holds: its calls say whose they are (callers()).
    const slot = (attempt.slot = this.frames.take(attempt))
    const frame = this.frames.frame(slot)
    let returned: unknown
    let then: unknown
    try {
      returned = frame.call(fn.handler, context, job.args)
      // Read once, as await does: a `then` getter that throws fails the try like a throw.
      then = returned !== null && (typeof returned === 'object' || typeof returned === 'function') ? (returned as PromiseLike<unknown>).then : undefined
    } catch (error) {
      this.freeSlot(attempt)
      this.decide(attempt, outcomeOfError(error))
      return
    }
    if (typeof then !== 'function') {
      this.freeSlot(attempt)
      this.decide(attempt, outcomeOfValue(returned))
      return
    }
    attempt.async = true
    this.inflight++
    this.live.set(job.uuid, attempt)
    this.pending.add(attempt)
    if (deadlineMs !== null) this.timed.push(attempt)
    // A native promise (an async handler's) is awaited, which reads no `then`, in the named frame:
    // V8 follows an await, not a then(). Another thenable is followed as await would follow it.
    if (then === Promise.prototype.then && Object.getPrototypeOf(returned) === Promise.prototype) {
      void frame.wait(returned as Promise<unknown>, this.awaited, attempt)
      return
    }
    // (Not followed in a named frame: its calls after the first await are not told apart.)
    this.freeSlot(attempt)
    try {
      ;(then as PromiseLike<unknown>['then']).call(
        returned,
        (value) => this.decide(attempt, outcomeOfValue(value)),
        (error) => this.decide(attempt, outcomeOfError(error)),
      )
    } catch (error) {
      // A thenable's then() that throws rejects it, as await would have it (unless it settled first).
      this.decide(attempt, outcomeOfError(error))
    }
  }

  /** The tries, not decided yet, whose handler made the current call (before its first await or
   * after, through async functions of its own): see own-handler.ts. Usually none. */
  callers(): HandlerTry[] {
    return this.frames.onStack().filter((attempt) => !attempt.decided)
  }

  /** A wait frame's end: the handler's promise settled (its try may be decided already). */
  private readonly awaited = (attempt: Attempt, ok: boolean, valueOrError: unknown): void => {
    this.freeSlot(attempt)
    this.decide(attempt, ok ? outcomeOfValue(valueOrError) : outcomeOfError(valueOrError))
  }

  private freeSlot(attempt: Attempt): void {
    this.frames.release(attempt.slot)
    attempt.slot = -1
  }

  /** Async handlers whose outcome is not decided, but for `except`'s. */
  inflightBut(except: readonly HandlerTry[]): number {
    let own = 0
    for (const attempt of except) if (this.pending.has(attempt)) own++
    return this.inflight - own
  }

  /** Async handlers running and not asleep on the clock in JobContext.sleep: doing real I/O, or
   * waiting some other way. Counted when asked (drain() asks once per event-loop turn). */
  awake(): number {
    let awake = 0
    for (const attempt of this.pending) if (attempt.sleeping === 0) awake++
    return awake
  }

  nextDeadline(): number | null {
    let next: number | null = null
    for (const a of this.timed) if (next === null || a.deadlineMs! < next) next = a.deadlineMs!
    for (const a of this.holding) if (next === null || a.progress!.dueMs() < next) next = a.progress!.dueMs()
    return next
  }

  /** Write the progress held past its interval; abort every handler whose timeout has passed
   * (the try counts as a retryable failure). */
  expireDeadlines(): void {
    const now = this.clock.now()
    for (const attempt of [...this.holding]) if (attempt.progress!.dueMs() <= now) this.flushProgress(attempt)
    if (this.timed.length === 0) return
    for (const attempt of this.timed.filter((a) => a.deadlineMs! <= now)) this.decide(attempt, this.timedOut(attempt))
  }

  /** A handler reported progress (checked): write it, or hold it for its interval (see progress.ts). */
  reportProgress(attempt: Attempt, progress: JobProgress): void {
    if (attempt.decided) return // the try is over: its outcome, after its last write, is posted
    const gate = (attempt.progress ??= new ProgressGate())
    const write = gate.offer(progress, this.clock.now())
    if (write !== null) this.postProgress(attempt, write)
    if (gate.held === null) this.holding.delete(attempt)
    else if (!this.holding.has(attempt)) {
      this.holding.add(attempt)
      this.engine.deadlinesMoved() // the one timer must wake for its write
    }
  }

  /** Write what the try holds now (its interval passed, or it ends). */
  private flushProgress(attempt: Attempt): void {
    if (attempt.progress === null) return
    this.holding.delete(attempt)
    const progress = attempt.progress.flush(this.clock.now())
    if (progress !== null) this.postProgress(attempt, progress)
  }

  private postProgress(attempt: Attempt, progress: JobProgress): void {
    this.engine.post({ type: 'progress', uuid: attempt.job.uuid, run: attempt.run, fraction: progress.fraction, message: progress.message })
  }

  /** Abort the try's signal and make its outcome the timeout's: retryable, as queue_job's. */
  private timedOut(attempt: Attempt): HandlerOutcome {
    const { job, timeoutMs } = attempt
    const error = new JobTimeoutError(`${job.model}.${job.method} ran longer than its timeoutMs (${timeoutMs} ms)`)
    attempt.context.abort(error)
    this.timeoutListener?.(job.uuid)
    return { kind: 'retryable', message: error.message, seconds: undefined, ignoreRetry: false, excName: error.name, excInfo: error.stack ?? '' }
  }

  /**
   * The job of this run was cancelled, requeued or set done while its handler ran: abort its
   * signal. The handler still holds its slots until it settles; its outcome is then ignored.
   */
  abort(uuid: string, run: number, reason: unknown): void {
    const attempt = this.live.get(uuid)
    if (attempt !== undefined && attempt.run === run) attempt.context.abort(reason)
  }

  /** A handler of `uuid` runs here (async, outcome not decided yet). */
  isLive(uuid: string): boolean {
    return this.live.has(uuid)
  }

  /** The jobs with a handler running here (async, outcome not decided yet). */
  liveJobs(): string[] {
    return [...this.live.keys()]
  }

  /** Abort the handler of `uuid` unless its run is `run` (-1: none is the job's any more). */
  abortUnless(uuid: string, run: number, reason: unknown): void {
    const attempt = this.live.get(uuid)
    if (attempt !== undefined && attempt.run !== run) attempt.context.abort(reason)
  }

  /**
   * Give up on every handler still running (close's timeout): its signal aborts with `reason` and
   * its outcome, if it ever settles, is ignored. Nothing is posted, so its job stays started in
   * the log and the next open recovers it, as after a crash.
   */
  abandonAll(reason: unknown): void {
    for (const attempt of [...this.pending]) {
      this.settle(attempt)
      attempt.context.abort(reason)
    }
    this.holding.clear()
    this.inflight = 0
  }

  /** The first outcome of a try wins; a handler settling after its timeout is ignored. */
  private decide(attempt: Attempt, outcome: HandlerOutcome): void {
    if (attempt.decided) return
    // A handler that blocked the event loop past its deadline settles before the timer that
    // would have expired it can fire: it still ran too long, so its outcome is the timeout's.
    if (attempt.deadlineMs !== null && this.clock.now() > attempt.deadlineMs) outcome = this.timedOut(attempt)
    // The try's latest progress goes first: it is written while the job is still started.
    this.flushProgress(attempt)
    this.settle(attempt)
    this.engine.post({
      type: 'finish',
      uuid: attempt.job.uuid,
      run: attempt.run,
      outcome,
      retryPattern: attempt.retryPattern,
      entropy: this.random(),
    })
    if (attempt.async && --this.inflight === 0) this.engine.handlersQuiet()
  }

  private settle(attempt: Attempt): void {
    attempt.decided = true
    if (!attempt.async) return
    this.pending.delete(attempt)
    if (attempt.deadlineMs !== null) this.timed.splice(this.timed.indexOf(attempt), 1)
    if (this.live.get(attempt.job.uuid) === attempt) this.live.delete(attempt.job.uuid)
  }
}
