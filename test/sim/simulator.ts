// The seeded simulator (TigerBeetle's VOPR, for Wharf): one 32-bit seed drives the channel tree,
// the workload, handler outcomes and durations on a FakeClock, management calls, and storage
// faults — failed appends, slow writes, crashes (the process is abandoned, never closed; its
// handle on the store is fenced and its clock never moves again, so nothing it left behind can
// act) and snapshots. Days pass now and then, so autovacuum (on open, hourly, or asked for)
// removes finished jobs past their retention (retention.ts judges each removal), and reads are
// checked against the durable log (reads.ts). A safety phase with faults is audited after every
// step; a liveness phase without faults must then bring every job to an end within a bounded
// simulated time.

import { createHash } from 'node:crypto'
import { parseChannelConfig, type ChannelConfig } from '../../src/engine/core/channel-config.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import type { State } from '../../src/engine/core/state.js'
import type { JobView } from '../../src/engine/core/view.js'
import { AuditError, Auditor, describeError, tokenOf, type Call } from './auditor.js'
import { breakEngine, CRON_BUGS, ENGINE_BUGS, type SimBug } from './bugs.js'
import { channelRules, checkCapacity, checkSameState, foldHistory, StartWatch, storeState, stuckJobs, type ChannelRules } from './checks.js'
import { Incarnation } from './incarnation.js'
import { Rng } from './prng.js'
import { ReadAudit } from './reads.js'
import { checkVacuumComplete, checkVacuumSeen, DAY_MS, expiredGroups, Retention } from './retention.js'
import { SimStore, StorageFaultError, turns, type FaultCounters, type FaultRates } from './store.js'
import { SimFailure, Trace } from './trace.js'
import { SimUsers, type UsersHost } from './users.js'
import { RulesAudit } from './rules.js'
import { SimCrons } from './crons.js'
import { ALL_CHANNELS, channelConfigText, decideRun, functionSetup, retentionDays, RETRY_PATTERNS, retryAsked, type FunctionSetup, type ModelName } from './workload.js'

export interface SimOptions {
  /** Steps of the safety phase (default 250). */
  steps?: number
  /** Inject storage faults and crashes in the safety phase (default true). */
  faults?: boolean
  /** Run against a deliberately broken variant (tests of the simulator itself). */
  bug?: SimBug | null
  /** Decisions printed with a failure (default 40). */
  traceLines?: number
  /**
   * Simulated time the liveness phase may take (default 6 h; the longest of 2000 seeds took about
   * half an hour: retries of up to 600 s, throttles and etas along graphs a few levels deep).
   */
  livenessBoundMs?: number
  /** Real time after which the liveness drain counts as hung (default 20 s), the run 3 times that. */
  hangAfterMs?: number
}

export interface SimStats {
  seed: number
  steps: number
  jobs: number
  events: number
  calls: { acked: number; rejected: number; lost: number; inflight: number }
  faults: FaultCounters & { crashes: number; interruptedOpens: number; failedOpens: number; snapshots: number; unheard: number }
  incarnations: number
  /** Vacuums in the log, jobs they removed, graphs (or lone jobs) checked gone after a vacuum
   * that ran to its end, and read answers checked. */
  history: { vacuums: number; vacuumed: number; removed: number; checkedGone: number; reads: number }
  /** Decisions of the durable log judged by the rules audit (rules.ts), per rule. */
  rules: RulesAudit['judged']
  /** Cron calls made, and firings judged (crons.ts). */
  crons: { calls: number; fired: number }
  simulatedMs: number
  livenessMs: number
  realMs: number
}

export interface SimResult {
  seed: number
  failure: SimFailure | null
  stats: SimStats
  /** Hash of the durable history: equal for two runs of one seed. */
  fingerprint: string
}

const START_MS = Date.UTC(2026, 0, 1)
const FOLD_EVERY_STEPS = 10
const SAFETY_WEIGHTS = {
  enqueue: 14, graph: 7, cancel: 4, requeue: 4, setDone: 3, pause: 2, resume: 3,
  turns: 10, advance: 12, settle: 3, snapshot: 2, crash: 2, storm: 2, age: 2, vacuum: 1, read: 4, remove: 2, cron: 2,
} as const
type Action = keyof typeof SAFETY_WEIGHTS
const ADVANCES_MS = [0, 1, 10, 250, 1000, 5000, 30_000, 120_000, 700_000] as const
/** Days going by (a quiet weekend): finished jobs age past their retention. */
const AGES_MS = [DAY_MS / 4, DAY_MS, DAY_MS, 2 * DAY_MS, 3 * DAY_MS] as const
/** A restart takes a while (a day, even); the restarted clock may be behind (set back by NTP). */
const RESTART_JUMPS_MS = [-60_000, -1000, 0, 0, 0, 5, 1000, 60_000, 3_600_000, DAY_MS] as const
const STORMS: readonly FaultRates[] = [
  { appendFail: 0, slowWrite: 0, lateFail: 0, readFail: 0 },
  { appendFail: 0.03, slowWrite: 0.2, lateFail: 0.1, readFail: 0.1 },
  { appendFail: 0.1, slowWrite: 0.3, lateFail: 0.2, readFail: 0.2 },
  { appendFail: 0.3, slowWrite: 0.5, lateFail: 0.3, readFail: 0.3 },
]
/** Runs with handlers' I/O waits, late append failures and failed reads: all but the broken
 * variants found before those existed (each is caught within its few seeds as it was). */
function newFaults(bug: SimBug | null): boolean {
  return bug === null || bug === 'pipeline-acks-lost-ticks'
}
/** Opens tried in a row before an open counts as impossible. At the stormiest rates an open fails
 * about four times in five (its snapshot read, its log reads and its recovery appends may each
 * fail, and it may be cut): 30 in a row failed once in 3,000 seeds (seed 10810), each for an
 * injected fault. 200 in a row are ~1e-22; a livelock still ends here. */
const OPEN_ATTEMPTS_MAX = 200
const STEPS_DEFAULT = 250
const LIVENESS_BOUND_MS = 6 * 3_600_000

export async function runSimulation(seed: number, options: SimOptions = {}): Promise<SimResult> {
  const startedMs = performance.now()
  const sim = new Simulation(seed, options)
  let failure: SimFailure | null = null
  // A deadlock never moves the clock; only real time can tell.
  const hangMs = 3 * (options.hangAfterMs ?? 20_000)
  let watchdog: ReturnType<typeof setTimeout> | undefined
  // Nobody awaited it, so nobody could handle it: by default it would end the process.
  const onUnhandled = (reason: unknown): void => sim.problem(`unhandled rejection: ${describeError(reason)}`)
  process.on('unhandledRejection', onUnhandled)
  try {
    await Promise.race([
      sim.run(),
      new Promise<never>((_, reject) => {
        watchdog = setTimeout(() => reject(new Error(`the run did not finish within ${hangMs / 1000} s of real time (deadlock?)`)), hangMs)
      }),
    ])
  } catch (error) {
    failure = error instanceof SimFailure ? error : sim.failure(describeError(error))
  } finally {
    clearTimeout(watchdog)
    process.off('unhandledRejection', onUnhandled)
  }
  return { seed: sim.seed, failure, stats: sim.stats(performance.now() - startedMs), fingerprint: sim.fingerprint() }
}

export class Simulation implements UsersHost {
  readonly seed: number
  readonly rng: Rng
  readonly auditor: Auditor
  readonly setup: FunctionSetup
  private readonly configText: string
  private readonly config: ChannelConfig[]
  private readonly rules: ChannelRules
  private readonly users: SimUsers
  private readonly crons: SimCrons
  private readonly salt: number
  private readonly snapshotEvery: number
  private readonly retention: Retention
  private readonly store: SimStore
  private readonly reads: ReadAudit
  private rulesWatch: RulesAudit
  /** Vacuums of the durable log checked so far (store.vacuums). */
  private vacuumsChecked = 0
  private checkedGone = 0
  private readonly trace: Trace
  private readonly watch: StartWatch
  private readonly counters: FaultCounters = {
    appends: 0, failedAppends: 0, slowWrites: 0, writtenAtCrash: 0, lostAtCrash: 0, lateFailures: 0, failedMidPipeline: 0, failedReads: 0,
  }
  private readonly more = { crashes: 0, interruptedOpens: 0, failedOpens: 0, snapshots: 0, unheard: 0 }
  private rates: FaultRates = STORMS[0]!
  private current: Incarnation | null = null
  private incarnations = 0
  private readonly runsByToken = new Map<number, number>()
  /** The first check that failed inside a callback; raised after the step. */
  private failedCheck: string | null = null
  private step = 0
  private livenessMs = 0
  private foldCheckedAtFailure = 0
  /** seq of the newest acknowledgement (bug 'lose-acked-write' loses it at a crash). */
  private ackedSeq = 0
  private lastNow = START_MS
  private newIdCounter = 0
  readonly newId = (): string => `j${String(++this.newIdCounter).padStart(6, '0')}`

  constructor(seed: number, private readonly options: SimOptions) {
    this.rng = new Rng(seed)
    this.seed = seed >>> 0
    this.trace = new Trace(() => (this.current?.clock.now() ?? this.lastNow) - START_MS)
    this.configText = channelConfigText(this.rng)
    this.config = parseChannelConfig(this.configText)
    this.rules = channelRules(this.config)
    this.setup = functionSetup(this.rng)
    this.salt = this.rng.next()
    this.snapshotEvery = this.rng.pick([0, 0, 25, 100, 400])
    this.retention = new Retention(this.config, retentionDays(this.rng))
    this.store = new SimStore(this.config)
    this.reads = new ReadAudit(this.store, this)
    this.auditor = new Auditor(this.config, this.store.vacuumed, this.store.removed, this.store.orphaned)
    this.watch = new StartWatch(this.rules)
    this.crons = new SimCrons(this)
    this.rulesWatch = this.watchStore()
    this.users = new SimUsers(this)
  }

  async run(): Promise<void> {
    const steps = this.options.steps ?? STEPS_DEFAULT
    const faults = this.options.faults ?? true
    this.trace.add(`channels '${this.configText}', functions ${JSON.stringify(this.setup)}, snapshotEvery ${this.snapshotEvery}, removeAfterDays ${this.retention.defaultDays}`)
    await this.open()
    for (this.step = 1; this.step <= steps; this.step++) {
      this.trace.step = this.step
      await this.act(faults)
      await this.audit(this.step % FOLD_EVERY_STEPS === 0)
    }
    this.step = steps + 1
    this.trace.step = this.step
    await this.liveness()
    // A clean restart at the end: the recovered state must be the same, with nothing to recover.
    await this.crash()
    await this.audit(true)
    const report = this.live().wharf.openReport
    if (report.requeued + report.foundDead > 0) this.raise(`after convergence, reopening recovered ${report.requeued + report.foundDead} jobs`)
    // A rejection nobody handled is reported a turn after it happened.
    await turns(2)
    if (this.failedCheck !== null) this.raise(this.failedCheck)
  }

  /** A fresh rules audit of the durable log (it follows the log from its first event). */
  /**
   * Judge every event the store accepts on its durable fold just before it — the state it was
   * decided on. (A listener of the live Wharf would see the state of a tick decided after it:
   * appends are pipelined.) Called again when the store is rebuilt, which replays its batches.
   */
  private watchStore(): RulesAudit {
    const rules = this.rulesAudit()
    const crons = this.crons.judge()
    const starts = this.watch
    starts.forget()
    this.store.watch = {
      before: (state, batch, i) => {
        rules.before(state, batch, i)
        try {
          starts.onEvent(batch[i]!, state)
          const problem = crons.judge(state, batch, i)
          if (problem !== null) this.problem(`crons: event ${batch[i]!.seq} ${batch[i]!.type} at ${batch[i]!.at}: ${problem}`)
        } catch (error) {
          this.problem(describeError(error))
        }
      },
      after: (state, event) => rules.after(state, event),
    }
    return rules
  }

  private rulesAudit(): RulesAudit {
    return new RulesAudit(this.config, {
      asked: (job) => retryAsked(this.salt, job.model as ModelName, tokenOf(job)!, job.retry),
      pattern: (job) => RETRY_PATTERNS[job.model as ModelName],
      problem: (check) => this.problem(check),
    })
  }

  failure(check: string): SimFailure {
    return new SimFailure(this.seed, this.step, check, this.trace.tail(this.options.traceLines ?? 40))
  }

  stats(realMs: number): SimStats {
    const state = this.current?.wharf.engine.state
    return {
      seed: this.seed,
      steps: this.step,
      jobs: state?.jobs.size ?? 0,
      events: this.store.lastSeq,
      calls: this.auditor.counts,
      faults: { ...this.counters, ...this.more },
      incarnations: this.incarnations,
      history: { vacuums: this.store.vacuums.length, vacuumed: this.store.vacuumed.size, removed: this.store.removed.size, checkedGone: this.checkedGone, reads: this.reads.checked },
      rules: { ...this.rulesWatch.judged },
      crons: { calls: this.crons.calls.length, fired: this.crons.fired },
      simulatedMs: (this.current?.clock.now() ?? this.lastNow) - START_MS,
      livenessMs: this.livenessMs,
      realMs,
    }
  }

  /** Stack traces (excInfo) name files and frames of the host process: left out. */
  fingerprint(): string {
    const text = JSON.stringify(this.store.history, (key, value: unknown) => (key === 'excInfo' ? undefined : value))
    return createHash('sha256').update(text).digest('hex').slice(0, 16)
  }

  // ---- what the simulated users need (UsersHost) --------------------------------------------

  everyJob(): State {
    return this.store.everyJob()
  }

  vacuumed(): ReadonlyMap<string, unknown> {
    return this.store.vacuumed
  }

  removed(): ReadonlyMap<string, unknown> {
    return this.store.removed
  }

  live(): Incarnation {
    if (this.current === null) throw new AuditError('no incarnation is open')
    return this.current
  }

  note(line: string): void {
    this.trace.add(line)
  }

  problem(check: string): void {
    this.failedCheck ??= check
  }

  unheard(call: Call): void {
    this.more.unheard++
    this.trace.add(`${call.kind} #${call.id} settled in dead incarnation ${call.incarnation}: nobody hears it`)
  }

  acknowledged(seq: number): void {
    if (seq > this.ackedSeq) this.ackedSeq = seq
  }

  /**
   * After a failed append the tick was rolled back just now, and nothing has run since: the live
   * state must be exactly what the durable history says (checked once per failed append).
   */
  rejectedBy(inc: Incarnation, error: unknown): void {
    if (!(error instanceof StorageFaultError) || inc.handle.dead || this.counters.failedAppends === this.foldCheckedAtFailure) return
    this.foldCheckedAtFailure = this.counters.failedAppends
    checkSameState('after a failed append, live state vs fold of the durable log', inc.wharf.engine.state, foldHistory(this.config, this.store.events()))
  }

  private raise(check: string): never {
    throw this.failure(check)
  }

  // ---- actions ----------------------------------------------------------------------------

  private async act(faults: boolean): Promise<void> {
    const weights: Record<Action, number> = { ...SAFETY_WEIGHTS }
    if (!faults) weights.crash = weights.storm = 0
    // The broken variants (bugs.ts) are each caught within a few seeds chosen before remove()
    // and crons existed; at weight 0, last in the table, they leave those runs draw for draw.
    const bug = this.options.bug ?? null
    if (bug !== null) weights.remove = 0
    if (bug !== null && !CRON_BUGS.includes(bug)) weights.cron = 0
    const action = this.rng.weighted(weights)
    switch (action) {
      case 'enqueue':
        return this.users.enqueueOne()
      case 'graph':
        return this.users.enqueueGraph()
      case 'cancel': {
        // Now and then a parent of a running job: the cancel's cascade skips that child, whose
        // retry or recovery must cancel it later (rules.ts). Not in the broken variants' runs,
        // which keep their draws.
        const parent = bug === null && this.rng.chance(0.5) ? this.parentOfRunning() : null
        return this.users.manageJob(action, parent ?? this.users.pickJob())
      }
      case 'requeue':
      case 'setDone':
      case 'remove':
        return this.users.manageJob(action, this.users.pickJob())
      case 'pause':
      case 'resume':
        void this.users.manageChannel(action, this.rng.pick(ALL_CHANNELS))
        return
      case 'turns': {
        const n = this.rng.between(1, 4)
        this.trace.add(`let ${n} event-loop turns pass`)
        return turns(n)
      }
      case 'advance':
      case 'age': {
        const ms = this.rng.pick(action === 'age' ? AGES_MS : ADVANCES_MS)
        this.trace.add(`advance the clock ${action === 'age' ? `${ms / DAY_MS} days` : `${ms} ms`}`)
        return this.live().clock.advance(ms)
      }
      case 'vacuum':
        return this.vacuum()
      case 'cron':
        return this.crons.act()
      case 'read':
        return this.reads.readJob(this.live(), this.readTarget())
      case 'settle':
        this.trace.add('await settled()')
        return this.live().wharf.settled()
      case 'snapshot':
        return this.snapshot()
      case 'crash': {
        // Let a tick or two get under way first, so that a write may be in flight.
        const n = this.rng.between(0, 3)
        if (n > 0) {
          this.trace.add(`let ${n} event-loop turns pass`)
          await turns(n)
        }
        return this.crash()
      }
      case 'storm':
        this.rates = this.rng.pick(STORMS)
        // The broken variants found before these faults existed run without them, as they did.
        if (!newFaults(this.options.bug ?? null)) this.rates = { ...this.rates, lateFail: 0, readFail: 0 }
        this.trace.add(`storage weather: appends fail ${this.rates.appendFail * 100}%, slow writes ${this.rates.slowWrite * 100}% (of which fail ${this.rates.lateFail * 100}%), open's reads fail ${this.rates.readFail * 100}%`)
        return
    }
  }

  private async snapshot(): Promise<void> {
    const inc = this.live()
    this.more.snapshots++
    const awaited = this.rng.chance(0.5)
    this.trace.add(`snapshot (${awaited ? 'awaited' : 'in the background'})`)
    const p = inc.wharf.snapshot().then(
      () => undefined,
      (error: unknown) => this.problem(`wharf.snapshot() rejected: ${describeError(error)}`),
    )
    if (awaited) await p
  }

  /** A parent, not cancelled yet, of a job the log holds enqueued or started; null when none. */
  private parentOfRunning(): string | null {
    const parents: string[] = []
    for (const job of this.everyJob().jobs.values()) {
      if (job.state !== 'started' && job.state !== 'enqueued') continue
      for (const p of job.parents) if (p.state !== 'cancelled') parents.push(p.uuid)
    }
    return parents.length === 0 ? null : parents[this.rng.below(parents.length)]!
  }

  /**
   * Whom a read asks about: a job the log holds (see pickJob), or one of the newest the process
   * holds in memory, which a batch still being written (or about to fail) may have created or
   * changed: a read must not see that before it is durable.
   */
  private readTarget(): string {
    const live = [...this.live().wharf.engine.state.jobs.keys()]
    if (live.length === 0 || this.rng.chance(0.5)) return this.users.pickJob()
    return live[live.length - 1 - this.rng.below(Math.min(live.length, 3))]!
  }

  /**
   * Autovacuum, asked for (as the hourly timer would): once it returns, every graph past its
   * retention when it started is gone, unless a command brought it back to memory meanwhile.
   */
  private async vacuum(): Promise<void> {
    const inc = this.live()
    const atMs = inc.clock.now()
    const expired = expiredGroups(this.store.durable, this.retention, atMs)
    const sinceSeq = this.store.lastSeq
    this.trace.add(`vacuum (${expired.length} graphs or lone jobs past their retention)`)
    try {
      const removed = await inc.wharf.engine.vacuum()
      this.trace.add(`vacuum removed ${removed} jobs`)
      this.checkedGone += checkVacuumComplete(`vacuum at t+${(atMs - START_MS) / 1000}s`, expired, sinceSeq, this.store, this.retention)
    } catch (error) {
      if (error instanceof StorageFaultError) this.trace.add(`vacuum rejected: ${describeError(error)}`)
      else this.problem(describeError(error))
    }
  }

  // ---- crashes and restarts -----------------------------------------------------------------

  /** Abandon the running incarnation (no close: its process is gone) and start a new one. */
  private async crash(): Promise<void> {
    const inc = this.live()
    this.more.crashes++
    this.trace.add(`CRASH incarnation ${inc.n}`)
    this.lastNow = inc.clock.now()
    inc.handle.crash()
    this.auditor.crashed(inc.n)
    this.crons.crashed(inc.n)
    this.reads.crashed(inc.n)
    this.current = null
    if (this.options.bug === 'lose-acked-write' && this.ackedSeq > 0) {
      const batch = this.store.history.find((b) => b.at(-1)!.seq >= this.ackedSeq)
      if (batch !== undefined) {
        this.trace.add(`BUG: the store loses seq ${batch[0]!.seq} onwards, acknowledged up to ${this.ackedSeq}`)
        this.rulesWatch = this.watchStore()
        await this.store.truncateAfter(batch[0]!.seq - 1)
        this.vacuumsChecked = 0
      }
    }
    await this.open()
  }

  /** Open a new incarnation on the store; an open may fail (injected faults) or be cut short. */
  private async open(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (attempt > OPEN_ATTEMPTS_MAX) this.raise(`could not open Wharf in ${OPEN_ATTEMPTS_MAX} attempts`)
      const n = ++this.incarnations
      const startMs = this.incarnations === 1 ? START_MS : this.lastNow + this.rng.pick(RESTART_JUMPS_MS)
      const inc = new Incarnation(n, startMs, this.store, this.rng.fork(), () => this.rates, this.counters, (line) => this.trace.add(line))
      this.trace.add(`open incarnation ${n} at t+${((startMs - START_MS) / 1000).toFixed(3)}s`)
      // Open vacuums before anything else can run: what was past its retention then must go.
      const [expired, sinceSeq] = [expiredGroups(this.store.durable, this.retention, startMs), this.store.lastSeq]
      const opening = inc.open({
        channels: this.configText, newId: this.newId, snapshotEvery: this.snapshotEvery, removeAfterDays: this.retention.defaultDays, setup: this.setup, hook: this.runHook,
      })
      const cutAfter = this.current === null && this.incarnations > 1 && this.rng.chance(0.1) ? this.rng.between(1, 6) : null
      const outcome = await Promise.race([
        opening.then(() => 'opened' as const, (error: unknown) => error),
        ...(cutAfter === null ? [] : [turns(cutAfter).then(() => 'cut' as const)]),
      ])
      if (outcome === 'cut') {
        this.more.interruptedOpens++
        this.trace.add(`CRASH incarnation ${n} while it opens (after ${cutAfter} turns)`)
        this.lastNow = inc.clock.now()
        inc.handle.crash()
        continue
      }
      if (outcome !== 'opened') {
        this.more.failedOpens++
        this.trace.add(`open of incarnation ${n} failed: ${describeError(outcome)}`)
        if (!(outcome instanceof StorageFaultError)) this.raise(`Wharf.open failed: ${describeError(outcome)}`)
        if (inc.handle.isOpen) this.raise(`Wharf.open failed (${describeError(outcome)}) and left its log open: a retry on a LevelDB path would find it locked`)
        if (inc.clock.pendingTimers() > 0) this.raise(`Wharf.open failed (${describeError(outcome)}) and left ${inc.clock.pendingTimers()} timers behind`)
        this.lastNow = inc.clock.now()
        inc.handle.crash()
        continue
      }
      const bug = this.options.bug ?? null
      if (bug !== null && ENGINE_BUGS.includes(bug)) breakEngine(inc.wharf.engine, bug)
      this.current = inc
      try {
        this.checkedGone += checkVacuumComplete(`vacuum on open of incarnation ${n}`, expired, sinceSeq, this.store, this.retention)
      } catch (error) {
        this.raise(describeError(error))
      }
      await inc.wharf.start()
      const r = inc.wharf.openReport
      this.trace.add(`incarnation ${n} running: ${r.jobs} jobs, snapshot at ${r.snapshotSeq}, ${r.replayedEvents} events replayed, ${r.requeued} requeued, ${r.foundDead} found dead`)
      await this.audit(true)
      return
    }
  }

  private readonly runHook = (model: ModelName, context: { job: JobView | undefined }, plan: { token: number }) => {
    const runs = this.runsByToken.get(plan.token) ?? 0
    this.runsByToken.set(plan.token, runs + 1)
    const retry = context.job?.retry ?? 0
    const decided = decideRun(this.salt, model, plan.token, retry, runs)
    // No I/O waits in the liveness phase: drain() gives handlers one turn of real I/O before it
    // moves the FakeClock on to the next timer — a cron's next firing, whose job would be next.
    const bug = this.options.bug ?? null
    const io = this.step <= (this.options.steps ?? STEPS_DEFAULT) && newFaults(bug)
    const d = io ? decided : { ...decided, ioTurns: 0 }
    this.trace.add(`run ${context.job?.uuid} (token ${plan.token}) try ${retry}: ${JSON.stringify(d.outcome)} after ${d.sleepMs} ms${d.ioTurns > 0 ? ` and ${d.ioTurns} turns` : ""}`)
    return d
  }

  // ---- audit ---------------------------------------------------------------------------------

  /** After every step: the core's own audit, capacity, the auditor, and (now and then) replay. */
  private async audit(replay: boolean): Promise<void> {
    if (this.failedCheck !== null) this.raise(this.failedCheck)
    const inc = this.live()
    const state = inc.wharf.engine.state
    this.watch.saw(inc.clock.now())
    try {
      checkCapacity(state, this.rules)
      checkInvariants(state)
      for (; this.vacuumsChecked < this.store.vacuums.length; this.vacuumsChecked++) checkVacuumSeen(this.store.vacuums[this.vacuumsChecked]!, this.retention)
      const every = this.everyJob()
      this.auditor.audit(every)
      this.crons.audit(every)
      if (replay && inc.wharf.engine.quiet) await this.checkReplay(state)
      if (replay && inc.wharf.engine.quiet) await this.reads.auditExact(inc.wharf, this.rng)
    } catch (error) {
      this.raise(describeError(error))
    }
    if (this.failedCheck !== null) this.raise(this.failedCheck)
  }

  /** live == fold(durable history) == snapshot + tail as the store holds them. */
  private async checkReplay(state: State): Promise<void> {
    const folded = foldHistory(this.config, this.store.events())
    checkSameState('live state vs fold of the durable log', state, folded)
    checkSameState('snapshot + tail in the store vs fold of the durable log', await storeState(this.config, this.store.log), folded)
  }

  // ---- liveness ------------------------------------------------------------------------------

  /** No faults: resume every channel, drain(), and every job must have ended (or be held by design). */
  /** While the engine runs, a cron fires at its very time: to the next firing, then none is due. */
  private async cronOnTime(inc: Incarnation): Promise<void> {
    const next = this.crons.nextFiring(inc.wharf.engine.state)
    if (next === null || next <= inc.clock.now()) return
    this.trace.add(`advance the clock to the next cron firing, t+${(next - START_MS) / 1000}s`)
    await inc.clock.advanceTo(next)
    await inc.wharf.settled()
    try {
      this.crons.checkNoneDue(inc.wharf.engine.state, inc.clock.now())
    } catch (error) {
      this.raise(describeError(error))
    }
  }

  private async liveness(): Promise<void> {
    this.rates = STORMS[0]!
    const inc = this.live()
    this.trace.add('LIVENESS: faults off')
    await inc.wharf.settled()
    for (const node of [...inc.wharf.engine.state.channels.values()]) if (node.paused) await this.users.manageChannel('resume', node.name)
    await this.audit(false)
    await this.cronOnTime(inc)
    try {
      this.livenessMs = await inc.drainWithin(this.options.livenessBoundMs ?? LIVENESS_BOUND_MS, this.options.hangAfterMs ?? 20_000)
    } catch (error) {
      this.raise(describeError(error))
    }
    this.trace.add(`drained after ${(this.livenessMs / 1000).toFixed(3)} s simulated`)
    try {
      this.crons.checkNoneDue(inc.wharf.engine.state, inc.clock.now())
    } catch (error) {
      this.raise(describeError(error))
    }
    const stuck = stuckJobs(inc.wharf.engine.state, this.rules)
    if (stuck.length > 0) {
      this.raise(`liveness: ${stuck.length} jobs did not converge: ${stuck.slice(0, 5).map((j) => `${j.uuid} ${j.state} on ${j.channel.name}`).join(', ')}`)
    }
    await this.audit(true)
  }
}
