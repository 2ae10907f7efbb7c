// Proves the pure core safe, work-conserving, replayable (full fold, snapshot + tail) and live:
// random channel configs and command sequences are played by a tiny synchronous shell, and after
// every step the state is audited against a simpler model (slots, pauses, throttles recomputed
// from the jobs and the config, queue_job's retry and cancel rules). Before each dispatch,
// explain() must name exactly the jobs it starts.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseChannelConfig, type ChannelConfig } from '../../src/engine/core/channel-config.js'
import { initialState } from '../../src/engine/core/channels.js'
import type { Command, HandlerOutcome } from '../../src/engine/core/commands.js'
import type { Decision } from '../../src/engine/core/decide.js'
import type { JobSpec, WharfEvent } from '../../src/engine/core/events.js'
import { fold } from '../../src/engine/core/evolve.js'
import { explainJob } from '../../src/engine/core/explain.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { projectState } from '../../src/engine/core/project.js'
import type { RetryPattern } from '../../src/engine/core/retry.js'
import { TICK_STARTS_MAX } from '../../src/engine/core/limits.js'
import { nextWakeMs } from '../../src/engine/core/schedule.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import { runTick, TickOutput, type PickAudit } from '../../src/engine/core/tick.js'
import { isBlocking, isRunning, Oracle, pathOf, readyFirst } from './oracle.js'

// FC_SEED (and FC_PATH, both printed on failure) replay a run; FC_NUM_RUNS deepens the search.
const { FC_NUM_RUNS, FC_SEED, FC_PATH } = process.env
const PARAMS = { numRuns: Number(FC_NUM_RUNS ?? 200), ...(FC_SEED ? { seed: Number(FC_SEED) } : {}), ...(FC_PATH ? { path: FC_PATH } : {}) }
// 'root.b.new' is never configured: it hangs, unlimited, under whatever 'root.b' is.
const CHANNELS = ['root', 'root.a', 'root.a.x', 'root.b', 'root.b.new'] as const
const CONFIGURABLE = ['root.a', 'root.a.x', 'root.b'] as const
const PATTERN: RetryPattern = [[1, 1], [3, [1, 4]]]
const FOLD_EVERY = 8
const RETURNED: HandlerOutcome = { kind: 'returned', result: 'ok' }

interface JobDraft { priority: number; channel: number; etaMs: number | null; key: number | null; maxRetries: number; parents: number }
type Step =
  | { kind: 'enqueue'; shape: 'chain' | 'group' | 'dag'; jobs: JobDraft[]; attach: number | null }
  | { kind: 'dispatch' }
  | { kind: 'finish'; job: number; outcome: HandlerOutcome; stale: boolean; pattern: boolean; entropy: number }
  | { kind: 'cancel' | 'requeue' | 'setDone'; job: number }
  | { kind: 'pause' | 'resume'; channel: number }
  | { kind: 'advance'; ms: number }
  /** The handler of a superseded run (its job cancelled, requeued or set done meanwhile) settles. */
  | { kind: 'settle'; zombie: number }
  /** A stored job joins a new graph (queue_job's re-store), as a parent or a child of a new job. */
  | { kind: 'join'; job: number; asParent: boolean }
  /** A started job's handler reports progress: for its current run, or for the run before (stale). */
  | { kind: 'progress'; job: number; stale: boolean; fraction: number; message: string | null }

// The model is the shared rules oracle (test/property/oracle.ts), written from queue_job's rules.
type Model = Oracle

/** The shell, played synchronously: decide, stamp, apply, keep every event. */
class Shell {
  readonly state: State
  readonly events: WharfEvent[] = []
  now = 1_000_000
  minted = 0
  steps = 0
  readonly model: Model
  constructor(readonly config: readonly ChannelConfig[], readonly dispatchAfterAdvance: boolean) {
    this.state = initialState(config)
    this.model = new Oracle(config)
  }

  /** One tick of the core: the commands, then every start it allows if `dispatch`. The model
   * follows the handlers it starts and ends; every event is kept for the replay checks. */
  tick(commands: Command[], dispatch: boolean, auditPick: PickAudit | null): TickOutput {
    const out = new TickOutput()
    runTick(this.state, { outcomes: [], commands, nowMs: this.now, dispatch, registered: null, startsMax: TICK_STARTS_MAX, afterCommand: null, auditPick }, out)
    for (const event of out.events) {
      this.model.observeRuns(event, this.state)
      this.events.push(event)
    }
    return out
  }

  run(command: Command): Decision {
    const out = this.tick([command], false, null)
    const note = out.notes[0]
    if (note !== undefined && 'error' in note) return { ok: false, error: note.error }
    return { ok: true, events: out.events, existing: note !== undefined && 'existing' in note ? note.existing : null }
  }

  jobs(filter: (j: JobRecord) => boolean = () => true): JobRecord[] {
    return [...this.state.jobs.values()].filter(filter)
  }

  /** Jobs holding a slot, counted on every level of their path, from the jobs alone. */
  runningPerChannel(): Map<string, number> {
    const running = new Map<string, number>()
    for (const j of this.jobs(isRunning)) for (const n of pathOf(j.channel.name)) running.set(n, (running.get(n) ?? 0) + 1)
    // Capacity counts running handlers: a superseded one keeps its slots until it settles.
    for (const z of this.model.zombies) for (const n of pathOf(z.channel)) running.set(n, (running.get(n) ?? 0) + 1)
    return running
  }

  /** The core's dispatch until it has nothing (as the engine's tick does); audits every pick on
   * the state it was made from. */
  dispatch(): void {
    const free = this.explainedFree()
    let picks = 0
    const out = this.tick([], true, (event) => {
      expect(++picks).toBeLessThan(10_000)
      const job = this.state.jobs.get((event as { uuid: string }).uuid)!
      if (event.type === 'job.eta_reached') {
        expect(job.state === 'pending' && job.waitingEta && job.eta! <= this.now).toBe(true)
        return
      }
      expect([event.type, job.state]).toEqual(['job.enqueued', 'pending'])
      expect(job.parents.filter((p) => p.state !== 'done').map((p) => p.uuid), 'unfinished parents').toEqual([])
      expect(job.eta === null || job.eta <= this.now, 'eta ahead').toBe(true)
      expect(this.jobs((j) => j.state === 'pending' && j.waitingEta && j.eta! <= this.now).map((j) => j.uuid)).toEqual([])
      const reasons = this.model.reasons(this.state, this.now)
      expect(reasons.get(job.channel.name)).toBeNull()
      // Priority across the whole tree: anything that sorts first must be held back.
      for (const k of this.jobs((j) => j.state === 'pending' && !j.waitingEta && readyFirst(j, job))) {
        expect(reasons.get(k.channel.name), `${k.uuid} overtaken by ${job.uuid}`).not.toBeNull()
      }
      for (const n of pathOf(job.channel.name)) this.model.lastEnqueueMs.set(n, this.now)
    })
    for (const job of out.launch) expect([job.state, job.progress]).toEqual(['started', null]) // each try starts at null
    expect(out.launch.map((j) => j.uuid).sort(), 'the jobs explain() said the next tick starts').toEqual(free)
    // Work-conserving: every job left ready has a reason to wait.
    const reasons = this.model.reasons(this.state, this.now)
    for (const j of this.jobs((j) => j.state === 'pending')) {
      if (j.waitingEta) expect(j.eta!).toBeGreaterThan(this.now)
      else expect(reasons.get(j.channel.name), `${j.uuid} left ready`).not.toBeNull()
    }
  }

  /**
   * The pending jobs explain() gives no reason for — it says the next tick starts exactly those —
   * sorted; asked of every job, and explaining must leave the state as it was.
   */
  explainedFree(): string[] {
    const before = projectState(this.state)
    const free: string[] = []
    for (const job of this.jobs((j) => j.state === 'pending')) {
      const explained = explainJob(this.state, job.uuid, this.now, null, true)!
      expect(explained.state).toBe('pending')
      if (explained.reasons.length === 0) free.push(job.uuid)
    }
    expect(projectState(this.state), 'explain() changed the state').toStrictEqual(before)
    return free.sort()
  }

  enqueue(step: Extract<Step, { kind: 'enqueue' }>): void {
    const uuids = step.jobs.map(() => `j${String(++this.minted).padStart(4, '0')}`)
    // Grow an existing graph under any of its jobs, whatever its state (done, failed, cancelled…).
    const hosts = this.jobs((j) => j.graphUuid !== null)
    const host = step.attach === null ? undefined : hosts[step.attach % hosts.length]
    const graphUuid = host?.graphUuid ?? (step.jobs.length > 1 ? `g${uuids[0]}` : null)
    const specs: JobSpec[] = step.jobs.map((d, i) => ({
      uuid: uuids[i]!, graphUuid, model: 'm', method: 'f', records: [i], args: [], context: {}, description: 'm.f',
      priority: d.priority, eta: d.etaMs === null ? null : this.now + d.etaMs, maxRetries: d.maxRetries,
      channel: CHANNELS[d.channel]!, identityKey: d.key === null ? null : `k${d.key}`, createdAt: this.now,
      dependsOn: step.shape === 'chain' ? uuids.slice(Math.max(0, i - 1), i)
        : step.shape === 'dag' ? uuids.slice(0, i).filter((_, p) => (d.parents >> p) & 1) : [],
    }))
    if (host !== undefined) specs[0]!.dependsOn.push(host.uuid)
    // queue_job's identity rule: a graph is skipped only when every keyed job has a waiting twin.
    const keyed = specs.filter((spec) => spec.identityKey !== null)
    const twin = (key: string | null) => this.jobs((j) => j.identityKey === key && isBlocking(j)).length > 0
    const skip = keyed.length > 0 && keyed.every((spec) => twin(spec.identityKey))
    const before = this.state.jobs.size
    expect(this.run({ type: 'enqueue', jobs: specs }).ok).toBe(true)
    expect(this.state.jobs.size - before).toBe(skip ? 0 : specs.length)
  }

  finish(step: Extract<Step, { kind: 'finish' }>): void {
    const started = this.jobs((j) => j.state === 'started')
    const job = started[step.job % started.length]
    if (job === undefined) return
    const [before, retry, o] = [this.events.length, job.retry, step.outcome]
    const run = job.runs - (step.stale ? 1 : 0)
    const superseded = step.stale && this.model.zombie(job.uuid, run) !== undefined
    this.run({ type: 'finish', uuid: job.uuid, run, outcome: o, retryPattern: step.pattern ? PATTERN : null, entropy: step.entropy })
    // A stale completion (its job was requeued or set done meanwhile) decides nothing; if that run
    // was superseded while it ran, its settling frees the slots it held, and nothing else.
    if (step.stale) {
      const released = this.events.slice(before).map((e) => [e.type, (e as { run?: number }).run])
      return void expect(released).toEqual(superseded ? [['job.run_released', run]] : [])
    }
    // queue_job's perform(): what each outcome makes of the job, retries and delays included.
    if (o.kind !== 'retryable') {
      expect(this.events.length - before).toBe(1)
      return void expect(job.state).toBe(o.kind === 'failed' ? 'failed' : 'done')
    }
    if (!o.ignoreRetry && job.maxRetries !== 0 && retry >= job.maxRetries) {
      expect(this.events.length - before).toBe(1)
      return void expect([job.state, job.excName]).toEqual(['failed', 'FailedJobError'])
    }
    // A retry that sends back to waiting a job whose parents are all cancelled (cancelled while it
    // ran) cancels it in the same decision, with its waiting descendants (guarantee 27).
    const orphaned = job.parents.length > 0 && job.parents.every((p) => p.state === 'cancelled')
    expect(this.events.slice(before).map((e) => e.type)).toEqual(orphaned ? ['job.postponed', 'job.cancelled'] : ['job.postponed'])
    if (orphaned) return void expect(job.state).toBe('cancelled')
    const waiting = job.unfinishedParents > 0 ? 'wait_dependencies' : 'pending'
    expect([job.state, job.retry]).toEqual([waiting, o.ignoreRetry ? retry - 1 : retry])
    // seconds=0 means at once; PATTERN gives 1 s, then 1–4 s, by the tries that count (job.retry
    // now): an ignored first try has no step yet, so 600 s.
    const delayS = (job.eta! - this.now) / 1000
    const patterned = step.pattern && job.retry >= 1
    expect(o.seconds !== undefined ? delayS === o.seconds : patterned ? delayS >= 1 && delayS <= 4 : delayS === 600, `delay ${delayS}`).toBe(true)
  }

  progress(step: Extract<Step, { kind: 'progress' }>): void {
    const started = this.jobs((j) => j.state === 'started')
    const job = started[step.job % started.length]
    if (job === undefined) return
    const [before, had] = [this.events.length, job.progress]
    this.run({ type: 'progress', uuid: job.uuid, run: job.runs - (step.stale ? 1 : 0), fraction: step.fraction, message: step.message })
    // The report of a run that no longer owns its job decides nothing, like its outcome.
    expect(this.events.length - before).toBe(step.stale ? 0 : 1)
    expect(job.progress).toEqual(step.stale ? had : { fraction: step.fraction, message: step.message })
  }

  join(step: Extract<Step, { kind: 'join' }>): void {
    const all = this.jobs()
    const job = all[step.job % all.length]
    if (job === undefined) return
    const uuid = `j${String(++this.minted).padStart(4, '0')}`
    const graphUuid = `g${uuid}`
    const spec: JobSpec = {
      uuid, graphUuid, model: 'm', method: 'f', records: [0], args: [], context: {}, description: 'm.f', priority: 10, eta: null,
      maxRetries: 0, channel: job.channel.name, identityKey: null, createdAt: this.now, dependsOn: step.asParent ? [job.uuid] : [],
    }
    // Only a job delayed alone and still pending can be re-stored into a graph.
    const joinable = job.state === 'pending' && job.graphUuid === null
    const decision = this.run({ type: 'enqueue', jobs: [spec], joins: [{ uuid: job.uuid, graphUuid, dependsOn: step.asParent ? [] : [uuid] }] })
    expect(decision.ok, `join of ${job.uuid} (${job.state}, graph ${job.graphUuid})`).toBe(joinable)
    if (!joinable) return void expect(this.state.jobs.has(uuid)).toBe(false)
    expect([job.graphUuid, job.state, this.state.jobs.get(uuid)!.state]).toEqual(
      step.asParent ? [graphUuid, 'pending', 'wait_dependencies'] : [graphUuid, 'wait_dependencies', 'pending'],
    )
  }

  settle(step: Extract<Step, { kind: 'settle' }>): void {
    const zombies = this.model.zombies
    if (zombies.length === 0) return
    const z = zombies[step.zombie % zombies.length]!
    const before = this.events.length
    this.run({ type: 'finish', uuid: z.uuid, run: z.run, outcome: RETURNED, retryPattern: null, entropy: 0 })
    expect(this.events.slice(before).map((e) => [e.type, (e as { run?: number }).run])).toEqual([['job.run_released', z.run]])
    expect(this.model.zombie(z.uuid, z.run)).toBeUndefined()
  }

  manage(step: Extract<Step, { kind: 'cancel' | 'requeue' | 'setDone' }>): void {
    const all = this.jobs()
    const job = all[step.job % all.length]
    if (job === undefined) return
    const live = all.filter((j) => j.state !== 'cancelled')
    const d = this.run({ type: step.kind, uuid: job.uuid })
    if (!d.ok) expect([step.kind, d.error.code]).toEqual(['requeue', 'JOB_STATE_CONFLICT'])
    // Cancelling a cancelled job is a no-op: it does not re-cascade to jobs requeued since.
    if (step.kind !== 'cancel' || !live.includes(job)) return
    // A cancel takes exactly the waiting descendants whose parents are all cancelled, transitively.
    const cancelled = live.filter((j) => j.state === 'cancelled')
    expect(job.state).toBe('cancelled')
    for (const j of cancelled) {
      if (j !== job) expect(j.parents.filter((p) => p.state !== 'cancelled').map((p) => p.uuid), `${j.uuid} cancelled`).toEqual([])
      for (const c of j.children) {
        const waiting = c.state === 'wait_dependencies' || c.state === 'pending'
        expect(waiting && c.parents.every((p) => p.state === 'cancelled'), `${c.uuid} left waiting`).toBe(false)
      }
    }
  }

  /** A channel that is neither configured nor used yet is refused, and nothing changes. */
  manageChannel(kind: 'pause' | 'resume', channel: string): void {
    const known = this.state.channels.has(channel)
    const d = this.run({ type: kind === 'pause' ? 'pauseChannel' : 'resumeChannel', channel })
    expect(d.ok ? 'ok' : d.error.code).toBe(known ? 'ok' : 'UNKNOWN_CHANNEL')
    if (!d.ok) return
    if (kind === 'pause') this.model.paused.add(channel)
    else this.model.paused.delete(channel)
  }

  play(step: Step): void {
    switch (step.kind) {
      case 'enqueue': this.enqueue(step); break
      case 'dispatch': this.dispatch(); break
      case 'finish': this.finish(step); break
      case 'settle': this.settle(step); break
      case 'join': this.join(step); break
      case 'progress': this.progress(step); break
      case 'cancel': case 'requeue': case 'setDone': this.manage(step); break
      case 'pause': case 'resume': this.manageChannel(step.kind, CHANNELS[step.channel]!); break
      case 'advance': this.now += step.ms
        if (this.dispatchAfterAdvance) this.dispatch()
    }
    this.audit()
  }

  audit(): void {
    checkInvariants(this.state)
    const running = this.runningPerChannel()
    for (const [n, cap] of this.model.caps) if (cap !== null) expect(running.get(n) ?? 0, `${n} over capacity`).toBeLessThanOrEqual(cap)
    if (++this.steps % FOLD_EVERY === 0) this.checkReplay()
  }

  /** fold(log) == live state, and so is a snapshot taken halfway (through JSON) plus the tail. */
  checkReplay(): void {
    const cut = this.events.length >> 1
    const half = JSON.parse(JSON.stringify(snapshotOf(fold(initialState(this.config), this.events.slice(0, cut)))))
    for (const replayed of [fold(initialState(this.config), this.events), fold(restoreState(this.config, half), this.events.slice(cut))]) {
      checkInvariants(replayed)
      expect(projectState(replayed)).toStrictEqual(projectState(this.state))
      // The projection sorts identity holders; decide answers with the oldest, so compare the order too.
      expect(holdersInOrder(replayed)).toStrictEqual(holdersInOrder(this.state))
    }
  }

  /**
   * Start what can start, finish everything running, else jump to the next wake-up. Each round
   * finishes a job or passes an eta or a throttle window, so a few rounds per job suffice.
   */
  drain(): void {
    for (let round = 0, rounds = 4 * this.state.jobs.size + 10; round < rounds; round++) {
      this.dispatch()
      const started = this.jobs((j) => j.state === 'started').length
      for (let i = 0; i < started; i++) this.play({ kind: 'finish', job: 0, outcome: RETURNED, stale: false, pattern: false, entropy: 0 })
      const zombies = this.model.zombies.length
      for (let i = 0; i < zombies; i++) this.play({ kind: 'settle', zombie: 0 })
      if (started + zombies > 0) continue
      const wake = nextWakeMs(this.state, this.now)
      if (wake === null) return
      this.now = Math.max(this.now, wake)
    }
  }
}

class StepCommand implements fc.Command<Model, Shell> {
  constructor(readonly step: Step) {}
  check = (): boolean => true
  run = (_model: Model, shell: Shell): void => shell.play(this.step)
  toString = (): string => JSON.stringify(this.step)
}

/** `usual` `weight` times out of `weight + 1`, else `rare`. */
const rarely = <T,>(usual: fc.Arbitrary<T>, rare: T, weight = 5): fc.Arbitrary<T> =>
  fc.oneof({ weight, arbitrary: usual }, { weight: 1, arbitrary: fc.constant(rare) })

/** A queue_job config string. Capacity 0 is rare: unlimited on a subchannel, dispatch off on root. */
const configText = (live: boolean): fc.Arbitrary<string> => {
  const someCap = fc.constantFrom(1, 1, 2, 3) // 1 often: it is the only capacity a sequential channel may have
  const entry = (name: string, cap: fc.Arbitrary<number>) =>
    fc.record({ cap, seq: fc.boolean(), throttle: fc.constantFrom(0, 0, 1, 2), paused: live ? fc.constant(false) : rarely(fc.constant(false), true) })
      .map(({ cap, seq, throttle, paused }) =>
        // queue_job refuses a sequential channel of any other capacity than 1.
        `${name}:${cap}${seq && cap === 1 ? ':sequential' : ''}${throttle > 0 ? `:throttle=${throttle}` : ''}${paused ? ':paused' : ''}`)
  const subs = CONFIGURABLE.map((name) => fc.option(entry(name, rarely(someCap, 0)), { nil: undefined }))
  // A live run needs a runner: root:0 would (rightly) start nothing.
  const rootCap = live ? someCap : rarely(someCap, 0, 10)
  // In any order: a subchannel named before its parent must not change the tree.
  return fc.tuple(entry('root', rootCap), ...subs)
    .map((entries) => entries.filter((e) => e !== undefined))
    .chain((entries) => fc.shuffledSubarray(entries, { minLength: entries.length }))
    .map((entries) => entries.join(','))
}

const jobDraft = fc.record({
  priority: fc.constantFrom(0, 5, 10, 10), channel: fc.nat(CHANNELS.length - 1), maxRetries: fc.nat(3), parents: fc.nat(15),
  // Small etas hit the boundaries (eta == now, one ms ahead) that large ones almost never do.
  etaMs: fc.option(fc.oneof(fc.nat(2), fc.nat(4000)), { nil: null }), key: fc.option(fc.nat(2), { nil: null, freq: 3 }),
})
const enqueueStep = fc.record({
  kind: fc.constant('enqueue' as const), shape: fc.constantFrom('chain' as const, 'group' as const, 'dag' as const),
  jobs: fc.array(jobDraft, { minLength: 1, maxLength: 4 }), attach: fc.option(fc.nat(), { nil: null, freq: 4 }),
})
const anyOutcome: fc.Arbitrary<HandlerOutcome> = fc.oneof(
  fc.constant(RETURNED),
  fc.record({ seconds: fc.option(fc.nat(3), { nil: undefined }), ignoreRetry: fc.boolean() }).map(
    ({ seconds, ignoreRetry }): HandlerOutcome => ({ kind: 'retryable', message: 'again', seconds, ignoreRetry, excName: 'RetryableJobError', excInfo: 'stack' }),
  ),
  fc.constant<HandlerOutcome>({ kind: 'failed', excName: 'Error', excMessage: 'boom', excInfo: 'stack' }),
  fc.constant<HandlerOutcome>({ kind: 'nothing_to_do', message: 'nothing' }),
)

/** Jobs are named by index modulo the live count, so a shrunk sequence still means something. */
const steps = (live: boolean): fc.Arbitrary<Iterable<fc.Command<Model, Shell>>> => {
  const finishStep = fc.record({
    kind: fc.constant('finish' as const), job: fc.nat(), outcome: live ? fc.constant(RETURNED) : anyOutcome,
    stale: live ? fc.constant(false) : rarely(fc.constant(false), true, 6),
    pattern: fc.boolean(), entropy: fc.nat(999).map((n) => n / 1000),
  })
  const dispatchStep = fc.constant({ kind: 'dispatch' as const })
  const arbs: fc.Arbitrary<Step>[] = [
    enqueueStep, enqueueStep, dispatchStep, dispatchStep, finishStep, finishStep,
    fc.record({ kind: fc.constantFrom('cancel' as const, 'requeue' as const, 'setDone' as const), job: fc.nat() }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.nat(2), fc.nat(1500), fc.nat(8000)) }),
    fc.record({ kind: fc.constant('settle' as const), zombie: fc.nat() }),
    fc.record({ kind: fc.constant('join' as const), job: fc.nat(), asParent: fc.boolean() }),
    fc.record({
      kind: fc.constant('progress' as const), job: fc.nat(), stale: rarely(fc.constant(false), true, 3),
      fraction: fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true }).map((f) => f + 0)),
      message: fc.option(fc.string({ maxLength: 4 }), { nil: null }),
    }),
  ]
  if (!live) arbs.push(fc.record({ kind: fc.constantFrom('pause' as const, 'resume' as const), channel: fc.nat(CHANNELS.length - 1) }))
  return fc.commands(arbs.map((a) => a.map((s) => new StepCommand(s))), { maxCommands: 60, size: 'max' })
}

function play(text: string, commands: Iterable<fc.Command<Model, Shell>>, live: boolean): Shell {
  const config = parseChannelConfig(text)
  const shell = new Shell(config, live)
  fc.modelRun(() => ({ model: shell.model, real: shell }), commands)
  shell.checkReplay()
  return shell
}

/** Each identity key's holders, oldest first (the order decide reads); keys sorted. */
function holdersInOrder(state: State): [string, string[]][] {
  return [...state.identity].map(([key, holders]): [string, string[]] => [key, holders.map((j) => j.uuid)]).sort((a, b) => (a[0] < b[0] ? -1 : 1))
}

/** Some ancestor is cancelled or failed: the job may wait for ever, by design. */
function deadAncestor(job: JobRecord): boolean {
  const seen = new Set<JobRecord>()
  for (let stack = [...job.parents], p = stack.pop(); p !== undefined; p = stack.pop()) {
    if (p.state === 'cancelled' || p.state === 'failed') return true
    if (!seen.has(p)) stack.push(...p.parents)
    seen.add(p)
  }
  return false
}

describe('core model', () => {
  it('stays within capacity, starts only startable jobs, leaves no startable job idle, and replays exactly', () => {
    fc.assert(fc.property(configText(false), steps(false), (text, commands) => void play(text, commands, false)), PARAMS)
  })

  it('runs every job whose ancestors were not cancelled or failed to an end', () => {
    fc.assert(
      fc.property(configText(true), steps(true), (text, commands) => {
        const shell = play(text, commands, true)
        shell.drain()
        const stuck = shell.jobs((j) => !['done', 'cancelled', 'failed'].includes(j.state) && !deadAncestor(j))
        expect(stuck.map((j) => `${j.uuid} ${j.state} on ${j.channel.name}`)).toEqual([])
        shell.checkReplay()
      }),
      PARAMS,
    )
  })
})
