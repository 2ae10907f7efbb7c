// The imperative shell around the pure core. It runs in ticks: each tick takes every queued
// command, has the core decide the whole tick (runTick: commands, then what starts), appends ALL
// resulting events to the log as one batch (group commit), and only once that batch is durable
// resolves callers, aborts and launches handlers as the core said. One clock timer, for the next
// wake-up, never one per job.
//
// Appends are pipelined: the next tick is decided while the batch before it is being written,
// and its write starts once that one is durable (so the log is written in order; on a log that
// orders overlapping appends itself, at once: EventLog.overlapsAppends), at most
// APPENDS_IN_FLIGHT_MAX ticks ahead. Batches commit, and their callers are answered, strictly in
// order. A lost batch loses every batch after it too; the state is rebuilt from the log before
// anything else is decided. Ticks that read history or snapshot the state wait for the log to
// hold everything decided.
//
// This file is the tick loop, the lifecycle and the engine's public surface. What they drive
// lives beside it, one concern a file: submissions.ts (the tick's inputs and their callers),
// tick-decider.ts (the call into the core), readers.ts (reads of committed state), waiters.ts
// (settled/idle), listeners.ts, wake-timer.ts, maintenance.ts (snapshots, autovacuum) and
// engine-open.ts (replay and recovery at open).

import type { ChannelConfig } from '../core/channel-config.js'
import type { Command, HandlerOutcome } from '../core/commands.js'
import { APPENDS_IN_FLIGHT_MAX } from '../core/limits.js'
import { checkInvariants } from '../core/invariants.js'
import { nextWakeMs } from '../core/schedule.js'
import type { JobRecord, State } from '../core/state.js'
import type { WharfEvent } from '../core/events.js'
import { fold } from '../core/evolve.js'
import { configureChannels } from '../core/channels.js'
import type { TickOutput } from '../core/tick.js'
import type { RegisteredFunctions } from '../core/schedule.js'
import type { Worker } from '../core/workers.js'
import { JobSupersededError, SchedulerDeposedError, WharfClosedError } from '../errors.js'
import type { EventLog } from '../../storage/event-log.js'
import { NO_HISTORY_WRITE, type HistoryStore, type HistoryWrite } from '../../storage/history.js'
import type { Clock } from './clock.js'
import { openAndReplay, openReportOf, recoverAll, type Recovered } from './engine-open.js'
import { dropHistoryWrite, hydrate, needsHistory, takeHistoryWrite, vacuumedViews } from './history-io.js'
import { Listeners, type Listener } from './listeners.js'
import type { IntegrityReport } from './history-scrubber.js'
import { Maintenance } from './maintenance.js'
import { CommittedReads } from './readers.js'
import { replay, type OpenReport } from './replay.js'
import { Runner, type FunctionLookup, type HandlerTry } from './runner.js'
import { TickAnswers } from './tick-answers.js'
import { Appends, type CronTrap, type Pending } from './appends.js'
import { CallQueue, OutcomeQueue, type ResultOf, type Submission } from './submissions.js'
import { TickDecider } from './tick-decider.js'
import { Waiters, type Quietness } from './waiters.js'
import { clusterCanStart, clusterRuns, clusterWakeMs } from './cluster-quiet.js'
import { divertFires, dueCronFires, type CronFiringDeps } from './cron-firing.js'
import { CronTimes } from './cron-times.js'
import { ulidFactory, type IdFactory } from './ids.js'
import { TickLinger } from './tick-linger.js'
import { earliest, SpinGuard, WakeTimer } from './wake-timer.js'
import { processWarning, type Warn } from './warnings.js'
import { isRunOf, unlaunchedRuns, WorkerRuns } from './worker-runs.js'

// Moved out of this file with the concerns they belong to; importers keep this path.
export { VACUUM_INTERVAL_MS } from './maintenance.js'
export type { OpenReport } from './replay.js'
export type { IntegrityReport, IntegrityStatus } from './history-scrubber.js'
export type { ResultOf } from './submissions.js'

export type Lifecycle = 'stopped' | 'running' | 'stopping' | 'closed'

export interface EngineOptions {
  log: EventLog
  clock: Clock
  channels: readonly ChannelConfig[]
  functions: FunctionLookup
  /** Uniform [0, 1) source for retry-delay ranges; injectable for simulations. */
  random: () => number
  /** Autovacuum of done/cancelled jobs, in days (a channel's remove_after_days wins). */
  removeAfterDays: number
  /** Write a snapshot (and compact the log under it) after this many events; 0 = never. */
  snapshotEvery: number
  /** And at least this many events per live job (0: snapshotEvery alone); see Maintenance. */
  snapshotEventsPerLiveJob?: number
  /** Uuids come from a custom newId: each enqueue is checked against history for reuse. */
  customIds?: boolean
  /** Read all of history once after open, checking it (history-scrubber.ts). Default false. */
  scrubHistory?: boolean
  /** Where warnings go (default: process.emitWarning). */
  warn?: Warn
  /** Ids of the jobs crons store (default: monotonic ULIDs of `clock`). */
  newId?: IdFactory
  /**
   * A cluster (runtime/cluster.ts): asked once the log is open; a Remote makes this engine a
   * follower — no recovery, no ticks, calls sent to the scheduler — until promote().
   */
  remote?: () => Remote | null
  /** A cluster's scheduler at open: the workers alive, whose runs recovery leaves running. */
  liveWorkers?: () => Promise<readonly string[]>
  /** A cluster: the channel configuration the state is rebuilt under, asked once the log is open
   * (the one the current term's scheduler published: a scheduler then puts `channels` in its
   * place before it decides anything, as a follower taking over does); default `channels`. */
  stateChannels?: () => readonly ChannelConfig[]
}

/** Where a follower's calls go (the scheduler's inbox), and how many wait for their answer. */
export interface Remote {
  submit(command: Command, result: ResultOf<unknown> | undefined): Promise<unknown>
  /** A command nobody awaits an answer to (a handler's outcome, progress): resolves once posted. */
  send(command: Command): Promise<void>
  readonly pending: number
  /** The engine closes: refuse the calls still waiting. */
  close(): void
  /** Resolves once the replica holds every batch the log held when this was called. */
  caughtUp(): Promise<void>
}

/** After a failed append, the engine tries again what that tick lost at most this much later. */
export const APPEND_RETRY_MS = 1000

/** A cluster follower posts an outcome again when its run is still its own this long after (the
 * post, committed without waiting for the disk, was lost with the server's last moments). */
export const OUTCOME_REPOST_MS = 10_000

export class Engine {
  state: State
  lifecycle: Lifecycle = 'stopped'
  readonly clock: Clock
  openReport: OpenReport = { snapshotSeq: 0, replayedEvents: 0, jobs: 0, requeued: 0, foundDead: 0, vacuumed: 0, openMs: 0 }
  /** Changes each time a committed batch changed history: a read that spans an await checks it. */
  historyEpoch = 0
  private readonly historyReads = new Set<Promise<unknown>>()
  private readonly log: EventLog
  /** The channel configuration the state is under (a cluster member's: its scheduler's). */
  private config: readonly ChannelConfig[]
  private readonly customIds: boolean
  private readonly runner: Runner
  private readonly functions: FunctionLookup
  // What the tick drives, one concern each (see the top of this file).
  private readonly queue = new CallQueue()
  private readonly answers = new TickAnswers(this.queue, () => this.wakeWaiters())
  private readonly outcomes = new OutcomeQueue()
  private readonly decider: TickDecider
  private readonly reads = new CommittedReads()
  private readonly waiters = new Waiters((level, except) => this.isQuiet(level, except))
  private readonly listeners: Listeners
  private readonly timer: WakeTimer
  private readonly linger: TickLinger
  private readonly spin = new SpinGuard()
  private readonly maintenance: Maintenance
  // The tick loop's own state.
  private tickScheduled = false
  /** A tick is being decided (its append is not part of it: see `appends`). */
  private ticking = false
  /** Decided ticks whose batches are being written, committed in order (appends.ts). */
  private readonly appends: Appends
  /** Something asked for a tick while one was in flight (start, a timer, a registration…): that
   * tick may have decided before the change, so the next one must run even with nothing queued. */
  private wantTick = false
  /** A tick was wanted during one for a reason the queues do not show (a timer, start()). */
  private wantUrgent = false
  /** The last tick stopped dispatching at TICK_STARTS_MAX: the next one goes on at once. */
  private dispatchCut = false
  /** When the engine last started running: catchUp 'none' skips firings missed before. */
  private runningSinceMs = 0
  /** The shell's half of cron firings: calendar and job ids (the core only checks the times). */
  readonly cronTimes = new CronTimes()
  private readonly cronDeps: CronFiringDeps
  /** @internal Set while the Wharf is trapped (trapJobs): firings' jobs go there, not to the log. */
  cronTrap: CronTrap | null = null
  /** After a lost batch, when to wake up for the tick that decides its parked outcomes again if
   * nothing else comes first (null: nothing to retry). */
  private retryAtMs: number | null = null
  /** Why the state could not be rebuilt after a lost batch: the log was unreachable (a server
   * away). Each tick tries again before it decides; undefined while the state is the log's. */
  private unreachable: unknown = undefined
  private logOpen = true
  /** A follower's link to the scheduler (null: this engine decides). */
  private remote: Remote | null = null
  /** In a cluster (runtime/cluster.ts): this member's worker id, the workers the scheduler
   * dispatches to (set on every member, read only while it decides), and whom to tell when what
   * this member may run changes. null when embedded. */
  private cluster: { workerId: string; pool: readonly Worker[]; workChanged: () => void } | null = null
  /** A cluster follower's runs launched here (worker-runs.ts): what resync() reconciles. */
  private readonly workerRuns = new WorkerRuns()
  /** A cluster follower's outcomes posted (without a reply) whose runs its replica still shows
   * its own, by `<uuid> <run>`, and when each was posted: idle() waits until the state it reads
   * has them, as an embedded one's does, and repostOutcomes() posts again those that linger. */
  private readonly sentOutcomes = new Map<string, { command: Extract<Command, { type: 'finish' }>; atMs: number }>()
  /** close({ timeoutMs }) abandoned running handlers: their runs stay started (launchedRunsEnded). */
  private handlersAbandoned = false
  /** Why the engine stopped for good, if it did (see fail()). */
  private fatal: unknown = undefined
  /** Told once, when the engine closes or fails: whoever waits for it to do something. */
  private readonly closedListeners = new Set<(why: unknown) => void>()

  private constructor(options: EngineOptions, state: State, config: readonly ChannelConfig[]) {
    this.state = state
    this.clock = options.clock
    this.log = options.log
    this.config = config
    this.customIds = options.customIds ?? false
    this.runner = new Runner(this, options.functions, options.clock, options.random)
    this.functions = options.functions
    this.listeners = new Listeners(options.warn)
    this.decider = new TickDecider(options.functions.registered, this.queue.answer, (cron, afterMs) => this.cronTimes.nextAfter(cron.schedule, cron.tz, afterMs))
    this.timer = new WakeTimer(options.clock, () => this.wake())
    this.linger = new TickLinger(options.log.lingerMs ?? 0, () => this.scheduleTick())
    this.maintenance = new Maintenance(this, options) // reads this.state: set above
    const functions = options.functions
    this.cronDeps = {
      times: this.cronTimes,
      newId: options.newId ?? ulidFactory(options.clock),
      channelOf: (model, method) => functions.resolve(model, method).channel,
      warn: options.warn ?? processWarning,
    }
    const engine = this
    this.appends = new Appends(
      {
        write: (tick) => this.writeTick(tick),
        overlaps: options.log.overlapsAppends === true && options.log.appendDurable === undefined,
        committed: (tick) => this.commitTick(tick),
        lost: (ticks, error) => this.loseTicks(ticks, error),
        recovered: () => this.afterAppends(),
        get failed() {
          return engine.fatal !== undefined
        },
      },
      (error) => this.fail(error),
    )
  }

  /**
   * Open the log, rebuild the state (latest snapshot + the events after it), audit it, and
   * record the recovery of every job a dead process left enqueued or started — all before
   * anything can be dispatched, so no slot is ever held by a dead job.
   */
  static async open(options: EngineOptions): Promise<Engine> {
    const startedMs = options.clock.now()
    const replayed = await openAndReplay(options.log, options.channels, options.stateChannels)
    const engine = new Engine(options, replayed.state, replayed.channels)
    engine.remote = options.remote?.() ?? null
    if (engine.remote !== null) {
      engine.openReport = openReportOf(replayed, { requeued: 0, foundDead: 0 }, 0, options.clock.now() - startedMs)
      return engine
    }
    let vacuumed: number
    let recovered: Recovered
    try {
      // A cluster's scheduler: its own configuration, in place of the one it rebuilt the state
      // under (the state only: nothing may tick before the recovery).
      if (replayed.channels !== options.channels) {
        configureChannels(engine.state, options.channels)
        engine.config = options.channels
      }
      const live = await options.liveWorkers?.()
      recovered = await recoverAll(engine, live)
      // Nothing runs now (but a cluster's live workers' runs, see promote()): every rule holds
      // again, capacity included (see InvariantOptions).
      checkInvariants(engine.state, { leftRunning: live !== undefined })
      vacuumed = await engine.vacuum()
    } catch (error) {
      // Recovery could not be written (the log refused an append): nothing was dispatched, so
      // release the log as a failed replay does — a retry must not find a LevelDB path locked.
      engine.lifecycle = 'closed'
      engine.timer.clear()
      await options.log.close()
      throw error
    }
    engine.openReport = openReportOf(replayed, recovered, vacuumed, options.clock.now() - startedMs)
    engine.maintenance.startScrub(options.scrubHistory === true)
    return engine
  }

  /** What the history scrub of this open found, once it has ended ('off' when there is none). */
  integrity(): Promise<IntegrityReport> {
    return this.maintenance.integrity()
  }

  /** Remove old done/cancelled jobs from history, one bounded batch per tick, until none is left. */
  vacuum(): Promise<number> {
    return this.maintenance.vacuum()
  }

  /**
   * Queue a command; once its events are durable and applied, resolves with `result` of its
   * decision (or rejects with the core's refusal, or the log's error).
   */
  submit<T = undefined>(command: Command, result?: ResultOf<T>): Promise<T> {
    if (this.lifecycle === 'closed') return Promise.reject(this.refusal())
    if (this.remote !== null) return this.remote.submit(this.remoteCommand(command), result as ResultOf<unknown> | undefined) as Promise<T>
    const promise = this.queue.submit(command, result)
    this.scheduleTick(false)
    return promise
  }

  /** A follower's call as the scheduler must decide it: uuids from this engine's custom newId
   * are checked against history there, whatever the scheduler's own ids are. */
  private remoteCommand(command: Command): Command {
    if (!this.customIds || (command.type !== 'enqueue' && command.type !== 'batch')) return command
    return { ...command, customIds: true }
  }

  /** Queue an internal command nobody waits for (handler outcomes). A follower's go to the
   * scheduler's inbox without a reply, posted again after a failure (a duplicate is dropped there,
   * by its run). */
  post(command: Command): void {
    if (this.lifecycle === 'closed') return
    if (this.remote !== null) {
      if (command.type === 'finish' && this.cluster !== null && isRunOf(this.state, command.uuid, command.run, this.cluster.workerId)) {
        this.sentOutcomes.set(`${command.uuid} ${command.run}`, { command, atMs: this.clock.now() })
      }
      this.remote.send(command).catch(() => {
        if (this.lifecycle !== 'closed') this.clock.setTimer(this.clock.now() + APPEND_RETRY_MS, () => this.post(command))
      })
      return
    }
    this.outcomes.push(command)
    this.scheduleTick(false)
  }

  /**
   * Answer a read from committed state only: at once between ticks, else as soon as the batch in
   * flight is durable (or rolled back, then from the state rebuilt from the log).
   */
  read<T>(read: (state: State) => T): Promise<T> {
    if (this.lifecycle === 'closed') return Promise.reject(this.refusal())
    return this.reads.read(this.state, read)
  }

  /** A follower: resolves once its replica holds every batch committed when this was called
   * (a read of history spanning its last batch checks it); null when this engine decides. */
  caughtUp(): Promise<void> | null {
    return this.remote === null ? null : this.remote.caughtUp()
  }

  /** A read of history that read memory before close() began: close() lets it end before the
   * store closes, rather than fail it with the store's own "not open". */
  reading<T>(read: Promise<T>): Promise<T> {
    this.historyReads.add(read)
    const forget = (): void => void this.historyReads.delete(read)
    read.then(forget, forget)
    return read
  }

  onEvent(listener: Listener): () => void {
    return this.listeners.add(listener)
  }

  /** `listener` is told the job of each try that ran past its timeoutMs, before its outcome is
   * posted (telemetry). One at a time: a later call replaces it. */
  onTryTimedOut(listener: ((uuid: string) => void) | null): void {
    this.runner.timeoutListener = listener
  }

  /** `listener` is called once when the engine has closed (close()) or failed, with what later
   * calls are refused with. Returns its removal. */
  onClosed(listener: (why: unknown) => void): () => void {
    this.closedListeners.add(listener)
    return () => this.closedListeners.delete(listener)
  }

  private notifyClosed(): void {
    const listeners = [...this.closedListeners]
    this.closedListeners.clear()
    for (const listener of listeners) listener(this.refusal())
  }

  /** The runner has something due sooner than the timer is set for (a held progress write). */
  deadlinesMoved(): void {
    this.armTimer()
  }

  /** A model registered job functions: jobs that waited for their handler may start now. */
  functionsRegistered(): void {
    this.cluster?.workChanged()
    if (this.dispatching) this.scheduleTick()
  }

  /**
   * Ticks start jobs: this engine runs (start()), or it is in a cluster, whose scheduler starts
   * jobs on the cluster's live workers whether or not it runs handlers itself (a web process that
   * only enqueues): the pool lists this member only while it runs (cluster-workers.ts).
   */
  private get dispatching(): boolean {
    return this.lifecycle === 'running' || (this.cluster !== null && this.lifecycle !== 'closed')
  }

  /**
   * Due crons fire: this engine runs (start()), or it is a cluster's scheduler — whichever member
   * the election made it, started or not, as it dispatches (else a cluster whose lease went to a
   * web process that only enqueues would fire none). A stopped embedded engine (a CLI reading the
   * store) and a follower store nothing.
   */
  private get firesCrons(): boolean {
    return this.lifecycle === 'running' || (this.cluster !== null && this.remote === null && this.lifecycle !== 'closed')
  }

  start(): void {
    if (this.lifecycle === 'closed') throw new WharfClosedError('this Wharf is closed')
    if (this.lifecycle !== 'running') this.runningSinceMs = this.clock.now()
    this.lifecycle = 'running'
    this.cluster?.workChanged()
    this.scheduleTick()
  }

  /** Stop dispatching; resolves when no handler is running and every queued command is applied.
   * `except`: the tries of the handlers that called it, which it does not wait for (they wait). */
  async stop(except: readonly HandlerTry[] = []): Promise<void> {
    if (this.lifecycle === 'closed') return
    if (this.lifecycle === 'running') this.lifecycle = 'stopping'
    this.cluster?.workChanged()
    // Re-arm rather than clear: no wake-up for etas any more, but the timeouts of the handlers
    // being waited for still apply (else a hung handler makes stop() wait for ever).
    this.armTimer()
    // Its own work, not the cluster's: another member's handlers are not this process's to wait for.
    this.linger.hurry()
    await this.waiters.wait('own-work', except)
    // A start() while this stop() waited made the engine run again: its timer carries its etas,
    // retries and timeouts from then on, and must stay armed.
    const now = this.lifecycle as Lifecycle // not as narrowed before the await: start() may have run
    if (now === 'running') return
    if (now === 'stopping') this.lifecycle = 'stopped'
    // Stopped, the timer is armed only for the deadlines of the handlers still running (`except`'s,
    // which called this stop()): clearing it left a hung one running for ever past its timeoutMs.
    this.armTimer()
  }

  async close(): Promise<void> {
    // After fail() the lifecycle is already closed but the storage may still be held (a LevelDB
    // lock): release it once, whatever brought the engine down.
    this.remote?.close()
    this.sentOutcomes.clear() // as the calls it refuses: close() waits for no answer from the scheduler
    if (this.lifecycle !== 'closed') await this.stop()
    this.lifecycle = 'closed'
    this.timer.clear()
    if (this.logOpen) {
      this.logOpen = false
      await this.maintenance.stopScrub()
      // After fail(), an append may still be running: let it end before the log closes; and the
      // reads of history already running (reading()).
      await this.appends.settled()
      await this.maintenance.snapshotLanded()
      await Promise.allSettled([...this.historyReads])
      await this.log.close()
    }
    this.notifyClosed()
  }

  /** Every call so far is committed and applied, and everything startable now has started (in a
   * cluster, wherever it runs: cluster-quiet.ts). */
  settled(): Promise<void> {
    this.linger.hurry()
    return this.waiters.wait('settled')
  }

  /** settled, and no handler is running (in a cluster, on any member) but `except`'s: the tries
   * of the handlers that called it, which wait for it. */
  idle(except: readonly HandlerTry[] = []): Promise<void> {
    this.linger.hurry()
    return this.waiters.wait('idle', except)
  }

  /** No command of this process is queued or waits for its answer, and no tick is pending or running. */
  get quiet(): boolean {
    return this.ownQuiet(false)
  }

  /** What the appends in flight write to history, oldest first (stats() counts it meanwhile). */
  get inFlight(): HistoryWrite[] {
    return this.appends.histories()
  }

  /** Ticks decided and not yet committed or lost (the simulator's pipeline faults read it). */
  get appendsInFlight(): number {
    return this.appends.size
  }

  /** Finished jobs that left memory (committed). */
  get history(): HistoryStore {
    return this.log.history
  }

  /** The tries of this engine's handlers that made the current call (Runner.callers). */
  callers(): HandlerTry[] {
    return this.runner.callers()
  }

  /** The jobs whose handler runs here (async, outcome not decided yet). */
  runningJobs(): string[] {
    return this.runner.liveJobs()
  }

  get runningHandlers(): number {
    return this.runner.inflight
  }

  /** Running handlers not asleep on the clock (see Runner.awake). */
  get awakeHandlers(): number {
    return this.runner.awake()
  }

  /** Next instant at which something is due: the scheduler's wake-up or a handler's timeout. */
  nextWakeMs(): number | null {
    // A follower's state waits on the scheduler's decisions: only its own handlers' deadlines count.
    const due = this.dispatching && this.remote === null ? nextWakeMs(this.state, this.clock.now(), this.firesCrons) : null
    return earliest(earliest(due, this.runner.nextDeadline()), this.retryAtMs)
  }

  /**
   * drain(): the next instant something that could still run is due — a job's eta or throttle
   * while jobs are dispatched (embedded: this engine runs; in a cluster: some member takes work,
   * whichever member this is), a handler's timeout, a retry — leaving out crons, which never end.
   */
  drainWakeMs(): number | null {
    const now = this.clock.now()
    let jobs: number | null
    if (this.cluster !== null) jobs = this.lifecycle === 'closed' ? null : clusterWakeMs(this.state, this.cluster.pool, now)
    else jobs = this.dispatching ? nextWakeMs(this.state, now, false) : null
    return earliest(earliest(jobs, this.runner.nextDeadline()), this.retryAtMs)
  }

  /** Quiet at `level` (waiters.ts): this process's work, and for settled and idle in a cluster
   * the cluster's too, as this member's state shows it (cluster-quiet.ts). */
  private isQuiet(level: Quietness, except: readonly HandlerTry[]): boolean {
    if (!this.ownQuiet(level !== 'settled', except)) return false
    if (level === 'own-work' || this.cluster === null) return true
    if (level === 'idle' && clusterRuns(this.state)) return false
    // A scheduler's ticks start all they can (its pool changing ticks again); a follower's state
    // shows what the scheduler has not started yet.
    return this.remote === null || !clusterCanStart(this.state, this.cluster.pool, this.clock.now())
  }

  /** This process's calls are applied (a follower's answered, its outcomes in its state), no tick
   * is due, and (`handlers`: idle, stop) none of its handlers runs nor a snapshot is being written. */
  private ownQuiet(handlers: boolean, except: readonly HandlerTry[] = []): boolean {
    if (this.remote !== null && (this.remote.pending > 0 || this.sentOutcomes.size > 0)) return false
    if (this.ticking || this.tickScheduled || this.appends.size > 0 || this.appends.losing || this.answers.waiting > 0) return false
    if (this.queue.length > 0 || this.outcomes.length > 0 || this.dispatchCut || this.maintenance.vacuuming) return false
    // A snapshot being written behind the ticks keeps idle() and stop() waiting, not settled():
    // what was called is applied, and start(), reads and a FakeClock's advance need no more.
    return !handlers || (this.runner.inflightBut(except) === 0 && !this.maintenance.snapshotting)
  }

  /** `urgent` false: the tick is wanted for what waits in the queues only, and may linger
   * (tick-linger.ts) if that is only handlers' successes that free nothing. */
  private scheduleTick(urgent = true): void {
    if (this.ticking) {
      this.wantTick = true
      if (urgent) this.wantUrgent = true
      return
    }
    if (this.tickScheduled) return
    if (!urgent && this.linger.enabled && this.linger.waits(this.state, this.outcomes.peek(), this.queue.peek(), this.dispatchCut || this.outcomes.hasParked || this.waiters.any || this.needsCommittedLog())) return
    this.tickScheduled = true
    // setImmediate rather than a microtask: calls made in the same turn share a tick (group
    // commit), and a long burst of ticks still lets timers and I/O run between them.
    setImmediate(this.runScheduledTick)
  }

  // Made once: a tick is scheduled every few jobs, and a closure per schedule is garbage per job.
  private readonly onTickError = (error: unknown): void => this.fail(error)
  private readonly runScheduledTick = (): void => {
    this.tick().catch(this.onTickError)
  }

  private async tick(): Promise<void> {
    this.tickScheduled = false
    this.linger.ticked()
    if (this.remote !== null) return this.wakeWaiters() // a follower decides nothing
    if (this.ticking) return
    const inFlight = this.appends.size
    if (this.appends.losing || inFlight >= APPENDS_IN_FLIGHT_MAX || (inFlight > 0 && this.needsCommittedLog())) {
      // Decided once the batches in flight are committed (or lost): see afterAppends(). It was
      // due (it lingered, or had no reason to): it does not linger again.
      this.wantTick = this.wantUrgent = true
      return
    }
    this.ticking = true
    if (this.unreachable !== undefined && !(await this.rebuilt())) return
    // Nothing is in flight here (needsCommittedLog): the snapshot is the log's state. Only its
    // copy holds the tick; it is written behind the ticks (maintenance.ts).
    if (this.maintenance.snapshotDue()) this.maintenance.takeSnapshot()
    const outcomes = this.outcomes.take()
    const calls = this.queue.take()
    this.dispatchCut = false // runTick's cut sets it again if the dispatch stops at its bound
    this.retryAtMs = null
    // Commands on jobs that left memory carry their graph from history, read before deciding:
    // nothing is in flight (needsCommittedLog) and only ticks change either, so the two agree.
    if (needsHistory(calls.submissions, this.state, this.customIds)) await hydrate(calls.submissions, this.state, this.log.history, this.customIds)
    const now = this.clock.now()
    let fires = this.firesCrons ? dueCronFires(this.state, now, this.runningSinceMs, this.cronDeps) : null
    let trapped: Pending['trapped'] = null
    if (fires !== null && fires.commands.length > 0 && this.cronTrap !== null) {
      const diverted = divertFires(fires)
      fires = diverted.fires
      trapped = { jobs: diverted.jobs, take: this.cronTrap }
    }
    const out = this.decideTick(outcomes, calls.submissions, now, fires?.commands)
    // Due crons left for the next tick (this one has its share of firings) come at once too.
    this.dispatchCut = out.cut || fires?.more === true
    const batch = out.events
    const vacuumed = vacuumedViews(calls.submissions, batch, out.commandFrom)
    if (this.lifecycle === 'running') this.maintenance.vacuumIfDue(now)
    let history = NO_HISTORY_WRITE
    if (batch.length > 0) {
      this.reads.appending()
      history = takeHistoryWrite(this.state, vacuumed)
    }
    // In a cluster this process launches the starts assigned to it; each worker launches its own
    // when its replica applies the batch (follow()).
    if (this.cluster !== null) out.launch = out.launch.filter((job) => job.worker === this.cluster!.workerId)
    const runs = new Array<number>(out.launch.length)
    for (let i = 0; i < runs.length; i++) runs[i] = out.launch[i]!.runs
    const tick: Pending = { batch, history, out, runs, calls, outcomes, acknowledged: null, trapped }
    this.appends.add(tick)
    // Throws (the engine fails) when ticks keep finding a wake-up due and nothing to do. The
    // wake-up is computed only for a tick that wrote nothing: the common tick pays nothing here.
    if (batch.length > 0) this.spin.progressed()
    else this.spin.idle(this.nextWakeMs(), now)
    this.endTick()
  }

  /** Ticks that read history or snapshot the state need the log to hold every decided batch;
   * a waiting read needs it too (else a steady stream of ticks could keep it waiting). */
  private needsCommittedLog(): boolean {
    return this.maintenance.snapshotDue() || this.reads.waiting || needsHistory(this.queue.peek(), this.state, this.customIds)
  }

  /** `tick`'s batch is durable: answer its callers, abort and launch what it decided. */
  /** Write the tick's batch; with a two-step log, its acknowledgement is awaited apart. */
  private async writeTick(tick: Pending): Promise<void> {
    const log = this.log
    if (log.appendDurable === undefined) return log.append(tick.batch, tick.history, tick)
    // A tick no call waits for (starts, outcomes) is acknowledged with a later one: in 'fsync'
    // mode that spares it the end mark's synced write.
    tick.acknowledged = (await log.appendDurable(tick.batch, tick.history, tick, tick.calls.submissions.length > 0))?.acknowledged ?? null
  }

  private commitTick(tick: Pending): void {
    if (tick.history !== NO_HISTORY_WRITE) this.historyEpoch++
    // The state is the log's once no later batch it holds is still being written.
    if (!this.appends.holdsEvents()) this.committed()
    this.answers.answer(tick)
    // Only once the new state is durable: a handler is never aborted for a change that was lost.
    for (const s of tick.out.abort) this.runner.abort(s.uuid, s.run, supersededError(s.uuid, this.state))
    this.listeners.emit(tick.batch)
    if (tick.trapped !== null) takeTrapped(tick.batch, tick.trapped)
    const toLaunch = tick.out.launch
    for (let i = 0; i < toLaunch.length; i++) this.runner.launch(toLaunch[i]!, tick.runs[i]!)
    this.afterAppends()
  }

  /** These ticks are lost (the first one's batch was not written, nor any after it), and nothing
   * is in flight: rebuild the state from the log and refuse what they decided. */
  private async loseTicks(ticks: Pending[], error: unknown): Promise<void> {
    // Another process is the scheduler now: nothing this one decided may be written any more.
    if (error instanceof SchedulerDeposedError) return this.fail(error)
    await this.rollback(ticks.flatMap((t) => t.calls.submissions), ticks.flatMap((t) => t.outcomes), error)
  }

  /** A batch settled: tick again if work waits (a tick deferred for the appends included), else
   * wake whoever waits for the engine to be settled or idle. */
  private afterAppends(): void {
    if (this.ticking || this.appends.losing) return
    this.armTimer()
    if (this.wantTick || this.queue.length > 0 || this.outcomes.length > 0 || this.dispatchCut) {
      const urgent = this.wantUrgent
      this.wantTick = this.wantUrgent = false
      this.scheduleTick(urgent)
    } else if (this.appends.size === 0) {
      if (this.maintenance.snapshotDue()) this.scheduleTick()
      else this.wakeWaiters()
    }
  }

  /** The tick's one call into the core; the callers' answers land in the queue. A method of
   * its own so that the simulator's deliberately broken variants (sim/bugs.ts) can wrap it. */
  private decideTick(outcomes: readonly Command[], submissions: readonly Submission[], now: number, fires?: readonly Command[]): TickOutput {
    return this.decider.decide(this.state, outcomes, submissions, now, this.dispatching, fires, this.cluster?.pool ?? null)
  }

  /** Leave the tick: re-arm the one timer, then run the next tick if work came in meanwhile (or
   * was left for it), else wake whoever waits for the engine to be settled or idle. */
  private endTick(): void {
    this.ticking = false
    this.armTimer()
    const wanted = this.wantTick
    const urgent = this.wantUrgent
    this.wantTick = this.wantUrgent = false
    if (wanted || this.queue.length > 0 || this.outcomes.length > 0 || this.dispatchCut) this.scheduleTick(urgent)
    else if (this.appends.size === 0) this.wakeWaiters()
  }

  /** Snapshot now (between ticks), e.g. before a backup or a planned restart. A follower's
   * snapshots are the scheduler's to write: it does nothing. */
  async snapshotNow(): Promise<void> {
    if (this.lifecycle === 'closed') throw this.refusal()
    if (this.remote !== null) return
    await this.settled()
    while (this.ticking) await this.settled()
    this.ticking = true
    try {
      await this.maintenance.snapshot()
    } finally {
      this.endTick()
    }
  }

  /**
   * The engine cannot go on (its log failed under it, or an assertion of the core fired): it
   * stops dispatching, refuses every queued and later call with this error, and keeps no timer.
   */
  private fail(error: unknown): void {
    this.fatal ??= error
    this.lifecycle = 'closed'
    this.timer.clear()
    this.linger.clear()
    // The callers of the ticks in flight too: their commands were taken from the queue.
    this.queue.refuseAll(error, this.appends.abandon().map((tick) => tick.calls))
    this.outcomes.clear()
    this.ticking = false
    this.wantTick = false
    this.committed()
    this.waiters.releaseAll()
    this.notifyClosed()
  }

  /** The state is the log's again: answer the reads that waited for it. */
  private committed(): void {
    this.reads.committed(this.state, this.lifecycle === 'closed' ? () => this.refusal() : null)
  }

  /** Why the engine stopped for good (a failed store, a deposed scheduler, an assertion), or
   * undefined while it runs or when it was closed. */
  get failure(): unknown {
    return this.fatal
  }

  /** What a call is refused with once the engine is closed: why it failed, if it did. */
  private refusal(): unknown {
    return this.fatal ?? new WharfClosedError('this Wharf is closed')
  }

  /**
   * The batch was not written: the in-memory state ran ahead of the log. Rebuild it from the log
   * (the truth), refuse every caller of this tick, and launch nothing. Handler outcomes are facts,
   * not requests: they are parked for the next tick, and a wake-up is set so that there is one —
   * else a job would stay started for ever, and a start the lost batch made would wait for an
   * unrelated event. While the log keeps failing that is one retry per APPEND_RETRY_MS, not a spin.
   */
  private async rollback(submissions: Submission[], outcomes: Command[], error: unknown): Promise<void> {
    try {
      // A snapshot written behind the ticks compacts the log once written: not under this read.
      await this.maintenance.snapshotLanded()
      this.state = (await replay(this.log, this.config)).state
    } catch (replayError) {
      // A server that is away (restarting, failing over) is not a damaged log: try again later.
      if (this.log.unreachable?.(replayError) === true) this.unreachable = replayError
      else this.fail(replayError)
    } finally {
      if (this.unreachable !== undefined && this.lifecycle !== 'closed') this.reads.unreadable(this.unreachable)
      else this.committed()
      this.dispatchCut = false // the retry at retryAtMs dispatches again, not a spin now
      this.outcomes.park(outcomes)
      this.retryAtMs = this.clock.now() + APPEND_RETRY_MS
      this.queue.refuse(submissions, error)
      this.endTick()
    }
  }

  // ---- cluster (runtime/cluster.ts) ----

  /** This engine follows a scheduler elsewhere (it decides nothing). */
  get following(): boolean {
    return this.remote !== null
  }

  /** Follower: a batch the scheduler committed, applied as a committed tick's batch is. */
  follow(batch: readonly WharfEvent[]): void {
    fold(this.state, batch)
    // The scheduler wrote it to history; a store shared with it counts it from here.
    if (this.log.history.followed !== undefined) this.log.history.followed(deletesFromHistory(batch) ? null : takeHistoryWrite(this.state, null), batch[batch.length - 1]!.seq)
    dropHistoryWrite(this.state)
    this.historyEpoch++
    this.committed()
    this.listeners.emit(batch)
    if (this.cluster !== null && this.lifecycle !== 'closed') this.runAssigned(batch, this.cluster.workerId)
    this.wakeWaiters() // the cluster's jobs moved: settled() and idle() judge by them
  }

  /** Follower: launch the starts of `batch` assigned to this worker, and abort the handlers whose
   * run it ended (a cancel, requeue or setDone; a recovery, when this worker was found dead). */
  private runAssigned(batch: readonly WharfEvent[], workerId: string): void {
    let launched = false
    for (let i = 0; i < batch.length; i++) {
      const event = batch[i]!
      if (event.type === 'job.started') {
        const job = this.state.jobs.get(event.uuid)
        if (event.node === workerId && job !== undefined && job.state === 'started' && job.worker === workerId && !this.workerRuns.has(job.uuid, job.runs)) {
          launched = this.takeAssigned(job) || launched
        }
      } else if ('uuid' in event) {
        if (this.workerRuns.size > 0) this.workerRuns.prune(this.state, event.uuid, workerId)
        if (!this.runner.isLive(event.uuid)) continue
        const job = this.state.jobs.get(event.uuid)
        this.runner.abortUnless(event.uuid, job?.state === 'started' ? job.runs : -1, supersededError(event.uuid, this.state))
      }
    }
    if (launched) this.armTimer() // their timeouts
    // Every run, not only those of the batch's jobs: some events release runs of many (a recovery).
    this.forgetAppliedOutcomes(workerId)
  }

  /** Follower: the state rebuilt from the log (it fell behind a compaction). The batches it
   * skipped may have assigned runs to this worker, or ended some it runs: reconcile. */
  resync(state: State): void {
    this.state = state
    this.log.history.followed?.(null, state.seq) // its counts are read again
    this.historyEpoch++
    this.committed()
    if (this.cluster !== null && this.lifecycle !== 'closed') this.reconcileRuns(this.cluster.workerId)
    this.wakeWaiters()
  }

  /**
   * Make this worker's handlers match its runs in the state (worker-runs.ts): launch the started
   * jobs assigned to it that it never launched — the run number fences their outcome, so one the
   * scheduler recovered meanwhile is dropped there —, end the superseded runs it never launched
   * (a finish of a run that is no longer the job's only releases its slots), and abort the
   * handlers whose run ended in the batches it skipped.
   */
  private reconcileRuns(workerId: string): void {
    this.workerRuns.pruneAll(this.state, workerId)
    this.forgetAppliedOutcomes(workerId)
    const { launch, end } = unlaunchedRuns(this.state, workerId, this.workerRuns)
    let launched = false
    for (const job of launch) launched = this.takeAssigned(job) || launched
    for (const { uuid, run } of end) {
      this.workerRuns.add(uuid, run)
      this.post({ type: 'finish', uuid, run, outcome: NEVER_LAUNCHED, retryPattern: null, entropy: 0 })
    }
    for (const uuid of this.runner.liveJobs()) {
      const job = this.state.jobs.get(uuid)
      this.runner.abortUnless(uuid, job?.state === 'started' && job.worker === workerId ? job.runs : -1, supersededError(uuid, this.state))
    }
    if (launched) this.armTimer() // their timeouts
  }

  /**
   * Follower: a start assigned to this worker, seen for the first time. Launched while this
   * engine runs; once stop() was called (the scheduler assigned it before it read the member row
   * that says so), refused instead: no handler starts after stop(), and the run goes back to the
   * scheduler as a try that does not count (REFUSED_START), pending again for another worker.
   * Its outcome is awaited like a handler's (sentOutcomes): stop() waits until the scheduler
   * applied it. True when launched.
   */
  private takeAssigned(job: JobRecord): boolean {
    this.workerRuns.add(job.uuid, job.runs)
    if (this.lifecycle === 'running') {
      this.runner.launch(job, job.runs)
      return true
    }
    this.post(refusedStart(job.uuid, job.runs))
    return false
  }

  /**
   * Cluster scheduler: the runs still assigned to `workers`, members that left having launched
   * none of them (Cluster.leave: it assigned them before it read that they stopped, and they never
   * saw them), end as the members would have refused them (REFUSED_START): not a try, the job
   * pending again at once; a superseded run releases its slots. A duplicate is dropped by its run.
   */
  refuseRunsOf(workers: readonly string[]): void {
    if (this.remote !== null || this.lifecycle === 'closed') return
    for (const worker of workers) {
      if (!this.state.runsOn.has(worker)) continue
      const { launch, end } = unlaunchedRuns(this.state, worker, new WorkerRuns())
      for (const job of launch) this.post(refusedStart(job.uuid, job.runs))
      for (const { uuid, run } of end) this.post(refusedStart(uuid, run))
    }
  }

  /** Cluster: stop() ran to its end — no handler abandoned by close({ timeoutMs }), the engine did
   * not fail —, so every run this member launched has ended and its outcome is in the state. */
  get launchedRunsEnded(): boolean {
    return this.lifecycle === 'stopped' && !this.handlersAbandoned
  }

  /** Follower, every poll of its cluster: post again the outcomes whose runs its replica still
   * shows its own OUTCOME_REPOST_MS after they were posted (a duplicate is dropped, by its run). */
  repostOutcomes(): void {
    if (this.remote === null || this.cluster === null || this.lifecycle === 'closed') return
    this.forgetAppliedOutcomes(this.cluster.workerId)
    const due = this.clock.now() - OUTCOME_REPOST_MS
    for (const sent of this.sentOutcomes.values()) if (sent.atMs <= due) this.post(sent.command)
  }

  /** Forget the posted outcomes whose runs the state no longer shows `workerId`'s (applied, or
   * ended otherwise); when the last goes, idle() may resolve. */
  private forgetAppliedOutcomes(workerId: string): void {
    if (this.sentOutcomes.size === 0) return
    for (const [key, sent] of this.sentOutcomes) {
      if (!isRunOf(this.state, sent.command.uuid, sent.command.run, workerId)) this.sentOutcomes.delete(key)
    }
    if (this.sentOutcomes.size === 0) this.handlersQuiet() // its last outcome is in the state
  }

  /** Follower: its last call was answered (settled() and idle() may resolve). */
  remoteSettled(): void {
    this.handlersQuiet()
  }

  /**
   * Follower → scheduler, once the log is this process's (a new term) and the state has caught
   * up with it: recover the jobs the previous scheduler left started, exactly as an open after a
   * crash does, then decide as usual.
   */
  async promote(liveWorkers?: readonly string[]): Promise<Recovered> {
    this.remote = null
    this.workerRuns.clear() // a scheduler launches its own starts as it commits them, never resyncs
    this.sentOutcomes.clear() // its outcomes still in the inbox are its own ticks' to apply now
    checkInvariants(this.state, { leftRunning: true })
    const recovered = await recoverAll(this, liveWorkers)
    // The live workers' runs go on: under a configuration of lower capacities than the last
    // scheduler's (a rolling change), they may hold more slots than it gives until they end —
    // nothing starts meanwhile where they do (a full channel), as after a lowered capacity.
    checkInvariants(this.state, { leftRunning: liveWorkers !== undefined })
    const vacuumed = await this.vacuum()
    this.openReport = { ...this.openReport, requeued: recovered.requeued, foundDead: recovered.foundDead, vacuumed, jobs: this.state.jobs.size }
    this.runningSinceMs = this.clock.now() // a scheduler from now on: it fires crons (firesCrons)
    this.scheduleTick()
    return recovered
  }

  /** Cluster: put `config` in place of the channel configuration the state is under (a follower
   * adopting its scheduler's; a member taking over, its own): reads answer by it from now on, and
   * a scheduler dispatches by it. */
  configureChannels(config: readonly ChannelConfig[]): void {
    this.config = config
    configureChannels(this.state, config)
    this.committed()
    if (this.remote === null) this.scheduleTick()
  }

  /** Cluster: this member's worker id, and whom to tell when what it may run changes (start,
   * stop, a model registered). From now on every start names the worker that runs it. */
  joinCluster(workerId: string, workChanged: () => void): void {
    this.cluster = { workerId, pool: [], workChanged }
    // A scheduler at open fires crons from now on, started or not (firesCrons).
    if (this.lifecycle !== 'running' && this.remote === null) this.runningSinceMs = this.clock.now()
  }

  /** Cluster: the workers alive now (its member reads, each heartbeat): a scheduler assigns its
   * starts to them, and any member explains by them. */
  setWorkers(pool: readonly Worker[]): void {
    if (this.cluster === null) return
    this.cluster.pool = pool
    if (this.dispatching && this.remote === null) this.scheduleTick()
    else this.wakeWaiters() // a follower's settled() judges what can start by the pool
  }

  /** Cluster scheduler: recover the runs of every worker but `liveWorkers` (found dead), as an
   * open recovers a crashed process's. */
  recoverWorkers(liveWorkers: readonly string[]): Promise<Recovered> {
    return recoverAll(this, liveWorkers)
  }

  /**
   * The tick's first step while the state is not the log's (rollback() could not read it): rebuild
   * it now. False when the log is still unreachable: the calls waiting are refused with why, the
   * outcomes parked, and the next try is APPEND_RETRY_MS later — the tick ends there.
   */
  private async rebuilt(): Promise<boolean> {
    try {
      await this.maintenance.snapshotLanded() // as rollback(): no compaction under this read
      this.state = (await replay(this.log, this.config)).state
      this.unreachable = undefined
      this.committed()
      return true
    } catch (error) {
      if (this.log.unreachable?.(error) !== true) {
        this.fail(error)
        return false
      }
      this.unreachable = error
      this.reads.unreadable(error)
      this.outcomes.park(this.outcomes.take())
      this.queue.refuse(this.queue.take().submissions, error)
      this.retryAtMs = this.clock.now() + APPEND_RETRY_MS
      this.endTick()
      return false
    }
  }

  /** The job functions some process runs (explain()): this one's, and in a cluster those the
   * live workers announced too. */
  get runnableFunctions(): RegisteredFunctions {
    if (this.cluster === null) return this.functions.registered
    const runnable = new Map<string, Set<string>>()
    for (const worker of [{ functions: this.functions.registered }, ...this.cluster.pool]) {
      for (const [model, methods] of worker.functions) for (const method of methods) (runnable.get(model) ?? runnable.set(model, new Set()).get(model)!).add(method)
    }
    return runnable
  }

  /** Cluster: the live workers as last read (explain()); null embedded. */
  get workerPool(): readonly Worker[] | null {
    return this.cluster === null ? null : this.cluster.pool
  }

  /** The job functions this process registered, model -> methods (a cluster member announces them). */
  get registeredFunctions(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.functions.registered
  }

  /** Scheduler: another process holds the lease now. Stop at once, as a fenced append would. */
  deposed(error: SchedulerDeposedError): void {
    if (this.lifecycle !== 'closed') this.fail(error)
  }

  private wakeWaiters(): void {
    this.waiters.wake()
  }

  vacuumEnded(): void {
    this.wakeWaiters()
  }

  snapshotWritten(): void {
    this.wakeWaiters()
  }

  /** close({ timeoutMs }) ran out: abandon the handlers still running (see Runner.abandonAll). */
  abandonHandlers(reason: unknown): void {
    if (this.runner.inflight > 0) this.handlersAbandoned = true
    this.runner.abandonAll(reason)
    this.handlersQuiet()
  }

  /** Called by the runner when its last handler settles without queuing a command. */
  handlersQuiet(): void {
    if (!this.ticking && !this.tickScheduled && this.queue.length === 0 && this.outcomes.length === 0) this.wakeWaiters()
  }

  private armTimer(): void {
    if (this.lifecycle === 'closed') return
    this.timer.arm(this.nextWakeMs())
  }

  /** The timer fired: time out the handlers past their deadline, then tick for what is due. */
  private wake(): Promise<void> {
    this.runner.expireDeadlines()
    if (this.remote !== null) this.armTimer() // a follower's tick does not re-arm it
    this.scheduleTick()
    return this.settled()
  }
}

/** The outcome a stopped worker posts for a start assigned to it (Engine.takeAssigned), and the
 * scheduler for one assigned to a worker that left cleanly (Engine.refuseRunsOf): the try
 * is taken back (ignoreRetry: it never fails the job, whatever its retries) and the job is pending
 * again at once, for the scheduler to give to a worker that takes work. */
const REFUSED_START: HandlerOutcome = {
  kind: 'retryable',
  message: 'not run: the worker it was given to had stopped taking work; pending again for another',
  seconds: 0,
  ignoreRetry: true,
  excName: 'WorkerStoppedError',
  excInfo: '',
}

/** A refusal of run `run` of job `uuid`, never launched (REFUSED_START). */
function refusedStart(uuid: string, run: number): Command {
  return { type: 'finish', uuid, run, outcome: REFUSED_START, retryPattern: null, entropy: 0 }
}

/** The outcome a worker posts for a superseded run it never launched: the scheduler drops it
 * (the run is not the job's) and releases the run's slots. */
const NEVER_LAUNCHED: HandlerOutcome = {
  kind: 'failed',
  excName: 'JobSupersededError',
  excMessage: 'this run was superseded before its worker launched it (its worker replayed a snapshot instead of the start)',
  excInfo: '',
}

function supersededError(uuid: string, state: State): JobSupersededError {
  const now = state.jobs.get(uuid)?.state ?? 'finished'
  return new JobSupersededError(`job ${uuid} is now ${now}: it was cancelled, requeued or set done while this try ran, and this try's outcome will be ignored`)
}

/** The batch deletes views from history (autovacuum, remove, purge), which a follower never had:
 * it cannot count them out. */
function deletesFromHistory(batch: readonly WharfEvent[]): boolean {
  for (const event of batch) {
    if ((event.type === 'jobs.vacuumed' && event.uuids.length > 0) || (event.type === 'jobs.removed' && event.history.length > 0)) return true
  }
  return false
}

/** The trap takes the jobs of each firing the batch committed (the core may have dropped a
 * firing decided on a cron that a call of the same tick paused, removed or redefined). */
function takeTrapped(batch: readonly WharfEvent[], trapped: NonNullable<Pending['trapped']>): void {
  for (const event of batch) {
    if (event.type !== 'cron.fired') continue
    const jobs = trapped.jobs.get(event.name)
    if (jobs !== undefined && jobs.length > 0) trapped.take(jobs)
  }
}
