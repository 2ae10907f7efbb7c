// Wharf: the public object. It validates at the boundary, turns calls into core commands for
// the engine, and answers queries from the engine's state. Everything that changes jobs goes
// through the engine's tick (one writer), which is what makes identity keys atomic.

import { normalizeChannelName } from '../core/channel-config.js'
import type { Command } from '../core/commands.js'
import { JOB_STATES, type JobSpec, type JobState, type WharfEvent } from '../core/events.js'
import { PURGE_BATCH, SNAPSHOT_EVENTS_PER_LIVE_JOB } from '../core/limits.js'
import { stateIndex } from '../core/state.js'
import { toJobView, type JobView } from '../core/view.js'
import { InvalidChannelConfigError, InvalidGraphError, InvalidPropertyError, StorageError, UnknownJobError, WharfClosedError } from '../errors.js'
import { readExplanation, type Explanation } from './explain.js'
import { DrainPace } from './drain-pace.js'
import { refuseSelfWait, SELF_WAIT_INSTEAD } from './self-wait.js'
import { watchedWait } from './close-stuck.js'
import { hintUnstored, type StoreMode } from './unstored-hint.js'
import { ResultWaiters } from './results.js'
import { checkJobsQuery, checkUuid, readGraph, readJob, readJobs, statsOf, type JobGraph, type JobsQuery, type Stats } from './queries.js'
import { FakeClock, SystemClock, type Clock } from '../runtime/clock.js'
import { Engine, type IntegrityReport, type OpenReport, type ResultOf } from '../runtime/engine.js'
import { idAtOf, type IdFactory } from '../runtime/ids.js'
import { JobContext, type Handler, type HandlerTry } from '../runtime/runner.js'
import { VolatileLog } from '../../storage/volatile-log.js'
import { backupLevelLog, type BackupResult } from '../../storage/backup.js'
import type { EventLog } from '../../storage/event-log.js'
import { LevelLog } from '../../storage/level-log.js'
import { PgLog } from '../../storage/pg-log.js'
import type { GraphNode, PlannedJob, Target } from './delayable.js'
import { markStoring } from './delayable.js'
import { viewOfEnqueued, viewsOfEnqueued, viewsOfGraph } from './enqueue-results.js'
import { buildManySpecs, plannedGraphs, planMany, runManyWithoutDelay, settleMany, viewsOfMany } from './delay-many.js'
import { FunctionRegistry, TIMEOUT_MS_MAX, type FunctionInfo, type FunctionOptions } from './functions.js'
import { relatedActionOf, type RelatedLink } from './related-action.js'
import type { DashboardServer, ServeOptions } from '../../dashboard/serve.js'
import { checkOpenOptions, DEFAULT_REMOVE_AFTER_DAYS, DEFAULT_SNAPSHOT_EVERY, type OpenOptions } from './open-options.js'
import { buildGraphJoin, buildSpec, buildSpecs, type SpecContext } from './job-spec.js'
import { runWithoutDelay } from './no-delay.js'
import { callDirectly } from '../runtime/direct-run.js'
import { isOptionsObject } from './options-object.js'
import { describe, type CheckedProperties } from './properties.js'
import { defineModel, type ModelHost, type RecordsetOf } from './recordset.js'
import { checkPurgeOptions, checkRemoveUuids, removedAndMore, type PurgeOptions } from './removal.js'
import { checkSignalOptions, installSignalHandlers, type SignalOptions } from './signals.js'
import { batchesPage, batchOf, buildBatchCommand, checkBatchesQuery, planBatch, storedBatch, unstoredBatch, type BatchOptions, type BatchView, type BatchesQuery } from './batches.js'
import { checkThreadOptions, isThreadModel, startThreadPool, threadMethods, type ThreadedMethods, type ThreadModelOptions } from './thread-model.js'
import type { ThreadPool } from '../runtime/thread-pool.js'
import type { Logger, Warn } from '../runtime/warnings.js'
import { Telemetry, type TelemetryOptions } from '../runtime/telemetry.js'
import { checkCronName, cronDefinitionOf, type CronOptions, type CronView } from './crons.js'
import { cronViewOf } from '../core/cron.js'
import type { Delayable } from './delayable.js'
import { Cluster, type ClusterView } from '../runtime/cluster.js'
import { CLUSTER_RESULTS } from './cluster-results.js'
import { hostname } from 'node:os'

export type { OpenOptions } from './open-options.js'
export type { BatchOptions, BatchView, BatchState, BatchesQuery } from './batches.js'
export type { IntegrityReport, IntegrityStatus } from '../runtime/engine.js'
export type { PurgeOptions } from './removal.js'
export type { SignalOptions } from './signals.js'
export type { ThreadModelOptions, ThreadedMethods } from './thread-model.js'
export type { CronOptions, CronView } from './crons.js'
export type { ClusterView, ClusterRole, ClusterNode, ClusterNode as ClusterMember } from '../runtime/cluster.js'
export type { BackupResult } from '../../storage/backup.js'

export type { JobsQuery, JobGraph, ChannelStats, Stats } from './queries.js'
export type { FunctionInfo } from './functions.js'
export type { RelatedLink } from './related-action.js'
export type { Explanation, Reason, ReasonKind } from './explain.js'

/** @internal Where trapJobs() plugs in: delayed calls go to the trap instead of the engine. */
export interface DelaySink {
  capture(planned: readonly PlannedJob[], edges: readonly (readonly [number, number])[], nowMs: number): (JobView | undefined)[]
  /** delayMany: each graph as capture() would take it, one after another; all or none. */
  captureMany(graphs: readonly { planned: readonly PlannedJob[]; edges: readonly (readonly [number, number])[] }[], nowMs: number): (JobView | undefined)[][]
  /** A cron's firing, committed while trapped: its jobs, built as they would have been stored. */
  captureFired(jobs: readonly JobSpec[]): void
  /** batch(): the jobs it built (its uuids), element by element (`ends`), each of batch `batchUuid`. */
  captureBatch(graphs: readonly { planned: readonly PlannedJob[] }[], jobs: readonly JobSpec[], ends: readonly number[], batchUuid: string): JobView[]
}
export const SINK = Symbol('wharf.delaySink')

export class Wharf implements ModelHost {
  readonly contextKeys: readonly string[]
  readonly noDelay: boolean
  readonly clock: Clock
  private sink: DelaySink | null = null
  /** @internal Also used by trapJobs(), so trapped jobs get ids from the same factory. */ readonly newId: IdFactory
  /** Reused by every withDelay call (single-threaded, used synchronously). */
  private readonly specContext: SpecContext
  private detachClock: (() => void) | null = null
  private readonly log: EventLog
  /** Backups in progress: close() waits for them (they read the store it releases). */
  private readonly backups = new Set<Promise<unknown>>()
  /** close() was called: no new backup may start on the store it is about to release. */
  private closing = false
  /** What close() ends first: dashboard servers and event streams started on this Wharf. */
  private readonly closeHooks = new Set<() => unknown>()
  /** Callers of result() waiting for their jobs. */
  private readonly results: ResultWaiters
  /** closeOnSignals() listeners are installed. */
  private signalsInstalled = false
  /** Worker-thread pools of threaded models: close() destroys them once no handler runs. */
  private readonly pools = new Set<ThreadPool>()
  /** Where warnings go: process warnings, and the logger when one was given. */
  private readonly warn: Warn
  /** On PostgreSQL: this process's membership of the schema's cluster. */
  private readonly clusterMember: Cluster | null
  private readonly node: string

  private constructor(
    /** @internal */ readonly engine: Engine,
    /** @internal */ readonly functions: FunctionRegistry,
    options: { clock: Clock; contextKeys: readonly string[]; noDelay: boolean; newId: IdFactory; log: EventLog; warn: Warn; cluster: Cluster | null; node: string | null },
  ) {
    this.log = options.log
    this.clusterMember = options.cluster
    this.node = options.node ?? `${hostname()}:${process.pid}`
    this.warn = options.warn
    this.clock = options.clock
    this.contextKeys = options.contextKeys
    this.noDelay = options.noDelay
    this.newId = options.newId
    this.specContext = { nowMs: 0, newId: options.newId, idAt: idAtOf(options.newId), functions }
    this.results = new ResultWaiters(engine)
    // Closed or failed: no job they wait for can finish now.
    engine.onClosed((why) => this.results.refuseAll(why))
  }

  /** @internal Where delayed calls go instead of the engine while trapped (trapJobs). */
  get [SINK](): DelaySink | null {
    return this.sink
  }

  /** @internal A cron's firing is an enqueue too: trapped, it goes to the trap (Engine.cronTrap). */
  set [SINK](sink: DelaySink | null) {
    this.sink = sink
    this.engine.cronTrap = sink === null ? null : (jobs) => sink.captureFired(jobs)
  }

  static async open(options: OpenOptions = {}): Promise<Wharf> {
    const checked = checkOpenOptions(options)
    const functions = new FunctionRegistry()
    const cluster = checked.log instanceof PgLog && checked.node !== null ? new Cluster(checked.log, checked.node, CLUSTER_RESULTS, checked.channels, checked.warn, checked.workers) : null
    const engine = await Engine.open({
      log: checked.log,
      clock: checked.clock,
      channels: checked.channels,
      functions,
      random: checked.random,
      removeAfterDays: options.removeAfterDays ?? DEFAULT_REMOVE_AFTER_DAYS,
      // Nothing of a volatile log is ever read back: snapshotting it would be wasted work.
      snapshotEvery: checked.log instanceof VolatileLog ? 0 : (options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY),
      // An explicit snapshotEvery is taken as it is; the default also grows with the backlog.
      snapshotEventsPerLiveJob: options.snapshotEvery === undefined ? SNAPSHOT_EVENTS_PER_LIVE_JOB : 0,
      customIds: options.newId !== undefined,
      scrubHistory: checked.scrubHistory,
      warn: checked.warn,
      newId: checked.newId,
      remote: cluster?.remote,
      liveWorkers: cluster?.liveWorkers,
      stateChannels: cluster?.stateChannels,
    })
    const wharf = new Wharf(engine, functions, { ...checked, cluster })
    if (cluster !== null) await attachCluster(cluster, engine)
    if (checked.telemetry !== null || checked.logger !== null) observe(engine, checked.telemetry, checked.logger, checked.warn)
    if (checked.clock instanceof FakeClock) wharf.detachClock = checked.clock.attach(() => engine.settled())
    return wharf
  }

  /** Declare a model: an empty recordset whose methods are job functions '<model>.<method>'. */
  model<M extends Record<string, Handler>>(name: string, methods: M & ThisType<JobContext>): RecordsetOf<M>
  /**
   * A threaded model: the functions its `module` exports are its methods, run in a pool of
   * `threads` worker threads (see thread-model.ts). Resolves once the module's exports are read
   * (in a thread). Type it with the module: `model<typeof import('./jobs.js')>(…)`.
   */
  model<M extends object = Record<string, Handler>>(name: string, options: ThreadModelOptions): Promise<RecordsetOf<ThreadedMethods<M>>>
  model(name: string, second: Record<string, Handler> | ThreadModelOptions): unknown {
    this.assertOpen()
    if (isThreadModel(second)) return this.threadModel(name, second)
    return this.defineModel(name, second)
  }

  private defineModel<M extends Record<string, Handler>>(name: string, methods: M): RecordsetOf<M> {
    const recordset = defineModel(this, name, methods)
    this.functions.registerModel(name, methods)
    this.engine.functionsRegistered()
    return recordset
  }

  private async threadModel(name: string, options: ThreadModelOptions): Promise<RecordsetOf<Record<string, Handler>>> {
    const { href, threads } = checkThreadOptions(name, options)
    const pool = await startThreadPool(href, threads, this.warn)
    // Held while the module loads too, so that close() destroys it then: a module whose import
    // never settles would otherwise keep its thread, and with it the process, alive.
    this.pools.add(pool)
    try {
      this.assertOpen() // close() may have run before the pool was held
      const methods = await threadMethods(name, href, pool)
      this.assertOpen() // close() may have run while the module loaded
      return this.defineModel(name, methods)
    } catch (error) {
      this.pools.delete(pool)
      await pool.destroy()
      // The load was ended by close(), which destroyed its thread: say so, not "cannot load".
      if (this.closing) throw new WharfClosedError(`this Wharf is closed: model(${JSON.stringify(name)}) did not finish loading ${href}`, { cause: error })
      throw error
    }
  }

  /** queue_job's queue.job.function record: channel, retry pattern, related action, timeout. */
  configure(name: string, options: FunctionOptions): void {
    this.assertOpen()
    this.functions.configure(name, options)
  }

  /** What open found in the log: snapshot, events replayed, jobs recovered from a dead process. */
  get openReport(): OpenReport {
    return { ...this.engine.openReport }
  }

  /**
   * What the history scrub of this open found (the scrubHistory option): resolves once it has
   * read all of history — at once when it is off or done; with status 'stopped' when this Wharf
   * closed first. It never rejects: damage is a status and problems, not an error.
   */
  integrity(): Promise<IntegrityReport> {
    return this.engine.integrity()
  }

  /** The job as last committed, live or finished; undefined if there is no such job. */
  // Async, so that a refused argument rejects the promise like every other failure of a read.
  async job(uuid: string): Promise<JobView | undefined> {
    return readJob(this.engine, checkUuid(uuid, 'job'))
  }

  /** One page of committed jobs matching every filter, in creation order (see JobsQuery). */
  async jobs(query: JobsQuery = {}): Promise<JobView[]> {
    return readJobs(this.engine, checkJobsQuery(query))
  }

  /** Every job of a graph, with its edges ([parent, child]); empty for an unknown graph. */
  async graph(graphUuid: string): Promise<JobGraph> {
    return readGraph(this.engine, checkUuid(graphUuid, 'graph'))
  }

  /**
   * Why the job is not running — or that it runs, or has finished — as the scheduler sees it now
   * (reasons: core/explain.ts). An empty list for a pending job: the next tick starts it.
   * Rejects UnknownJobError for a job neither live nor in history.
   */
  async explain(uuid: string): Promise<Explanation> {
    return hintUnstored(this.storeMode, readExplanation(this.engine, checkUuid(uuid, 'explain'), this.engine.runnableFunctions, this.engine.workerPool))
  }

  async requeue(uuid: string): Promise<void> {
    await this.command({ type: 'requeue', uuid: checkUuid(uuid, 'requeue') })
  }

  async cancel(uuid: string): Promise<void> {
    await this.command({ type: 'cancel', uuid: checkUuid(uuid, 'cancel') })
  }

  /**
   * The job's result once it is done — at once if it already is (live or in history). Rejects
   * JobFailedError once it failed (final until someone requeues it, as in queue_job: a later
   * success is for a new call to see) and JobCancelledError once it was cancelled; waits through
   * retries. UnknownJobError for a job neither live nor in history; with `timeoutMs` (clock time),
   * ResultTimeoutError when it has not finished by then (the job goes on). Only committed events
   * answer it. Rejects WharfClosedError if this Wharf closes first.
   */
  async result(uuid: string, options: { timeoutMs?: number } = {}): Promise<unknown> {
    const checked = checkUuid(uuid, 'result')
    const timeoutMs = checkTimeoutOption(options, 'result')
    this.assertOpen()
    return hintUnstored(this.storeMode, this.results.wait(checked, timeoutMs ?? null))
  }

  async setDone(uuid: string): Promise<void> {
    await this.command({ type: 'setDone', uuid: checkUuid(uuid, 'setDone') })
  }

  /**
   * @internal The dashboard's bulk actions: cancel, requeue or setDone of a job only while it is
   * in one of `from`; otherwise it is left as it is and the call rejects JobStateConflictError
   * saying its state. Decided by the core with the state it applies to, so a job that changes
   * meanwhile (a run that ends just before a cancel) is never acted on from a state not meant.
   */
  async actFrom(action: 'cancel' | 'requeue' | 'setDone', uuid: string, from: readonly JobState[]): Promise<void> {
    await this.command({ type: action, uuid: checkUuid(uuid, action), from })
  }

  /**
   * Delete these jobs for good: done and cancelled ones (from history), failed ones (from memory).
   * All or nothing: a job that is not finished or failed (JobStateConflictError), an unknown uuid
   * (UnknownJobError), or a job linked by its graph to a live job that is not removed with it
   * (InvalidGraphError) refuses the whole call. At most REMOVE_UUIDS_MAX uuids; a uuid named
   * twice counts once. Resolves with the number of jobs removed (every distinct uuid given).
   */
  async remove(uuids: readonly string[]): Promise<number> {
    this.assertOpen()
    const checked = checkRemoveUuids(uuids)
    if (checked.length === 0) return 0
    const { removed } = await hintUnstored(this.storeMode, this.engine.submit({ type: 'remove', uuids: checked }, removedAndMore))
    return removed
  }

  /**
   * Delete every job in `state` (that entered it strictly before `before`, when given: doneAt,
   * cancelledAt, or when it failed), in bounded batches, one per tick, as autovacuum does. A job
   * that remove() would refuse by the graph rule is left. Resolves with the number removed.
   */
  async purge(options: PurgeOptions): Promise<number> {
    this.assertOpen()
    const { state, beforeMs } = checkPurgeOptions(options)
    let total = 0
    for (;;) {
      const batch = await this.engine.submit({ type: 'purge', state, beforeMs, limit: PURGE_BATCH }, removedAndMore)
      total += batch.removed
      if (!batch.more) return total
    }
  }

  /**
   * On SIGTERM or SIGINT: stop dispatching, give running handlers up to `timeoutMs` (default
   * 30,000) to finish, close, and exit the process (0; 1 when close failed). A second signal
   * exits 1 at once. Returns the function that removes the listeners; close() removes them too.
   * Installing twice (without removing) throws.
   */
  closeOnSignals(options: SignalOptions = {}): () => void {
    this.assertOpen()
    const timeoutMs = checkSignalOptions(options)
    if (this.signalsInstalled) {
      throw new InvalidPropertyError('closeOnSignals(): already installed on this Wharf; call the function it returned to remove it first')
    }
    this.signalsInstalled = true
    return installSignalHandlers(this, timeoutMs, () => {
      this.signalsInstalled = false
    })
  }

  /**
   * Declare a recurring job: each firing of `schedule` (a cron expression, read in `tz`) stores
   * `job`'s call as a job with the identity key `cron:<name>:<ISO scheduled time>` — or `job`'s
   * own identityKey (a string) when it has one: then a firing while a job with that key waits
   * stores nothing, so firings do not pile up behind a paused or full channel. Declaring a
   * name again updates it; the same definition again writes nothing (declare crons at every
   * start). Firings missed while no engine ran follow `catchUp` (default 'one'). Crons fire while
   * the engine runs (start()).
   */
  async cron(name: string, schedule: string, job: Delayable, options: CronOptions = {}): Promise<void> {
    this.assertOpen()
    const { cron, nextMs } = cronDefinitionOf(name, schedule, job, options, this, this.engine.cronTimes, this.clock.now())
    await this.command({ type: 'defineCron', cron, nextMs })
  }

  /** The crons declared, by name, as last committed. */
  async crons(): Promise<CronView[]> {
    this.assertOpen()
    const views = await this.engine.read((state) => [...state.crons.values()].map(cronViewOf))
    return views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Remove a cron (jobs it stored stay). UnknownCronError for a name no cron has. */
  async removeCron(name: string): Promise<void> {
    await this.command({ type: 'removeCron', name: checkCronName(name, 'removeCron') })
  }

  /** No firing until resumeCron(); firings that fall in the pause are skipped. */
  async pauseCron(name: string): Promise<void> {
    await this.command({ type: 'pauseCron', name: checkCronName(name, 'pauseCron') })
  }

  /** Fire again, from the first firing after now (of the cron as redefined by the calls before). */
  async resumeCron(name: string): Promise<void> {
    const checked = checkCronName(name, 'resumeCron')
    this.assertOpen()
    const atMs = this.clock.now()
    const cron = this.engine.state.crons.get(checked)?.definition
    // Unknown: the core refuses it (UnknownCronError), in order with the calls before it. The
    // tick deciding it times it again from `atMs`, by the cron as decided then (Command).
    const nextMs = cron === undefined ? null : this.engine.cronTimes.nextAfter(cron.schedule, cron.tz, atMs)
    await this.command({ type: 'resumeCron', name: checked, nextMs, atMs })
  }

  /** Stop starting jobs of this channel and its subchannels (running ones finish). */
  async pauseChannel(name: string): Promise<void> {
    await this.command({ type: 'pauseChannel', channel: channelArg(name, 'pauseChannel') })
  }

  async resumeChannel(name: string): Promise<void> {
    await this.command({ type: 'resumeChannel', channel: channelArg(name, 'resumeChannel') })
  }

  stats(): Stats {
    this.assertOpen() // a closed Wharf's counts are frozen where it stopped: stale, not an answer
    return statsOf(this.engine.state, this.engine.history.counts(), this.engine.inFlight)
  }

  /**
   * Who schedules: this process's node and role, the current term, the scheduler's node, and the
   * members alive (PostgreSQL: every process on the schema, from their heartbeats). An embedded
   * Wharf is a cluster of one: itself, the scheduler, at term 0. Refused once it has closed.
   */
  cluster(): ClusterView {
    const member = this.clusterMember
    // A deposed member still answers (role 'closed') until close(): operators ask it why. A
    // closing one answers as the member it still is until it has closed, as an embedded one does.
    if (member !== null) {
      if (this.closing) this.assertOpen()
      return member.view()
    }
    this.assertOpen()
    const self = { node: this.node, lastSeenMs: this.clock.now(), running: this.engine.runningHandlers, role: 'scheduler' as const, term: 0, started: this.engine.lifecycle === 'running', workers: null }
    return { node: this.node, leader: this.node, nodes: [self], role: 'scheduler', term: 0 }
  }

  /** Every job function registered or configured in this process, by name. */
  functionList(): FunctionInfo[] {
    this.assertOpen()
    return this.functions.list()
  }

  /**
   * The job's related action (queue_job's related_action): the `{ url, label? }` that the method
   * named by its function's `relatedAction.funcName` returns for the job's records; null when
   * disabled or unnamed. Rejects UnknownJobError, or InvalidJobFunctionError on a bad answer.
   */
  async relatedAction(uuid: string): Promise<RelatedLink | null> {
    const job = await this.job(uuid)
    if (job === undefined) return hintUnstored(this.storeMode, Promise.reject(new UnknownJobError(uuid)))
    return relatedActionOf(job, this.functions, this.clock)
  }

  /**
   * Serve the dashboard and its JSON API over HTTP (default 127.0.0.1:7777); close() of this
   * Wharf closes it too. Loaded on first use, so apps that never serve do not load it.
   */
  async serveDashboard(options: ServeOptions = {}): Promise<DashboardServer> {
    this.assertOpen()
    const { serveDashboard } = await import('../../dashboard/serve.js')
    return serveDashboard(this, options)
  }

  /** @internal Run `hook` when close() starts (before the engine stops); returns its removal. */
  onClose(hook: () => unknown): () => void {
    this.assertOpen()
    if (this.closing) throw new WharfClosedError('this Wharf is closing')
    this.closeHooks.add(hook)
    return () => this.closeHooks.delete(hook)
  }

  /** Every committed event, in log order. Returns a function that removes the listener. */
  on(type: 'transition', listener: (event: WharfEvent) => void): () => void {
    if (type !== 'transition') throw new InvalidPropertyError(`on(): unknown event type ${describe(type)}; use 'transition'`)
    if (typeof listener !== 'function') throw new InvalidPropertyError(`on(): listener must be a function, got ${describe(listener)}`)
    this.assertOpen()
    return this.engine.onEvent(listener)
  }

  async start(): Promise<void> {
    this.assertOpen()
    this.engine.start()
    await this.engine.settled()
  }

  async settled(): Promise<void> {
    this.assertOpen()
    if (this.clusterMember !== null) await this.clusterMember.caughtUp()
    await this.engine.settled()
  }

  /** Called by a handler of this Wharf, idle() does not wait for that handler's run (see
   * self-wait.ts); in a cluster it refuses then. */
  async idle(): Promise<void> {
    this.assertOpen()
    const callers = this.engine.callers() // before any await: the caller's frames are on the stack now
    if (this.clusterMember !== null) {
      refuseSelfWait('idle()', callers, SELF_WAIT_INSTEAD.clusterIdle)
      await this.clusterMember.caughtUp()
    }
    await this.warnIfStuck('idle()', this.engine.idle(callers), callers)
  }

  /**
   * idle, and nothing is left that could still run later (etas, retries, throttles). With a
   * FakeClock, time jumps to each next wake-up; with the system clock, this waits for them.
   * Crons fire on the way, but never end: drain() stops when only their firings are left.
   *
   * With a FakeClock and handlers running, the clock jumps only for handlers waiting on it: when
   * every running handler is asleep in `this.sleep`, after one event-loop turn; a handler doing
   * anything else (reading a file, a query) is never overtaken while an I/O request of this
   * process is in flight, nor while a try of a threaded model runs in its thread, and the clock
   * moves for it only after it has shown no sign of life for DRAIN_QUIET_TURNS turns and
   * DRAIN_QUIET_MS of real time (it may wait on the clock another way: a FakeClock timer of its
   * own, the result() of a job with an eta). See drain-pace.ts.
   */
  async drain(): Promise<void> {
    this.assertOpen()
    refuseSelfWait('drain()', this.engine.callers(), SELF_WAIT_INSTEAD.drain)
    const clock = this.clock
    const pace = new DrainPace()
    for (;;) {
      this.assertOpen() // also ends the loop when close() runs meanwhile
      if (this.clusterMember !== null) await this.clusterMember.caughtUp()
      await this.engine.settled()
      if (clock instanceof FakeClock) {
        // Another advance is running (a second drain(), another Wharf's on this clock, the
        // test's own): it moves time for this Wharf too. Wait for it rather than make a second,
        // interleaved one, which FakeClock refuses.
        if (clock.advancing) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          continue
        }
        const next = clock.nextTimerAt()
        if (this.engine.runningHandlers > 0) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          const { runningHandlers, awakeHandlers, state } = this.engine
          const moved = `${runningHandlers} ${awakeHandlers} ${state.seq}`
          const jump = runningHandlers > 0 && next !== null && next === clock.nextTimerAt() && !clock.advancing // (as above: it may have begun during the turn)
          if (jump && pace.mayJump(awakeHandlers, moved)) await clock.advanceTo(Math.max(next, clock.now()))
          continue
        }
        // A handler that settled after settled() resolved has queued its outcome: go round.
        if (!this.engine.quiet) continue
        const wake = this.engine.drainWakeMs()
        if (wake === null) return
        await clock.advanceTo(Math.max(wake, clock.now()))
      } else {
        await this.engine.idle()
        if (!this.engine.quiet) continue
        const wake = this.engine.drainWakeMs()
        if (wake === null && this.engine.runningHandlers === 0) return
        await new Promise<void>((resolve) => setTimeout(resolve, wake === null ? 1 : Math.max(1, wake - clock.now())))
      }
    }
  }

  /**
   * Write a snapshot of the state now and compact the log under it (Wharf also does this every
   * `snapshotEvery` events). The next open restores it and replays only what came after.
   */
  async snapshot(): Promise<void> {
    await this.engine.snapshotNow()
  }

  /**
   * Copy the store, as it is at one committed point of its log, into `dir` (new, or an empty
   * directory) while jobs keep running; restore it with restoreBackup(). See storage/backup.ts.
   */
  async backup(dir: string): Promise<BackupResult> {
    this.assertOpen()
    if (this.closing) throw new WharfClosedError(`backup(${JSON.stringify(dir)}): this Wharf is closing`)
    if (this.log instanceof PgLog) {
      throw new StorageError(`backup(${JSON.stringify(dir)}): this Wharf keeps its jobs in PostgreSQL (schema ${JSON.stringify(this.log.schema)}); back them up with PostgreSQL's own tools (pg_dump --schema)`)
    }
    if (!(this.log instanceof LevelLog)) {
      throw new StorageError(`backup(${JSON.stringify(dir)}): this Wharf has no store on disk to back up (it was opened without \`path\`, so its jobs live in memory)`)
    }
    const running = backupLevelLog(this.log, dir)
    this.backups.add(running)
    try {
      return await running
    } finally {
      this.backups.delete(running)
    }
  }

  /** Called by a handler of this Wharf, stop() does not wait for that handler's run (self-wait.ts). */
  async stop(): Promise<void> {
    this.assertOpen()
    const callers = this.engine.callers()
    await this.warnIfStuck('stop()', this.engine.stop(callers), callers)
  }

  /** On a FakeClock, `waiting` (idle() or stop()) lasts until the clock moves for the handlers
   * asleep on it: say so once (WHARF_FAKE_CLOCK_WAIT) if nobody moves it (close-stuck.ts). The
   * handlers that called it (`callers`) are not waited for: the warning leaves them out. */
  private async warnIfStuck(call: string, waiting: Promise<void>, callers: readonly HandlerTry[]): Promise<void> {
    const clock = this.clock
    if (!(clock instanceof FakeClock)) return waiting
    const warn = (): void => {
      const jobs = this.engine.runningJobs().filter((uuid) => !callers.some((caller) => caller.job.uuid === uuid))
      this.warn(
        `${call} waits for ${jobs.length} running handler(s) (jobs ${jobs.map((uuid) => JSON.stringify(uuid)).join(', ')}) that seem to wait on this FakeClock, and nobody advances it: it waits until the clock moves (clock.advance(), or drain() instead); close() aborts them`,
        'WHARF_FAKE_CLOCK_WAIT',
      )
    }
    return watchedWait(clock, this.engine, waiting, warn)
  }

  /** Run `work` (which waits for handlers); with `timeoutMs`, abandon the handlers still running
   * that long after (clock time, or real time, whichever passes first: see close()). */
  private async withHandlerTimeout(timeoutMs: number | undefined, work: () => Promise<void>): Promise<void> {
    if (timeoutMs === undefined) return this.clock instanceof FakeClock ? this.withStuckWatch(this.clock, work) : work()
    const abandon = (): void =>
      this.engine.abandonHandlers(
        new WharfClosedError(`close(): handler still running after timeoutMs (${timeoutMs} ms); aborted, its job is recovered on the next open`),
      )
    const timer = this.clock.setTimer(this.clock.now() + timeoutMs, abandon)
    const wall = this.clock instanceof SystemClock ? null : new SystemClock()
    const wallTimer = wall?.setTimer(wall.now() + timeoutMs, abandon) ?? null
    try {
      await work()
    } finally {
      this.clock.clearTimer(timer)
      if (wallTimer !== null) wall!.clearTimer(wallTimer)
    }
  }

  /** Run `work` (which waits for handlers) without a timeout on a FakeClock: abandon the handlers
   * that only that clock can wake once nobody moves it (see close-stuck.ts). */
  private async withStuckWatch(clock: FakeClock, work: () => Promise<void>): Promise<void> {
    const abandon = (): void =>
      this.engine.abandonHandlers(
        new WharfClosedError('close(): handler waiting on a FakeClock that nobody advances; aborted, its job is recovered on the next open (drain() before close() lets it finish)'),
      )
    return watchedWait(clock, this.engine, work(), abandon)
  }

  /**
   * Stop, wait for running handlers, release storage. With `timeoutMs`, handlers still running
   * that long after the call (clock time, or real time, whichever passes first: a FakeClock nobody
   * advances must not hang a shutdown) are aborted and abandoned; their jobs stay started in the
   * log and the next open recovers them. Without `timeoutMs` on a FakeClock, handlers that only
   * that clock can wake are abandoned so once nobody advances it (close-stuck.ts). Closing a
   * closed Wharf does nothing.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = checkTimeoutOption(options, 'close')
    if (this.engine.lifecycle !== 'closed') refuseSelfWait('close()', this.engine.callers(), SELF_WAIT_INSTEAD.close)
    this.closing = true
    // Only a cluster member awaits here: an embedded close keeps its timing (close.test.ts). A
    // member stops first, while still a member: it takes no more work, its handlers finish and
    // their outcomes are answered through the inbox; then it leaves.
    const member = this.clusterMember
    if (member !== null) {
      if (this.engine.lifecycle !== 'closed') await this.withHandlerTimeout(timeoutMs, () => this.engine.stop())
      await member.stop()
    }
    const hooks = [...this.closeHooks]
    this.closeHooks.clear()
    await Promise.allSettled(hooks.map(async (hook) => hook()))
    await Promise.allSettled(this.backups)
    await this.withHandlerTimeout(this.engine.lifecycle === 'closed' ? undefined : timeoutMs, () => this.engine.close())
    this.detachClock?.()
    this.detachClock = null
    const pools = [...this.pools]
    this.pools.clear()
    await Promise.all(pools.map((pool) => pool.destroy()))
  }

  /** After close(), every call is refused (reads too, once they go through here). */
  private assertOpen(): void {
    if (this.engine.lifecycle === 'closed') throw this.refusal('this Wharf is closed; open it again with Wharf.open()')
  }

  /** A call on a closed engine: refused with what stopped it — a scheduler deposed, a store that
   * failed under it — as the calls queued then were, unless the app closed it: a bare "is closed"
   * would tell an app that never called close() nothing of why. */
  private refusal(message: string): unknown {
    const failure = this.engine.failure
    return this.closing || failure === undefined ? new WharfClosedError(message) : failure
  }

  /**
   * Store many independent jobs or graphs — each element a delayable, chain or group, as
   * `.delay()` takes it — by one command: one tick, one log batch, all of them or none (a refusal
   * names the element, `delayables[k]`, and stores nothing). Identity keys act per element, in
   * order, as that many `.delay()` calls would. Resolves once durable with the jobs element by
   * element (a graph's parents first, so a lone job per element gives `views[k]` for
   * `delayables[k]`); a graph skipped for its identity keys adds the jobs its keys matched. Every
   * delayable's `.job` is set, as `.delay()` sets it. At most DELAY_MANY_JOBS_MAX jobs per call.
   */
  async delayMany(delayables: readonly GraphNode[]): Promise<JobView[]> {
    this.assertOpen()
    const plan = planMany(delayables, undefined, undefined, this)
    if (plan.vertices.length === 0) return []
    const nowMs = this.clock.now()
    const sink = this[SINK]
    // Until their .job is set, a delay() of these waits and another delayMany refuses them.
    const settle = markStoring(plan.vertices)
    let ok = false
    try {
      let views: (JobView | undefined)[]
      if (sink !== null) {
        views = sink.captureMany(plannedGraphs(plan), nowMs).flat()
      } else {
        const ctx = this.specContext
        ctx.nowMs = nowMs
        const specs = buildManySpecs(plan, ctx)
        views = this.noDelay ? await runManyWithoutDelay(this, specs, plan.ends) : await this.engine.submit({ type: 'enqueue', jobs: specs, ends: plan.ends }, viewsOfMany)
      }
      const out = settleMany(plan, views)
      ok = true
      return out
    } finally {
      settle(ok)
    }
  }

  /**
   * Store a batch (queue_job_batch): every element — a delayable, chain or group, as delayMany
   * takes them — by one command, one tick, one log batch, all or none (a refusal names
   * `delayables[k]`, or onDone). Its jobs may not have identity keys. `onDone` is stored once,
   * the first time every job is done or cancelled with at least one done, in the same log record
   * as the event that completed it. Resolves with the batch as stored; each delayable's `.job` is
   * set. Trapped: its jobs are captured and no batch is stored; no-delay: its jobs and then
   * onDone run, and nothing is stored. States and counts: core/batch.ts.
   */
  async batch(name: string, delayables: readonly GraphNode[], options: BatchOptions = {}): Promise<BatchView> {
    this.assertOpen()
    const plan = planBatch(name, delayables, options, this)
    const nowMs = this.clock.now()
    const sink = this[SINK]
    const ctx = this.specContext
    ctx.nowMs = nowMs
    // Built trapped too: the trap refuses what batch() refuses when it stores (identity keys,
    // onDone's values), so that a test under it fails where the app would.
    const command = buildBatchCommand(plan, this.newId(), ctx)
    if (sink !== null) {
      settleMany(plan.jobs, sink.captureBatch(plannedGraphs(plan.jobs), command.jobs, command.ends, command.uuid))
      return unstoredBatch(command.uuid, plan.name, plan.jobs.vertices.length, nowMs, false)
    }
    // Until their .job is set, a delay() of these waits and delayMany or batch refuses them.
    const settle = markStoring(plan.jobs.vertices)
    // onDone's delayables are this batch's from now on (set at once: a call made meanwhile is
    // refused), unless it is refused.
    const onDone = plan.onDone?.vertices ?? []
    for (const d of onDone) d.onDoneOf = command.uuid
    let ok = false
    try {
      let batch: BatchView
      if (this.noDelay) {
        settleMany(plan.jobs, await runManyWithoutDelay(this, command.jobs, command.ends, command.uuid))
        if (command.onDone !== null) await runWithoutDelay(this, command.onDone)
        batch = unstoredBatch(command.uuid, plan.name, command.jobs.length, nowMs, true)
      } else {
        const stored = await this.engine.submit(command, storedBatch)
        settleMany(plan.jobs, stored.jobs)
        batch = stored.batch
      }
      ok = true
      return batch
    } finally {
      if (!ok) for (const d of onDone) if (d.onDoneOf === command.uuid) d.onDoneOf = null
      settle(ok)
    }
  }

  /** One page of batches, in creation order, by state; `after`: the last uuid of the page before. */
  async batches(query: BatchesQuery = {}): Promise<BatchView[]> {
    const checked = checkBatchesQuery(query)
    this.assertOpen()
    return this.engine.read((state) => batchesPage(state, checked))
  }

  /** The batch as last committed; undefined when there is no such batch (or no more: a batch
   * goes when its last job is removed or vacuumed). */
  async batchView(uuid: string): Promise<BatchView | undefined> {
    const checked = checkUuid(uuid, 'batchView')
    this.assertOpen()
    return this.engine.read((state) => batchOf(state, checked))
  }

  // ModelHost: what recordsets and delayables call.

  /** @internal */
  delayOne(target: Target, method: string, args: unknown[], props: CheckedProperties, description: string): Promise<JobView> {
    // The hot path of enqueueing: one spec, one promise, the view built when it commits.
    if (this.engine.lifecycle === 'closed' || this[SINK] !== null || this.noDelay) {
      return this.storeGraph([{ target, method, args, props }], []).then(firstView)
    }
    const ctx = this.specContext
    ctx.nowMs = this.clock.now()
    let spec: JobSpec
    try {
      spec = buildSpec(target, method, args, props, null, ctx, description, true)
    } catch (error) {
      // Bad input rejects the returned promise, like every other failure of this call.
      return Promise.reject(error)
    }
    return this.engine.submit({ type: 'enqueue', jobs: [spec] }, viewOfEnqueued)
  }

  /** @internal */
  async storeGraph(planned: PlannedJob[], edges: readonly (readonly [number, number])[]): Promise<(JobView | undefined)[]> {
    if (this.engine.lifecycle === 'closed') throw this.refusal('this Wharf is closed')
    const nowMs = this.clock.now()
    const sink = this[SINK]
    if (planned.some((p) => p.stored !== undefined)) {
      if (sink !== null || this.noDelay) {
        throw new InvalidGraphError('a job delayed before can be re-stored into a graph only by a Wharf that stores jobs (not trapped, not in no-delay mode)')
      }
      const { specs, joins, uuids } = buildGraphJoin(planned, edges, { nowMs, newId: this.newId, functions: this.functions })
      const views = await this.engine.submit({ type: 'enqueue', jobs: specs, joins }, viewsOfGraph)
      // views follows specs then joins; the caller wants them in planned order.
      const position = new Map<string, number>()
      specs.forEach((s, i) => position.set(s.uuid, i))
      joins.forEach((j, i) => position.set(j.uuid, specs.length + i))
      return uuids.map((uuid) => views[position.get(uuid)!])
    }
    if (sink !== null) return sink.capture(planned, edges, nowMs)
    const specs = buildSpecs(planned, edges, { nowMs, newId: this.newId, functions: this.functions })
    if (this.noDelay) return runWithoutDelay(this, specs)
    return this.engine.submit({ type: 'enqueue', jobs: specs }, viewsOfEnqueued)
  }

  /** @internal */
  callNow(target: Target, method: string, args: unknown[]): unknown {
    const handler = this.functions.handler(target.model, method)!
    // With a FakeClock, moved on while the handler sleeps on it: the caller awaits it, nobody else would.
    return callDirectly(handler, new JobContext(target.ids, target.context, this.clock, null), args, this.clock)
  }

  private async command(command: Command): Promise<void> {
    await hintUnstored(this.storeMode, this.engine.submit(command))
  }

  /** Whether delayed calls are stored now (an UnknownJobError says why not: unstored-hint.ts). */
  private get storeMode(): StoreMode {
    return this[SINK] !== null ? 'trapped' : this.noDelay ? 'no-delay' : 'stored'
  }
}

/** Join the cluster once the engine is open; a failure closes the engine (and the log) again. */
async function attachCluster(cluster: Cluster, engine: Engine): Promise<void> {
  try {
    await cluster.attach(engine)
  } catch (error) {
    await cluster.stop()
    await engine.close()
    throw error
  }
}

/** Telemetry and logging from the committed events: registered only when asked for, so that a
 * Wharf without them runs no per-job code for them. */
function observe(engine: Engine, telemetry: TelemetryOptions | null, logger: Logger | null, warn: Warn): void {
  const observer = new Telemetry(telemetry ?? {}, logger, () => engine.state, warn)
  engine.onEvent((event) => observer.onEvent(event))
  engine.onTryTimedOut((uuid) => observer.timedOut(uuid))
  engine.onClosed(() => observer.closed(engine.clock.now()))
  if (logger === null) return
  // Through the observer, which guards the logger: a throw here would fail open() with the store
  // left open, or close() before its pools are destroyed.
  observer.log('info', { ...engine.openReport }, 'wharf: opened')
  engine.onClosed((why) => {
    if (why instanceof WharfClosedError) observer.log('info', {}, 'wharf: closed')
    else observer.log('error', { err: why }, `wharf: the engine stopped: ${why instanceof Error ? why.message : String(why)}`)
  })
}

function firstView(views: (JobView | undefined)[]): JobView {
  return views[0]!
}

/** Options that are `{ timeoutMs? }` only (close, result), checked for the call named `where`. */
function checkTimeoutOption(options: unknown, where: string): number | undefined {
  if (!isOptionsObject(options)) throw new InvalidPropertyError(`${where}(): options must be an object, got ${describe(options)}`)
  for (const key of Object.keys(options)) {
    if (key !== 'timeoutMs') throw new InvalidPropertyError(`${where}(): unknown option ${JSON.stringify(key)}; known: timeoutMs`)
  }
  const timeoutMs = (options as { timeoutMs?: unknown }).timeoutMs
  if (timeoutMs === undefined) return undefined
  if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > TIMEOUT_MS_MAX) {
    throw new InvalidPropertyError(`${where}(): timeoutMs must be an integer number of ms from 0 to ${TIMEOUT_MS_MAX}, got ${describe(timeoutMs)}`)
  }
  return timeoutMs
}

function channelArg(name: unknown, where: string): string {
  if (typeof name !== 'string') throw new InvalidChannelConfigError(`${where}(): channel name must be a string, got ${describe(name)}`)
  // Not root, as an empty channel property means: an unset variable would pause every channel.
  if (name.trim() === '') throw new InvalidChannelConfigError(`${where}(): channel name must be non-empty ('root' for the root channel), got ${describe(name)}`)
  return normalizeChannelName(name)
}
