// Shared by the engine-level property tests (engine-model, races): a Wharf on a MemoryLog and a
// FakeClock whose every committed event is re-checked, one at a time, against a shadow fold and a
// model of the channel rules written independently of the core (slots, pauses, throttles and the
// sequential rules recomputed from the jobs and the config text). Not a test file itself.
import fc from 'fast-check'
import { expect } from 'vitest'
import { parseChannelConfig, type ChannelConfig } from '../../src/engine/core/channel-config.js'
import { initialState } from '../../src/engine/core/channels.js'
import { evolve, fold } from '../../src/engine/core/evolve.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { PROGRESS_INTERVAL_MS } from '../../src/engine/core/limits.js'
import { projectState } from '../../src/engine/core/project.js'
import { historyQuery } from '../../src/storage/history.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import { sequentialIds } from '../../src/engine/runtime/ids.js'
import {
  FailedJobError,
  FakeClock,
  JOB_STATES,
  MemoryLog,
  NothingToDoJob,
  RetryableJobError,
  Wharf,
  type JobContext,
  type JobView,
  type RecordsetOf,
  type WharfEvent,
} from '../../src/index.js'
import { seededRandom } from '../sim/prng.js'
import { pathOf, isRunning, isBlocking, Oracle } from './oracle.js'
import { betterReady, cascadeProblem } from './oracle-rules.js'

const RUN_TIMEOUT_MS = 20_000

/** FC_SEED and FC_PATH (both printed on failure) replay a run; FC_NUM_RUNS deepens the search. */
/** Every finished job in history, oldest uuid first (the engine model never holds more). */
const EVERY_FINISHED = historyQuery()

export function fcParams(defaultRuns: number): fc.Parameters<unknown> {
  const { FC_NUM_RUNS, FC_SEED, FC_PATH } = process.env
  return {
    numRuns: Number(FC_NUM_RUNS ?? defaultRuns),
    // A run that hangs (a drain or close that never returns) fails, and shrinks, like any other.
    timeout: RUN_TIMEOUT_MS,
    ...(FC_SEED ? { seed: Number(FC_SEED) } : {}),
    ...(FC_PATH ? { path: FC_PATH } : {}),
  }
}

export { seededRandom }

// ---------------------------------------------------------------------------------------------
// Handler plans: what each try of a job does, decided at enqueue and carried in the job's args.

/** Every job function here has this timeout; a 'timeout' try sleeps three times as long. */
export const TIMEOUT_MS = 1000
/** queue_job retry pattern used when a run configures one: 1 s, then 1–4 s from the 3rd try. */
export const PATTERN = { 1: 1, 3: [1, 4] } as const
export const PATTERN_MIN_MS = 1000
export const PATTERN_MAX_MS = 4000
export const DEFAULT_RETRY_MS = 600_000

/** One try: `ms` null = the handler settles synchronously, else after sleeping ms of fake time. */
export type Try =
  | { k: 'done' | 'nothing' | 'fail'; ms: number | null }
  | { k: 'retry'; ms: number | null; s: number | null; ig: boolean }
  | { k: 'timeout' }
export type Plan = Try[]

/** The try a job's nth call (0-based) makes: the plan's last try repeats for ever. */
export const tryOf = (plan: Plan, n: number): Try => plan[Math.min(n, plan.length - 1)]!

/** What the job function does for one try: returns or throws, now or after sleeping. */
export function perform(ctx: JobContext, t: Try): unknown {
  // Every try reports twice at once (the second is held), and one that sleeps once more before
  // it settles: written at once after a long sleep, held for the end of the try after a short
  // one (the auditor checks that at most the try's last write comes sooner than the interval).
  ctx.progress(0.25, t.k)
  ctx.progress(0.5, t.k)
  if (t.k === 'timeout') {
    void ctx.signal // create the signal first, so the timeout aborts this sleep
    return ctx.sleep(TIMEOUT_MS * 3).then(() => 'late')
  }
  const settle = (): unknown => {
    switch (t.k) {
      case 'done':
        return 'ok'
      case 'nothing':
        throw new NothingToDoJob('nothing to do')
      case 'fail':
        throw new FailedJobError('boom')
      case 'retry':
        throw new RetryableJobError('again', { ...(t.s === null ? {} : { seconds: t.s }), ignoreRetry: t.ig })
    }
  }
  return t.ms === null ? settle() : ctx.sleep(t.ms).then(() => {
    ctx.progress(1)
    return settle()
  })
}

// ---------------------------------------------------------------------------------------------
// The oracle (test/property/oracle.ts): the channel rules of queue_job, recomputed from the jobs,
// the config text and the events seen so far — never from the core's own counters.

export { readyFirst, etaFirst, minBy, pathOf, isRunning, isBlocking, isTerminal, Oracle } from './oracle.js'

// ---------------------------------------------------------------------------------------------
// The auditor: re-plays the committed events one at a time on a shadow state and checks, before
// each is applied, that the engine was allowed to write it.

export interface AuditorOptions {
  config: readonly ChannelConfig[]
  /** Whether the job function has PATTERN as its retry pattern. */
  pattern: boolean
}

export class Auditor {
  readonly state: State
  readonly oracle: Oracle
  /** job.started events seen per job: the nth start is the job function's nth call. */
  readonly starts = new Map<string, number>()
  /** seqs written by Wharf.open (recovery, vacuum): the only place job.recovered may appear. */
  readonly openSeqs = new Set<number>()
  /** Graphs seen, with whether one of their keyed jobs had no twin (so duplicates are allowed). */
  private readonly graphs = new Map<string, boolean>()
  /** Why each identity key got a second holder, for the report (e.g. 'retry', 'recovered', 'graph'). */
  readonly duplicates: string[] = []
  /** Notable situations met, for the report: a better job held back, a throttle or sequential rule at work. */
  readonly seen = new Map<string, number>()
  audited = 0
  /** Each started job's latest job.progressed; `final` when it came sooner than the interval
   * allows, which only the try's last value, written as it ends, may. */
  private readonly progressed = new Map<string, { run: number; at: number; final: boolean }>()

  constructor(private readonly options: AuditorOptions) {
    this.state = initialState(options.config)
    this.oracle = new Oracle(options.config)
  }

  job(uuid: string): JobRecord {
    const job = this.state.jobs.get(uuid)
    expect(job, `event names unknown job ${uuid}`).toBeDefined()
    return job!
  }

  /** Audit every event not audited yet. */
  catchUp(events: readonly WharfEvent[]): void {
    for (; this.audited < events.length; this.audited++) this.step(events, this.audited)
  }

  private step(events: readonly WharfEvent[], i: number): void {
    const e = events[i]!
    const s = this.state
    const at = `event ${e.seq} ${e.type}`
    expect(e.seq, `${at}: seq`).toBe(s.seq + 1)
    const holdersBefore = new Set([...s.jobs.values()].filter((j) => j.identityKey !== null && isBlocking(j)))
    this.checkAfterLastProgress(e)
    switch (e.type) {
      case 'job.progressed':
        this.checkProgress(e)
        break
      case 'job.created':
        this.checkCreated(events, i)
        break
      case 'job.eta_reached': {
        const job = this.job(e.uuid)
        expect([job.state, job.waitingEta, job.eta! <= e.at], `${at}`).toEqual(['pending', true, true])
        break
      }
      case 'job.enqueued':
        this.checkPick(this.job(e.uuid), e.at)
        break
      case 'job.started':
        this.checkStart(this.job(e.uuid), e.at)
        break
      case 'job.done':
        if (e.manual) expect(this.job(e.uuid).state, `${at}: setDone of a done job`).not.toBe('done')
        else this.checkOutcome(e)
        break
      case 'job.failed':
      case 'job.postponed':
        this.checkOutcome(e)
        break
      case 'job.cancelled':
        this.checkCancel(e.uuid, e.cascade)
        break
      case 'job.requeued': {
        const job = this.job(e.uuid)
        expect(job.state, `${at}: requeue of a waiting job is skipped`).not.toBe('wait_dependencies')
        break
      }
      case 'job.recovered': {
        const job = this.job(e.uuid)
        expect(this.openSeqs.has(e.seq), `${at}: recovery outside Wharf.open`).toBe(true)
        expect(isRunning(job), `${at}: recovered from ${job.state}`).toBe(true)
        expect(e.dead, `${at}: dead`).toBe(job.maxRetries !== 0 && job.retry > job.maxRetries)
        break
      }
      case 'jobs.vacuumed':
        // Only finished jobs, which had left memory for history (the model's fold keeps them in
        // its outbox), all of their graph at once.
        for (const uuid of e.uuids) {
          const job = this.state.retired.get(uuid)
          expect(job?.state, `${at}: vacuumed ${uuid}`).toMatch(/^(done|cancelled)$/)
          if (job!.graphUuid !== null) for (const member of this.state.retired.values()) if (member.graphUuid === job!.graphUuid) expect(e.uuids, `${at}: part of graph ${job!.graphUuid}`).toContain(member.uuid)
        }
        break
      case 'jobs.removed':
        this.checkRemoved(e, at)
        break
      case 'channel.paused':
        expect(this.oracle.paused.has(e.channel), `${at}: already paused`).toBe(false)
        break
      case 'channel.resumed':
        expect(this.oracle.paused.has(e.channel), `${at}: not paused`).toBe(true)
        break
    }
    if (e.type === 'job.started') this.starts.set(e.uuid, (this.starts.get(e.uuid) ?? 0) + 1)
    evolve(s, e)
    this.oracle.observe(e, s)
    this.checkIdentity(e, holdersBefore)
  }

  /**
   * remove()/purge(): only done, cancelled and failed jobs; none leaves a live parent or child
   * behind; from history (the model's fold keeps it in its outbox) only whole graphs — part of
   * one is brought back (jobs.restored) and removed from memory.
   */
  private checkRemoved(e: Extract<WharfEvent, { type: 'jobs.removed' }>, at: string): void {
    const named = new Set([...e.memory, ...e.history])
    const ended = /^(done|cancelled|failed)$/
    for (const uuid of e.memory) {
      const job = this.job(uuid)
      expect(job.state, `${at}: removed ${uuid}`).toMatch(ended)
      for (const other of [...job.parents, ...job.children]) if (!named.has(other.uuid)) expect(other.state, `${at}: ${uuid} removed beside ${other.uuid}`).toMatch(ended)
    }
    for (const uuid of e.history) {
      const job = this.state.retired.get(uuid)
      expect(job?.state, `${at}: removed ${uuid} from history`).toMatch(/^(done|cancelled)$/)
      if (job!.graphUuid !== null) for (const member of this.state.retired.values()) if (member.graphUuid === job!.graphUuid) expect(e.history, `${at}: part of graph ${job!.graphUuid}`).toContain(member.uuid)
    }
  }

  /**
   * Identity keys (API.md, README): a keyed job is stored only when no job holds its key in a
   * blocking state — except (queue_job's rules, kept on purpose) a graph that is stored because
   * some other keyed job of it had no twin, and a job that re-enters a blocking state from
   * `started` (retry, or recovery after a crash): `started` does not hold the key, so a twin may
   * have been stored meanwhile. A requeue never duplicates (refused with JobStateConflictError).
   */
  private checkIdentity(e: WharfEvent, before: Set<JobRecord>): void {
    for (const job of this.state.jobs.values()) {
      if (job.identityKey === null || !isBlocking(job) || before.has(job)) continue
      const twins = [...this.state.jobs.values()].filter((j) => j !== job && j.identityKey === job.identityKey && isBlocking(j))
      if (twins.length === 0) continue
      const why =
        e.type === 'job.created' && e.job.uuid === job.uuid && e.job.graphUuid !== null && this.graphs.get(e.job.graphUuid) === true
          ? 'graph'
          : (e.type === 'job.postponed' || e.type === 'job.recovered') && e.uuid === job.uuid
            ? e.type === 'job.postponed' ? 'retry' : 'recovered'
            : null
      expect(why, `event ${e.seq} ${e.type}: ${job.uuid} duplicates identity key ${job.identityKey} held by ${twins.map((t) => t.uuid)}`).not.toBeNull()
      this.duplicates.push(why!)
    }
  }

  /** A report of the job's current run, at most one per PROGRESS_INTERVAL_MS of that run — but
   * for the try's last value, written as it ends (see checkAfterLastProgress). */
  private checkProgress(e: Extract<WharfEvent, { type: 'job.progressed' }>): void {
    const job = this.job(e.uuid)
    expect([job.state, job.runs], `event ${e.seq} job.progressed of run ${e.run}`).toEqual(['started', e.run])
    const last = this.progressed.get(e.uuid)
    expect(last?.final, `event ${e.seq} job.progressed after the try's last`).not.toBe(true)
    const soon = last !== undefined && last.run === e.run && e.at - last.at < PROGRESS_INTERVAL_MS
    this.progressed.set(e.uuid, { run: e.run, at: e.at, final: soon })
    if (soon) this.seen.set('progress written as the try ended', (this.seen.get('progress written as the try ended') ?? 0) + 1)
  }

  /** After a report written sooner than the interval, the next event of that job is the outcome
   * of that very try, at the same instant. */
  private checkAfterLastProgress(e: WharfEvent): void {
    if (!('uuid' in e)) return
    const last = this.progressed.get(e.uuid)
    if (last === undefined || e.type === 'job.progressed') return
    if (last.final) {
      const outcome = e.type === 'job.done' || e.type === 'job.failed' || e.type === 'job.postponed'
      expect([outcome, e.at], `event ${e.seq} ${e.type} after a progress written ${PROGRESS_INTERVAL_MS} ms early`).toEqual([true, last.at])
    }
    if (e.type !== 'job.run_released') this.progressed.delete(e.uuid)
  }

  private checkCreated(events: readonly WharfEvent[], i: number): void {
    const e = events[i] as Extract<WharfEvent, { type: 'job.created' }>
    const g = e.job.graphUuid
    if (g === null || this.graphs.has(g)) return
    // The first job of a stored graph: decide stored it because not every keyed job had a twin.
    const specs = []
    for (let j = i; j < events.length; j++) {
      const f = events[j]!
      if (f.type !== 'job.created' || f.job.graphUuid !== g) break
      specs.push(f.job)
    }
    const keyed = specs.filter((spec) => spec.identityKey !== null)
    const held = (key: string): boolean => [...this.state.jobs.values()].some((j) => j.identityKey === key && isBlocking(j))
    const someUnmatched = keyed.some((spec) => !held(spec.identityKey!))
    expect(keyed.length === 0 || someUnmatched, `graph ${g} stored though every keyed job had a twin`).toBe(true)
    this.graphs.set(g, true)
  }

  /** The scheduler took a slot for `job` at `nowMs`: it must be startable, and the best such. */
  private checkPick(job: JobRecord, nowMs: number): void {
    const s = this.state
    const o = this.oracle
    const at = `pick of ${job.uuid} at ${nowMs}`
    expect([job.state, job.waitingEta], at).toEqual(['pending', false])
    expect(job.eta === null || job.eta <= nowMs, `${at}: eta ${job.eta} ahead`).toBe(true)
    expect(job.parents.filter((p) => p.state !== 'done').map((p) => p.uuid), `${at}: unfinished parents`).toEqual([])
    const overdue = [...s.jobs.values()].filter((j) => j.state === 'pending' && j.waitingEta && j.eta! <= nowMs)
    expect(overdue.map((j) => j.uuid), `${at}: due etas not promoted first`).toEqual([])
    const jobs = [...s.jobs.values()]
    for (const n of pathOf(job.channel.name)) {
      const inSubtree = jobs.filter((j) => isRunning(j) && pathOf(j.channel.name).includes(n))
      const cap = o.caps.get(n) ?? null
      if (cap !== null) expect(inSubtree.length, `${at}: ${n} full (capacity ${cap})`).toBeLessThan(cap)
      if (o.sequential.has(n)) {
        expect(inSubtree.length, `${at}: sequential ${n} already runs a job`).toBe(0)
        expect(jobs.filter((j) => j.channel.name === n && j.state === 'failed').length, `${at}: sequential ${n} has a failed job`).toBe(0)
      }
      const spacing = o.throttleMs.get(n) ?? 0
      if (spacing > 0 && o.lastEnqueueMs.has(n)) expect(nowMs - o.lastEnqueueMs.get(n)!, `${at}: throttle of ${n}`).toBeGreaterThanOrEqual(spacing)
      expect(o.paused.has(n), `${at}: ${n} is paused`).toBe(false)
    }
    const reasons = o.reasons(s, nowMs)
    expect(reasons.get(job.channel.name) ?? null, at).toBeNull()
    // Priority across the whole tree: whatever sorts first must have been held back.
    for (const k of betterReady(s, job)) {
      expect(reasons.get(k.channel.name), `${at}: ${k.uuid} (priority ${k.priority}) overtaken by ${job.uuid} (priority ${job.priority})`).not.toBeNull()
      this.note(`pick: a better job held back (${reasons.get(k.channel.name)!.replace(/^\S+ /, '').replace(/job-\d+/, 'its eta head')})`)
    }
    if (jobs.some((j) => j !== job && j.state === 'pending' && !j.waitingEta)) this.note('pick: among several ready jobs')
  }

  private note(what: string): void {
    this.seen.set(what, (this.seen.get(what) ?? 0) + 1)
  }

  private checkStart(job: JobRecord, nowMs: number): void {
    const at = `start of ${job.uuid} at ${nowMs}`
    expect(job.state, at).toBe('enqueued')
    expect(job.eta === null || job.eta <= nowMs, `${at}: before its eta ${job.eta}`).toBe(true)
    expect(job.parents.filter((p) => p.state !== 'done').map((p) => p.uuid), `${at}: unfinished parents`).toEqual([])
    // Throttle spacing measured on starts: on each throttled channel of the path, the previous
    // start (of any job of its subtree) was at least throttle seconds before.
    for (const n of pathOf(job.channel.name)) {
      const spacing = this.oracle.throttleMs.get(n) ?? 0
      const last = this.oracle.lastStartMs.get(n)
      if (spacing > 0 && last !== undefined) expect(nowMs - last, `${at}: starts on ${n} too close`).toBeGreaterThanOrEqual(spacing)
    }
  }

  /** A handler's outcome: it must be the one the job's plan gives its latest try. */
  private checkOutcome(e: Extract<WharfEvent, { type: 'job.done' | 'job.failed' | 'job.postponed' }>): void {
    const job = this.job(e.uuid)
    const at = `event ${e.seq} ${e.type} of ${job.uuid}`
    expect(job.state, `${at}: outcome of a job not started`).toBe('started')
    const t = tryOf(job.args[0] as Plan, (this.starts.get(job.uuid) ?? 0) - 1)
    const retryable = t.k === 'retry' || t.k === 'timeout'
    const exhausted = retryable && !(t.k === 'retry' && t.ig) && job.maxRetries !== 0 && job.retry >= job.maxRetries
    const expected = t.k === 'done' || t.k === 'nothing' ? 'job.done' : t.k === 'fail' || exhausted ? 'job.failed' : 'job.postponed'
    expect(`${e.type} for ${JSON.stringify(t)}`, at).toBe(`${expected} for ${JSON.stringify(t)}`)
    if (e.type === 'job.done') expect(e.result, at).toBe(t.k === 'done' ? 'ok' : 'nothing to do')
    if (e.type === 'job.failed') {
      expect(e.excName, at).toBe('FailedJobError')
      expect(e.excMessage, at).toMatch(exhausted ? /^Max\. retries/ : /^boom$/)
    }
    if (e.type === 'job.postponed') {
      const delayMs = e.eta - e.at
      if (t.k === 'retry' && t.s !== null && t.s > 0) expect(delayMs, at).toBe(t.s * 1000)
      // The pattern's step is that of the tries that count: an ignored first try has none (600 s).
      else if (this.options.pattern && job.retry + e.retryAdjust >= 1) expect(delayMs >= PATTERN_MIN_MS && delayMs <= PATTERN_MAX_MS, `${at}: delay ${delayMs}`).toBe(true)
      else expect(delayMs, at).toBe(DEFAULT_RETRY_MS)
      expect(e.retryAdjust, at).toBe(t.k === 'retry' && t.ig ? -1 : 0)
      if (t.k === 'timeout') expect(e.message, at).toMatch(/timeoutMs/)
    }
  }

  /** A cancel takes exactly the waiting descendants whose parents all end up cancelled. */
  private checkCancel(uuid: string, cascade: readonly string[]): void {
    expect(cascadeProblem(this.job(uuid), cascade.map((u) => this.job(u))), `cancel of ${uuid}`).toBeNull()
  }
}

// ---------------------------------------------------------------------------------------------
// Whole-state checks, run after every command.

/** Each identity key's holders, oldest first (the order decide reads); keys sorted. */
export function holdersInOrder(state: State): [string, string[]][] {
  return [...state.identity].map(([key, holders]): [string, string[]] => [key, holders.map((j) => j.uuid)]).sort((a, b) => (a[0] < b[0] ? -1 : 1))
}

/** fold(log) == live state, and so is a snapshot taken at `cut` (through JSON) plus the tail. */
export function checkReplay(config: readonly ChannelConfig[], events: readonly WharfEvent[], live: State, cut: number): void {
  const half = JSON.parse(JSON.stringify(snapshotOf(fold(initialState(config), events.slice(0, cut)))))
  const expected = projectState(live)
  for (const replayed of [fold(initialState(config), events), fold(restoreState(config, half), events.slice(cut))]) {
    checkInvariants(replayed)
    expect(projectState(replayed)).toStrictEqual(expected)
    // The projection sorts identity holders; decide answers with the oldest, so compare the order too.
    expect(holdersInOrder(replayed)).toStrictEqual(holdersInOrder(live))
  }
}

/** Through the public API: every job listed under exactly one state, stats agree, no cycle. */
export async function checkViews(wharf: Wharf): Promise<void> {
  const all = await wharf.jobs()
  const byState = await Promise.all(JOB_STATES.map(async (state) => (await wharf.jobs({ state })).map((j) => j.uuid)))
  const listed = byState.flat()
  expect(listed.length).toBe(all.length)
  expect(new Set(listed).size).toBe(all.length)
  const stats = wharf.stats().states
  expect(JOB_STATES.map((s) => stats[s])).toEqual(byState.map((uuids) => uuids.length))
  expect(acyclic(all)).toBe(true)
}

/** Kahn's algorithm over the views' dependsOn, written apart from the core's isAcyclic. */
export function acyclic(views: readonly JobView[]): boolean {
  const indegree = new Map(views.map((v) => [v.uuid, v.dependsOn.length]))
  const children = new Map<string, string[]>()
  for (const v of views) for (const p of v.dependsOn) children.set(p, [...(children.get(p) ?? []), v.uuid])
  const stack = views.filter((v) => v.dependsOn.length === 0).map((v) => v.uuid)
  let seen = 0
  for (let u = stack.pop(); u !== undefined; u = stack.pop()) {
    seen++
    for (const c of children.get(u) ?? []) {
      indegree.set(c, indegree.get(c)! - 1)
      if (indegree.get(c) === 0) stack.push(c)
    }
  }
  return seen === views.length
}

/** Some ancestor is cancelled or failed: the job may wait for ever, by design. */
export function deadAncestor(job: JobRecord): boolean {
  const seen = new Set<JobRecord>()
  for (let stack = [...job.parents], p = stack.pop(); p !== undefined; p = stack.pop()) {
    if (p.state === 'cancelled' || p.state === 'failed') return true
    if (!seen.has(p)) stack.push(...p.parents)
    seen.add(p)
  }
  return false
}

/**
 * Await `call` (a close() or stop(), which wait for running handlers) while jumping the fake clock
 * to each next timer, so that handlers sleeping on it finish; fails if it never settles.
 */
export async function lettingTimePass<T>(clock: FakeClock, call: Promise<T>, what: string): Promise<T> {
  let settled = false
  const settling = call.finally(() => {
    settled = true
  })
  for (let spins = 0; !settled; spins++) {
    expect(spins, `${what} never returns`).toBeLessThan(100_000)
    await new Promise<void>((resolve) => setImmediate(resolve))
    const next = clock.nextTimerAt()
    if (!settled && next !== null) await clock.advanceTo(Math.max(next, clock.now()))
  }
  return settling
}

// ---------------------------------------------------------------------------------------------
// The rig: one Wharf at a time on a MemoryLog it keeps across close-and-reopen and crashes.

export interface RigOptions {
  channels: string
  pattern: boolean
  seed: number
  /** Each call of the job function waits for this before settling (races: the scheduler decides). */
  gate?: (uuid: string) => Promise<unknown>
  /** Start dispatching once open (default true). */
  start?: boolean
}

const methodsFor = (rig: Rig) => ({
  run(this: JobContext, plan: Plan): unknown {
    return rig.call(this, plan)
  },
})
type Model = RecordsetOf<ReturnType<typeof methodsFor>>

export class Rig {
  readonly log = new MemoryLog()
  clock = new FakeClock(Date.UTC(2026, 0, 1))
  wharf!: Wharf
  m!: Model
  readonly config: ChannelConfig[]
  readonly auditor: Auditor
  /** Every committed event, in log order: from the transition listener, and the log's tail on open. */
  readonly events: WharfEvent[] = []
  /** Calls of the job function per job (the nth call runs the plan's nth try). */
  readonly calls = new Map<string, number>()
  /** Jobs an acknowledged call stored: none may ever go missing. */
  readonly acked = new Set<string>()
  /** Jobs autovacuum removed (acknowledged, and gone on purpose). */
  readonly vacuumed = new Set<string>()
  /** Jobs an acknowledged remove() removed (gone on purpose too). */
  readonly removed = new Set<string>()
  /** Problems seen where an expect cannot throw (inside handlers and listeners). */
  readonly violations: string[] = []
  readonly newId = sequentialIds('job-')
  readonly random: () => number
  running = false
  incarnation = 0
  steps = 0
  snapshotSeq = 0
  /** What a run went through (FC_STATS=1 prints the totals): events by type and notable cases. */
  readonly stats = new Map<string, number>()

  count(what: string, n = 1): void {
    this.stats.set(what, (this.stats.get(what) ?? 0) + n)
  }

  private constructor(readonly options: RigOptions) {
    this.config = parseChannelConfig(options.channels)
    this.auditor = new Auditor({ config: this.config, pattern: options.pattern })
    this.random = seededRandom(options.seed)
  }

  static async open(options: RigOptions): Promise<Rig> {
    const rig = new Rig(options)
    await rig.boot()
    if (options.start !== false) await rig.start()
    return rig
  }

  get state(): State {
    return this.wharf.engine.state
  }

  /** The job function: checks that its try is durable, then plays the plan. */
  call(ctx: JobContext, plan: Plan): unknown {
    const uuid = ctx.job!.uuid
    const n = this.calls.get(uuid) ?? 0
    this.calls.set(uuid, n + 1)
    // A handler runs only once its job.started is in the log, one call per job.started.
    const starts = this.events.filter((e) => e.type === 'job.started' && e.uuid === uuid)
    if (starts.length !== n + 1) this.violations.push(`call ${n + 1} of ${uuid} after ${starts.length} job.started events`)
    if ((this.log.events().at(-1)?.seq ?? 0) < (starts.at(-1)?.seq ?? Infinity)) this.violations.push(`${uuid} runs before its start is in the log`)
    const gate = this.options.gate
    return gate === undefined ? perform(ctx, tryOf(plan, n)) : gate(uuid).then(() => perform(ctx, tryOf(plan, n)))
  }

  /** Open a Wharf on the kept log (registering the model again) and collect its events. */
  async boot(): Promise<void> {
    const inc = ++this.incarnation
    this.wharf = await Wharf.open({ log: this.log, clock: this.clock, channels: this.options.channels, newId: this.newId, random: this.random })
    this.closed = false
    this.m = this.wharf.model('m', methodsFor(this))
    this.wharf.configure('m.run', { timeoutMs: TIMEOUT_MS, ...(this.options.pattern ? { retryPattern: PATTERN } : {}) })
    // What open itself wrote (recovery, vacuum) never reaches a listener: read it from the log.
    for await (const batch of this.log.read(this.events.at(-1)?.seq ?? 0)) {
      for (const e of batch) {
        // job.run_released: a run superseded before the crash held slots; its handler died with it.
        // batches.trimmed: the batches of vacuumed jobs count them out.
        const allowed = ['job.recovered', 'jobs.vacuumed', 'job.run_released', 'batches.trimmed']
        if (!allowed.includes(e.type)) this.violations.push(`open wrote ${e.type}`)
        this.auditor.openSeqs.add(e.seq)
        this.events.push(e)
      }
    }
    this.wharf.on('transition', (e) => {
      if (inc === this.incarnation) this.events.push(e)
      else this.violations.push(`a closed or crashed Wharf wrote ${e.type}`)
    })
  }

  /** Set by close(), cleared by the next boot(). */
  private closed = false

  async start(): Promise<void> {
    await this.wharf.start()
    this.running = true
  }

  /** stop + close, letting fake time pass while running jobs finish (close waits for them). */
  async close(): Promise<void> {
    this.running = false
    await lettingTimePass(this.clock, this.wharf.close(), 'close()')
    this.closed = true
    // stop() waits for running jobs: nothing holds a slot any more.
    expect([...this.state.jobs.values()].filter(isRunning).map((j) => j.uuid), 'running after close').toEqual([])
    this.auditor.catchUp(this.events)
  }

  /**
   * Close, let 31 days pass, open again: autovacuum (on open) removes every finished job — all
   * of them are older than the default 30 days — and nothing else; history is then empty.
   */
  async vacuum(): Promise<void> {
    await this.close()
    const finished = (await this.log.history.page(EVERY_FINISHED)).map((v) => v.uuid)
    const before = projectState(this.state)
    await this.clock.advanceTo(this.clock.now() + 31 * 86_400_000)
    const from = this.events.length
    await this.boot()
    const removed = this.events.slice(from).flatMap((e) => (e.type === 'jobs.vacuumed' ? e.uuids : []))
    expect(removed.sort(), 'vacuumed: exactly the finished jobs').toEqual(finished.sort())
    expect(await this.log.history.page(EVERY_FINISHED), 'history after vacuum').toEqual([])
    // Batches count their vacuumed jobs out (the batch audit of engine-model.test.ts checks them).
    expect({ ...projectState(this.state), seq: before.seq, batches: before.batches }, 'live jobs untouched by vacuum').toStrictEqual(before)
    for (const uuid of removed) this.vacuumed.add(uuid)
    this.count('vacuum: finished jobs removed', removed.length)
    await this.start()
  }

  /** Graceful close, then open again from the log: same state, nothing to recover — except that
   * autovacuum on open may remove finished jobs that became old while a graph held them (a job
   * leaves with its whole graph: after a vacuum step, a removal can free an old one).
   * `downtimeMs`: how long no engine runs between the two (the clock moves on). */
  async reopen(downtimeMs = 0): Promise<void> {
    await this.close()
    await this.clock.advance(downtimeMs)
    const before = projectState(this.state)
    const from = this.events.length
    await this.boot()
    expect(this.wharf.openReport.requeued + this.wharf.openReport.foundDead, 'recovered after a graceful close').toBe(0)
    const opened = this.events.slice(from)
    // A vacuum of jobs in a batch counts them out of it in the batches.trimmed right after.
    const vacuumOf = (e: WharfEvent, i: number): boolean => e.type === 'jobs.vacuumed' || (e.type === 'batches.trimmed' && opened[i - 1]?.type === 'jobs.vacuumed')
    expect(opened.filter((e, i) => !vacuumOf(e, i)).map((e) => e.type), 'written by a reopen').toEqual([])
    for (const e of opened) if (e.type === 'jobs.vacuumed') for (const uuid of e.uuids) this.vacuumed.add(uuid)
    // As after a vacuum step, batches have counted their vacuumed jobs out (the batch audit checks them).
    const trimmed = opened.some((e) => e.type === 'batches.trimmed')
    expect({ ...projectState(this.state), seq: before.seq, ...(trimmed ? { batches: before.batches } : {}) }).toStrictEqual(before)
    expect(this.state.seq - before.seq, 'events written by a reopen').toBe(opened.length)
    if (this.snapshotSeq > 0) expect(this.wharf.openReport.snapshotSeq).toBe(this.snapshotSeq)
    await this.start()
  }

  /**
   * kill -9 between ticks: the Wharf is dropped without stop or close, and its clock with it (so
   * its handlers never settle); a new process opens the same log on a new clock at the same time.
   */
  async crash(): Promise<void> {
    const before = new Map([...this.state.jobs.values()].map((j) => [j.uuid, j]))
    const wasRunning = [...before.values()].filter(isRunning).map((j) => j.uuid)
    const views = new Map<string, string>()
    for (const j of before.values()) views.set(j.uuid, JSON.stringify(await this.wharf.job(j.uuid)))
    this.running = false
    this.clock = new FakeClock(this.clock.now())
    await this.boot()
    const report = this.wharf.openReport
    expect(report.requeued + report.foundDead, 'every running job recovered').toBe(wasRunning.length)
    this.count('crash: jobs recovered', report.requeued)
    this.count('crash: jobs found dead', report.foundDead)
    expect([...this.state.jobs.values()].filter(isRunning).map((j) => j.uuid), 'running after recovery').toEqual([])
    // Nothing else changed: every other job comes back identical.
    for (const [uuid, view] of views) {
      if (wasRunning.includes(uuid)) continue
      expect(JSON.stringify(await this.wharf.job(uuid)), `${uuid} after the crash`).toBe(view)
    }
    await this.start()
  }

  async snapshot(): Promise<void> {
    await this.wharf.snapshot()
    this.snapshotSeq = this.state.seq
  }

  /** Every check, after a command has settled. */
  async audit(): Promise<void> {
    for (let i = this.auditor.audited; i < this.events.length; i++) this.count(this.events[i]!.type)
    const dupes = this.auditor.duplicates.length
    this.auditor.catchUp(this.events)
    for (const why of this.auditor.duplicates.slice(dupes)) this.count(`identity key shared after ${why}`)
    expect(this.violations).toEqual([])
    const live = this.state
    checkInvariants(live)
    expect(live.seq, 'the listener saw every committed event').toBe(this.events.at(-1)?.seq ?? 0)
    expect(this.log.events().at(-1)?.seq ?? this.snapshotSeq, 'the log holds every event').toBe(live.seq)
    expect(projectState(this.auditor.state)).toStrictEqual(projectState(live))
    // Acknowledged jobs are in memory, or finished and in history.
    for (const uuid of this.acked) {
      const gone = this.vacuumed.has(uuid) || this.removed.has(uuid)
      expect(live.jobs.has(uuid) || this.log.history.peek(uuid) !== undefined || gone, `acknowledged job ${uuid} lost`).toBe(true)
    }
    // Slots recounted from the jobs, on every level.
    const running = new Map<string, number>()
    for (const j of live.jobs.values()) if (isRunning(j)) for (const n of pathOf(j.channel.name)) running.set(n, (running.get(n) ?? 0) + 1)
    for (const [n, cap] of this.auditor.oracle.caps) if (cap !== null) expect(running.get(n) ?? 0, `${n} over capacity`).toBeLessThanOrEqual(cap)
    // A closed Wharf refuses reads: its views were checked before it closed.
    if (!this.closed) await checkViews(this.wharf)
    if (this.running) this.checkWorkConserving()
    // The snapshot cut moves around the log from one command to the next.
    const cut = Math.floor(this.events.length * ((++this.steps * 0.618) % 1))
    checkReplay(this.config, this.events, live, cut)
  }

  /** settled() means: every job that can start at now() has started. */
  private checkWorkConserving(): void {
    const now = this.clock.now()
    const reasons = this.auditor.oracle.reasons(this.state, now)
    for (const j of this.state.jobs.values()) {
      if (j.state !== 'pending') continue
      if (j.waitingEta) expect(j.eta!, `${j.uuid} waits for a past eta`).toBeGreaterThan(now)
      else expect(reasons.get(j.channel.name), `${j.uuid} left ready on ${j.channel.name} at ${now}`).not.toBeNull()
    }
  }
}
