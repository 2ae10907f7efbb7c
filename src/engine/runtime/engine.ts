// The imperative shell around the pure core. It runs in ticks: each tick takes every queued
// command, decides and applies them one after another, lets the scheduler pick what can start,
// appends ALL resulting events to the log as one batch (group commit), and only then resolves
// callers and launches handlers. One clock timer, for the next wake-up, never one per job.

import type { Command } from '../core/commands.js'
import { decideInto, type DecideNote } from '../core/decide.js'
import { evolve, fold } from '../core/evolve.js'
import type { WharfEvent } from '../core/events.js'
import { initialState } from '../core/channels.js'
import type { ChannelConfig } from '../core/channel-config.js'
import { nextWakeMs, pickNext } from '../core/schedule.js'
import type { JobRecord, State } from '../core/state.js'
import type { EventLog } from '../../storage/event-log.js'
import { WharfClosedError } from '../errors.js'
import type { Clock, TimerHandle } from './clock.js'
import { Runner, type FunctionLookup } from './runner.js'

export type Lifecycle = 'stopped' | 'running' | 'stopping' | 'closed'

/** Turns a committed decision into what the caller's promise resolves with (a static
 * function, so a submission costs no closure of its own). */
export type ResultOf<T> = (note: DecideNote, command: Command, state: State) => T

interface Submission {
  command: Command
  resolve: ((value: unknown) => void) | null
  reject: ((error: unknown) => void) | null
  result: ResultOf<unknown> | null
}

const NO_RESULT: ResultOf<undefined> = () => undefined

type Waiter = { idle: boolean; resolve: () => void }

export interface EngineOptions {
  log: EventLog
  clock: Clock
  channels: readonly ChannelConfig[]
  functions: FunctionLookup
  /** Uniform [0, 1) source for retry-delay ranges; injectable for simulations. */
  random: () => number
}

export class Engine {
  state: State
  lifecycle: Lifecycle = 'stopped'
  readonly clock: Clock
  private readonly log: EventLog
  private readonly config: readonly ChannelConfig[]
  private readonly runner: Runner
  private queue: Submission[] = []
  /** Handler outcomes: internal commands nobody awaits, decided before the tick's API calls. */
  private outcomes: Command[] = []
  /** Reused for every start: decide reads it and keeps nothing. */
  private readonly startCommand = { type: 'start' as const, uuid: '' }
  private tickScheduled = false
  private ticking = false
  private waiters: Waiter[] = []
  private timer: TimerHandle | null = null
  private readonly listeners = new Set<(event: WharfEvent) => void>()

  private constructor(options: EngineOptions, state: State) {
    this.log = options.log
    this.clock = options.clock
    this.config = options.channels
    this.state = state
    this.runner = new Runner(this, options.functions, options.clock, options.random)
  }

  /** Open the log and rebuild the state by replaying it. */
  static async open(options: EngineOptions): Promise<Engine> {
    await options.log.open()
    const state = await replay(options.log, options.channels)
    return new Engine(options, state)
  }

  /**
   * Queue a command; once its events are durable and applied, resolves with `result` of its
   * decision (or rejects with the core's refusal, or the log's error).
   */
  submit<T = undefined>(command: Command, result?: ResultOf<T>): Promise<T> {
    if (this.lifecycle === 'closed') return Promise.reject(new WharfClosedError('this Wharf is closed'))
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ command, resolve: resolve as (value: unknown) => void, reject, result: result ?? NO_RESULT })
      this.scheduleTick()
    })
  }

  /** Queue an internal command nobody waits for (handler outcomes). */
  post(command: Command): void {
    if (this.lifecycle === 'closed') return
    this.outcomes.push(command)
    this.scheduleTick()
  }

  onEvent(listener: (event: WharfEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  start(): void {
    if (this.lifecycle === 'closed') throw new WharfClosedError('this Wharf is closed')
    this.lifecycle = 'running'
    this.scheduleTick()
  }

  /** Stop dispatching; resolves when no handler is running and every queued command is applied. */
  async stop(): Promise<void> {
    if (this.lifecycle === 'closed') return
    if (this.lifecycle === 'running') this.lifecycle = 'stopping'
    this.clearTimer()
    await this.idle()
    if (this.lifecycle === 'stopping') this.lifecycle = 'stopped'
    this.clearTimer()
  }

  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return
    await this.stop()
    this.lifecycle = 'closed'
    this.clearTimer()
    await this.log.close()
  }

  /** Every call so far is committed and applied, and everything startable now has started. */
  settled(): Promise<void> {
    return this.wait(false)
  }

  /** settled, and no handler is running. */
  idle(): Promise<void> {
    return this.wait(true)
  }

  /** No command is queued and no tick is pending or running. */
  get quiet(): boolean {
    return this.isQuiet(false)
  }

  get runningHandlers(): number {
    return this.runner.inflight
  }

  /** Next instant at which something is due: the scheduler's wake-up or a handler's timeout. */
  nextWakeMs(): number | null {
    const now = this.clock.now()
    const core = this.lifecycle === 'running' ? nextWakeMs(this.state, now) : null
    const timeout = this.runner.nextDeadline()
    if (core === null) return timeout
    if (timeout === null) return core
    return Math.min(core, timeout)
  }

  private wait(idle: boolean): Promise<void> {
    if (this.isQuiet(idle)) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ idle, resolve }))
  }

  private isQuiet(idle: boolean): boolean {
    if (this.ticking || this.tickScheduled || this.queue.length > 0 || this.outcomes.length > 0) return false
    return !idle || this.runner.inflight === 0
  }

  private scheduleTick(): void {
    if (this.tickScheduled || this.ticking) return
    this.tickScheduled = true
    // setImmediate rather than a microtask: calls made in the same turn share a tick (group
    // commit), and a long burst of ticks still lets timers and I/O run between them.
    setImmediate(() => void this.tick())
  }

  private async tick(): Promise<void> {
    this.tickScheduled = false
    if (this.ticking) return
    this.ticking = true
    const submissions = this.queue
    this.queue = []
    const outcomes = this.outcomes
    this.outcomes = []
    const now = this.clock.now()
    const batch: WharfEvent[] = []
    for (let i = 0; i < outcomes.length; i++) {
      const from = batch.length
      decideInto(this.state, outcomes[i]!, now, batch)
      for (let j = from; j < batch.length; j++) this.apply(batch[j]!)
    }
    const notes: DecideNote[] = new Array(submissions.length)
    for (let i = 0; i < submissions.length; i++) {
      const from = batch.length
      notes[i] = decideInto(this.state, submissions[i]!.command, now, batch)
      for (let j = from; j < batch.length; j++) this.apply(batch[j]!)
    }
    const toLaunch = this.lifecycle === 'running' ? this.dispatch(now, batch) : []
    if (batch.length > 0) {
      try {
        await this.log.append(batch)
      } catch (error) {
        await this.rollback(submissions, error)
        return
      }
    }
    for (let i = 0; i < submissions.length; i++) {
      const submission = submissions[i]!
      if (submission.resolve === null) continue
      const note = notes[i]
      if (note !== undefined && 'error' in note) submission.reject!(note.error)
      else {
        try {
          submission.resolve(submission.result!(note, submission.command, this.state))
        } catch (error) {
          submission.reject!(error)
        }
      }
    }
    if (this.listeners.size > 0) this.emit(batch)
    for (let i = 0; i < toLaunch.length; i++) this.runner.launch(toLaunch[i]!)
    this.ticking = false
    this.armTimer()
    if (this.queue.length > 0 || this.outcomes.length > 0) this.scheduleTick()
    else this.wakeWaiters()
  }

  /** Stamp and apply one event already in the batch. */
  private apply(event: WharfEvent): void {
    event.seq = this.state.seq + 1
    evolve(this.state, event)
  }

  /** Let the scheduler take every job that can start now; start each at once. */
  private dispatch(now: number, batch: WharfEvent[]): JobRecord[] {
    const launched: JobRecord[] = []
    const start = this.startCommand
    for (;;) {
      const event = pickNext(this.state, now)
      if (event === null) break
      batch.push(event)
      this.apply(event)
      if (event.type === 'job.enqueued') {
        const from = batch.length
        start.uuid = event.uuid
        decideInto(this.state, start, now, batch)
        for (let j = from; j < batch.length; j++) this.apply(batch[j]!)
        launched.push(this.state.jobs.get(event.uuid)!)
      }
    }
    return launched
  }

  /**
   * The batch was not written: the in-memory state ran ahead of the log. Rebuild it from the log
   * (the truth), refuse every caller of this tick, and launch nothing.
   */
  private async rollback(submissions: Submission[], error: unknown): Promise<void> {
    try {
      this.state = await replay(this.log, this.config)
    } finally {
      for (const submission of submissions) submission.reject?.(error)
      this.ticking = false
      this.armTimer()
      if (this.queue.length > 0 || this.outcomes.length > 0) this.scheduleTick()
      else this.wakeWaiters()
    }
  }

  private emit(batch: readonly WharfEvent[]): void {
    for (const event of batch) {
      for (const listener of this.listeners) {
        try {
          listener(event)
        } catch {
          // A listener's bug must not stop the engine; it sees the event and nothing else.
        }
      }
    }
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return
    const waiting = this.waiters
    this.waiters = []
    for (const waiter of waiting) {
      if (this.isQuiet(waiter.idle)) waiter.resolve()
      else this.waiters.push(waiter)
    }
  }

  /** Called by the runner when its last handler settles without queuing a command. */
  handlersQuiet(): void {
    if (!this.ticking && !this.tickScheduled && this.queue.length === 0 && this.outcomes.length === 0) this.wakeWaiters()
  }

  private armTimer(): void {
    if (this.lifecycle === 'closed') return
    const wake = this.nextWakeMs()
    if (this.timer !== null && wake === this.timer.dueMs) return
    this.clearTimer()
    if (wake === null) return
    this.timer = this.clock.setTimer(wake, () => {
      this.timer = null
      this.runner.expireDeadlines()
      this.scheduleTick()
      return this.settled()
    })
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.clock.clearTimer(this.timer)
      this.timer = null
    }
  }
}

async function replay(log: EventLog, channels: readonly ChannelConfig[]): Promise<State> {
  const state = initialState(channels)
  for await (const batch of log.read(0)) fold(state, batch)
  return state
}
