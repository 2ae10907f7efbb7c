// Proves the whole engine (Wharf on a MemoryLog and a FakeClock) safe, replayable and live:
// random command sequences — jobs, graphs and batches, handler outcomes, management calls, removals,
// pauses, time, close-and-reopen, crashes, snapshots — are played through the public API, and after every
// command each committed event is re-checked against a model of the rules (engine-harness.ts),
// the state is audited, and fold(log) and snapshot + tail must give back the live state; every
// batch's counts equal a recount over its jobs (in memory and in history), its state follows from
// them, and its onDone jobs were created once if it was ever done, never otherwise; crons are
// declared, paused, resumed and removed among these calls, and every firing the clock passes is
// checked against a model of the schedules and catchUp (engine-crons.ts).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chain, group, InvalidGraphError, JobStateConflictError, UnknownChannelError, type Delayable, type DelayableChain, type DelayableGroup, type JobView } from '../../src/index.js'
import {
  deadAncestor,
  DEFAULT_RETRY_MS,
  fcParams,
  isBlocking,
  isTerminal,
  Rig,
  TIMEOUT_MS,
  type Oracle,
  type Plan,
  type Try,
} from './engine-harness.js'
import { aroundRestart, cronModelOf, cronSteps, playCron, type CronStep } from './engine-crons.js'
import { toBatchView, type BatchRecord } from '../../src/engine/core/batch.js'
import { stateIndex } from '../../src/engine/core/state.js'

// 'root.b.new' and 'root.c' are never configured: they hang, unlimited, under their parents.
const CHANNELS = ['root', 'root.a', 'root.a.x', 'root.b', 'root.b.new', 'root.c'] as const
const CONFIGURABLE = ['root.a', 'root.a.x', 'root.b'] as const
const KEYS = ['k0', 'k1', 'k2'] as const
const PARAMS = fcParams(150)
const LIVE_PARAMS = fcParams(100)

interface Draft { priority: number; channel: number; eta: number | null; key: number | null; maxRetries: number; rec: number; plan: Plan }
type Tree = { leaf: Draft } | { op: 'chain' | 'group'; kids: Tree[] }
type Step =
  | { kind: 'enqueue'; job: Draft }
  | { kind: 'graph'; tree: Tree }
  | { kind: 'batch'; elements: Tree[]; onDone: Draft | null }
  | { kind: 'cancel' | 'requeue' | 'setDone'; job: number }
  | { kind: 'remove'; jobs: number[] }
  | { kind: 'pause' | 'resume'; channel: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'drain' | 'reopen' | 'crash' | 'snapshot' | 'vacuum' }
  | CronStep

const keyOf = (d: Draft): string | null => (d.key === null ? null : KEYS[d.key]!)
const propsOf = (d: Draft) => ({
  priority: d.priority,
  channel: CHANNELS[d.channel]!,
  maxRetries: d.maxRetries,
  ...(d.eta === null ? {} : { eta: d.eta }),
  ...(d.key === null ? {} : { identityKey: KEYS[d.key]! }),
})

/** What the stored job must say about the call that made it. */
function expectStoredAs(view: JobView, d: Draft): void {
  expect(view).toMatchObject({
    priority: d.priority, channel: CHANNELS[d.channel], maxRetries: d.maxRetries, identityKey: keyOf(d),
    records: [d.rec], args: [d.plan], eta: d.eta === null ? null : view.createdAt + Math.round(d.eta * 1000),
  })
}

async function enqueue(rig: Rig, d: Draft): Promise<void> {
  const from = rig.events.length
  const view = await rig.m.browse([d.rec]).withDelay(propsOf(d)).run(d.plan)
  rig.acked.add(view.uuid)
  const created = rig.events.slice(from).some((e) => e.type === 'job.created' && e.job.uuid === view.uuid)
  rig.count(created ? 'enqueue: stored' : 'enqueue: identity key matched')
  if (created) expectStoredAs(view, d)
  // Not stored: the call was answered with the job holding its key (the audit proves one did).
  else expect([keyOf(d), view.identityKey]).toEqual([view.identityKey, keyOf(d) ?? 'a key'])
}

type Node = Delayable | DelayableChain | DelayableGroup
interface Built { node: Node; heads: number[]; tails: number[] }

/** Delayables for the tree, with the edges chain/group must wire: tails of one to heads of the next. */
function build(rig: Rig, tree: Tree, leaves: { d: Draft; node: Delayable }[], edges: Set<string>): Built {
  if ('leaf' in tree) {
    const node = rig.m.browse([tree.leaf.rec]).delayable(propsOf(tree.leaf)).run(tree.leaf.plan)
    leaves.push({ d: tree.leaf, node })
    return { node, heads: [leaves.length - 1], tails: [leaves.length - 1] }
  }
  const kids = tree.kids.map((k) => build(rig, k, leaves, edges))
  if (tree.op === 'group') return { node: group(...kids.map((k) => k.node)), heads: kids.flatMap((k) => k.heads), tails: kids.flatMap((k) => k.tails) }
  for (let i = 1; i < kids.length; i++) for (const t of kids[i - 1]!.tails) for (const h of kids[i]!.heads) edges.add(`${t}>${h}`)
  return { node: chain(...kids.map((k) => k.node)), heads: kids[0]!.heads, tails: kids.at(-1)!.tails }
}

async function enqueueGraph(rig: Rig, tree: Tree): Promise<void> {
  const leaves: { d: Draft; node: Delayable }[] = []
  const edges = new Set<string>()
  const built = build(rig, tree, leaves, edges)
  const from = rig.events.length
  await built.node.delay()
  const created = new Set(rig.events.slice(from).flatMap((e) => (e.type === 'job.created' ? [e.job.uuid] : [])))
  const views = leaves.map((l) => l.node.job)
  if (views.some((v) => v !== undefined && created.has(v.uuid))) {
    // Stored whole, with exactly the edges the chains and groups describe.
    rig.count(`graph: stored, ${edges.size} edges`)
    expect(views.every((v) => v !== undefined && created.has(v.uuid))).toBe(true)
    const uuids = views.map((v) => v!.uuid)
    for (const [i, l] of leaves.entries()) {
      const view = (await rig.wharf.job(uuids[i]!))!
      expectStoredAs(view, l.d)
      const parents = [...edges].filter((e) => e.endsWith(`>${i}`)).map((e) => uuids[Number(e.split('>')[0])]!)
      expect([...view.dependsOn].sort()).toEqual(parents.sort())
      expect(view.graphUuid).toBe(leaves.length > 1 ? views[0]!.graphUuid : null)
      rig.acked.add(view.uuid)
    }
  } else {
    // Skipped whole: every keyed job was answered with the job holding its key.
    rig.count('graph: skipped by identity keys')
    expect(leaves.some((l) => l.d.key !== null)).toBe(true)
    leaves.forEach((l, i) => expect(views[i]?.identityKey ?? null).toBe(l.d.key === null ? null : keyOf(l.d)))
  }
}

/** Batch jobs may not have identity keys (batch() refuses them). */
const unkeyed = (tree: Tree): Tree => ('leaf' in tree ? { leaf: { ...tree.leaf, key: null } } : { op: tree.op, kids: tree.kids.map(unkeyed) })

async function storeBatch(rig: Rig, elements: Tree[], onDone: Draft | null): Promise<void> {
  const leaves: { d: Draft; node: Delayable }[] = []
  const nodes = elements.map((tree) => build(rig, unkeyed(tree), leaves, new Set()).node)
  const after = onDone === null ? undefined : build(rig, unkeyed({ leaf: onDone }), [], new Set()).node
  const batch = await rig.wharf.batch('batch', nodes, after === undefined ? {} : { onDone: after })
  expect([batch.state, batch.total, batch.onDone.length]).toEqual(['pending', leaves.length, onDone === null ? 0 : 1])
  for (const { node } of leaves) {
    expect(node.job!.batchUuid).toBe(batch.uuid)
    rig.acked.add(node.job!.uuid)
  }
  rig.count(`batch: ${leaves.length} job(s)${onDone === null ? '' : ', onDone'}`)
}

/**
 * Every batch's counts are a recount over its jobs in the model's fold (memory, and its outbox:
 * the finished jobs history holds); its state follows from them; onDone jobs were created once
 * if it was ever done, never before.
 */
function auditBatches(rig: Rig): void {
  const s = rig.auditor.state
  const recount = new Map<string, number[]>()
  for (const job of [...s.jobs.values(), ...s.retired.values()]) {
    if (job.batch === null) continue
    const counts = recount.get(job.batch.uuid) ?? [0, 0, 0, 0, 0, 0, 0]
    recount.set(job.batch.uuid, counts)
    counts[stateIndex(job.state)]!++
  }
  expect([...recount.keys()].sort(), 'batches with jobs').toEqual([...s.batches.keys()].sort())
  const created = new Map<string, number>()
  for (const e of rig.events) if (e.type === 'job.created') created.set(e.job.uuid, (created.get(e.job.uuid) ?? 0) + 1)
  for (const b of s.batches.values()) {
    const counts = recount.get(b.uuid)!
    expect(b.counts, `counts of batch ${b.uuid}`).toEqual(counts)
    const [waiting, pending, enqueued, started, done, cancelled, failed] = counts as [number, number, number, number, number, number, number]
    const view = toBatchView(b)
    expect([view.total, view.done, view.failed, view.cancelled]).toEqual([counts.reduce((x, y) => x + y), done, failed, cancelled])
    const finished = waiting + pending + enqueued + started + failed === 0
    if (finished && done > 0) expect(view.state, `batch ${b.uuid} complete`).toBe('done')
    else if (view.state === 'done') expect(finished, `batch ${b.uuid} done with jobs not finished`).toBe(true)
    else if (pending + enqueued + started === 0) expect(view.state, `batch ${b.uuid} with nothing that can run`).toBe('failed')
    else expect(['pending', 'started']).toContain(view.state)
    if (view.state === 'pending') expect(started + done + cancelled + failed, `batch ${b.uuid} pending`).toBe(0)
    for (const uuid of b.onDoneUuids) expect(created.get(uuid) ?? 0, `onDone ${uuid} of batch ${b.uuid}`).toBe(b.onDoneStored ? 1 : 0)
    if (view.state === 'done' && b.onDoneUuids.length > 0) expect(b.onDoneStored).toBe(true)
  }
  rig.count(...batchStates(s.batches.values()))
}

/** What the batches of a step were in, for FC_STATS. */
function batchStates(batches: Iterable<BatchRecord>): [string, number] {
  const states = [...batches].map((b) => toBatchView(b).state).sort()
  return [`batches: ${states.length === 0 ? 'none' : [...new Set(states)].join(' ')}`, 1]
}

async function manage(rig: Rig, kind: 'cancel' | 'requeue' | 'setDone', index: number): Promise<void> {
  const all = await rig.wharf.jobs()
  if (all.length === 0) return
  const { uuid, state: before } = all[index % all.length]!
  const from = rig.events.length
  try {
    await rig.wharf[kind](uuid)
  } catch (error) {
    // The only refusal: a requeue that would give a second job the key another one holds.
    expect(kind).toBe('requeue')
    expect(error).toBeInstanceOf(JobStateConflictError)
    rig.count('requeue: refused for an identity key')
    const job = (await rig.wharf.job(uuid))!
    expect(isBlocking(job)).toBe(false)
    expect((await rig.wharf.jobs()).some((j) => j.uuid !== uuid && j.identityKey === job.identityKey && job.identityKey !== null)).toBe(true)
    return
  }
  const after = (await rig.wharf.job(uuid))!.state
  rig.count(`${kind} of a ${before} job`)
  if (kind === 'cancel') expect(after).toBe('cancelled')
  if (kind === 'setDone') expect(after).toBe('done')
  if (kind === 'requeue') {
    const requeued = rig.events.slice(from).some((e) => e.type === 'job.requeued' && e.uuid === uuid)
    // queue_job skips a job waiting for its parents; anything else is back in the queue (or taken at once).
    if (requeued) expect(['wait_dependencies', 'pending', 'enqueued', 'started']).toContain(after)
    else expect(after).toBe('wait_dependencies')
  }
}

/**
 * remove() of 1–3 jobs: all gone, in one jobs.removed (the auditor checks that it was allowed), or
 * refused with nothing removed. Whether a refusal was deserved depends on the state when it was
 * decided, which handlers may have changed since the read: the unit tests pin that down.
 */
async function removeJobs(rig: Rig, picks: number[]): Promise<void> {
  const all = await rig.wharf.jobs()
  if (all.length === 0) return
  const uuids = [...new Set(picks.map((i) => all[i % all.length]!.uuid))]
  const from = rig.events.length
  const refused = await rig.wharf.remove(uuids).then(() => null, (error: unknown) => error)
  const removals = rig.events.slice(from).filter((e) => e.type === 'jobs.removed')
  if (refused !== null) {
    expect([JobStateConflictError, InvalidGraphError].some((c) => refused instanceof c), String(refused)).toBe(true)
    expect(removals).toEqual([])
    rig.count(`remove: refused (${(refused as Error).name})`)
    return
  }
  expect(removals.flatMap((e) => [...e.memory, ...e.history]).sort()).toEqual([...uuids].sort())
  for (const uuid of uuids) expect(await rig.wharf.job(uuid)).toBeUndefined()
  for (const uuid of uuids) rig.removed.add(uuid)
  rig.count(`remove: ${uuids.length} job(s), ${removals[0]!.history.length} from history`)
}

async function play(rig: Rig, step: Step): Promise<void> {
  switch (step.kind) {
    case 'enqueue':
      await enqueue(rig, step.job)
      break
    case 'graph':
      await enqueueGraph(rig, step.tree)
      break
    case 'batch':
      await storeBatch(rig, step.elements, step.onDone)
      break
    case 'cancel':
    case 'requeue':
    case 'setDone':
      await manage(rig, step.kind, step.job)
      break
    case 'remove':
      await removeJobs(rig, step.jobs)
      break
    case 'pause':
    case 'resume': {
      const name = CHANNELS[step.channel]!
      // A channel neither configured nor used by a job yet is refused (API.md 0.2).
      const known = rig.state.channels.has(name)
      const call = step.kind === 'pause' ? rig.wharf.pauseChannel(name) : rig.wharf.resumeChannel(name)
      const refused = await call.then(() => null, (error: unknown) => error)
      if (known) expect(refused).toBe(null)
      else expect(refused).toBeInstanceOf(UnknownChannelError)
      expect(rig.state.channels.get(name)?.paused ?? false).toBe(step.kind === 'pause' && refused === null)
      break
    }
    case 'advance':
      await rig.clock.advance(step.ms)
      break
    case 'drain':
      await rig.wharf.drain()
      break
    case 'reopen':
      await aroundRestart(rig, () => rig.reopen(), false)
      break
    case 'crash':
      await aroundRestart(rig, () => rig.crash(), false)
      break
    case 'snapshot':
      await rig.snapshot()
      break
    case 'vacuum':
      await aroundRestart(rig, () => rig.vacuum(), true)
      break
    case 'cron':
    case 'pauseCron':
    case 'resumeCron':
    case 'removeCron':
    case 'downtime':
      await playCron(rig, step)
      break
  }
  await rig.wharf.settled()
  await rig.audit()
  auditBatches(rig)
  await cronModelOf(rig).audit(rig)
}

class StepCommand implements fc.AsyncCommand<Oracle, Rig> {
  constructor(readonly step: Step) {}
  check = (): boolean => true
  run = async (_model: Oracle, rig: Rig): Promise<void> => play(rig, this.step)
  toString = (): string => JSON.stringify(this.step)
}

// ---------------------------------------------------------------------------------------------
// Arbitraries.

/** `usual` `weight` times out of `weight + 1`, else `rare`. */
const rarely = <T,>(usual: fc.Arbitrary<T>, rare: T, weight = 5): fc.Arbitrary<T> =>
  fc.oneof({ weight, arbitrary: usual }, { weight: 1, arbitrary: fc.constant(rare) })

/** A queue_job config string; a live run has no paused channel. Root always has a runner (never root:0). */
const configText = (live: boolean): fc.Arbitrary<string> => {
  const someCap = fc.constantFrom(1, 1, 2, 3) // 1 often: the only capacity a sequential channel may have
  // Root paused from the start would leave most runs with nothing started: pause commands do that.
  const entry = (name: string, cap: fc.Arbitrary<number>) =>
    fc.record({ cap, seq: fc.boolean(), throttle: fc.constantFrom(0, 0, 1, 2), paused: live || name === 'root' ? fc.constant(false) : rarely(fc.constant(false), true, 8) })
      .map(({ cap, seq, throttle, paused }) =>
        `${name}:${cap}${seq && cap === 1 ? ':sequential' : ''}${throttle > 0 ? `:throttle=${throttle}` : ''}${paused ? ':paused' : ''}`)
  const subs = CONFIGURABLE.map((name) => fc.option(entry(name, rarely(someCap, 0)), { nil: undefined }))
  return fc.tuple(entry('root', someCap), ...subs)
    .map((entries) => entries.filter((e) => e !== undefined))
    .chain((entries) => fc.shuffledSubarray(entries, { minLength: entries.length }))
    .map((entries) => entries.join(','))
}

// Durations stay under TIMEOUT_MS; a 'timeout' try sleeps 3 × TIMEOUT_MS and must be cut at TIMEOUT_MS.
const duration = fc.constantFrom<number | null>(null, null, 0, 200, TIMEOUT_MS - 300)
const finalTry: fc.Arbitrary<Try> = fc.record({ k: fc.constantFrom('done' as const, 'done' as const, 'nothing' as const), ms: duration })
const transientTry: fc.Arbitrary<Try> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('retry' as const), ms: duration, s: fc.constantFrom(null, 1, 2, 3), ig: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant<Try>({ k: 'timeout' }) },
)
const failTry: fc.Arbitrary<Try> = fc.record({ k: fc.constant('fail' as const), ms: duration })
/**
 * A plan's last try repeats for ever, so it always ends the job (done, nothing to do, failed):
 * otherwise a job with maxRetries 0 would retry for ever and drain() would never return.
 * Live plans end in success, and their jobs retry for ever (maxRetries 0): only a cancel stops them.
 */
const plan = (live: boolean): fc.Arbitrary<Plan> =>
  fc.tuple(fc.array(live ? transientTry : fc.oneof({ weight: 3, arbitrary: transientTry }, { weight: 1, arbitrary: failTry }), { maxLength: 2 }), live ? finalTry : fc.oneof({ weight: 5, arbitrary: finalTry }, { weight: 1, arbitrary: failTry }))
    .map(([first, last]) => [...first, last])

const draft = (live: boolean): fc.Arbitrary<Draft> =>
  fc.record({
    priority: fc.constantFrom(0, 5, 10, 10),
    channel: fc.nat(CHANNELS.length - 1),
    // Small etas hit the boundaries (eta == now, a ms ahead); a negative one is in the past.
    eta: fc.option(fc.constantFrom(-1, 0.001, 0.5, 1, 2.5, 6), { nil: null, freq: 2 }),
    key: fc.option(fc.nat(KEYS.length - 1), { nil: null, freq: 2 }),
    maxRetries: live ? fc.constant(0) : fc.nat(3),
    rec: fc.nat(3),
    plan: plan(live),
  })

/** A chain or group of 2–4 members, each a job or (less often) a nested chain or group. */
const tree = (live: boolean): fc.Arbitrary<Tree> => {
  const { node } = fc.letrec<{ member: Tree; node: Tree }>((tie) => ({
    member: fc.oneof({ maxDepth: 2, depthIdentifier: 'graph' }, { weight: 3, arbitrary: draft(live).map((leaf): Tree => ({ leaf })) }, { weight: 1, arbitrary: tie('node') }),
    node: fc.record({ op: fc.constantFrom('chain' as const, 'chain' as const, 'group' as const), kids: fc.array(tie('member'), { minLength: 2, maxLength: 4 }) }),
  }))
  return node
}

/** Jobs are named by index modulo the live count, so a shrunk sequence still means something. */
const steps = (live: boolean): fc.Arbitrary<Iterable<fc.AsyncCommand<Oracle, Rig>>> => {
  const enqueueStep = fc.record({ kind: fc.constant('enqueue' as const), job: draft(live) })
  const graphStep = fc.record({ kind: fc.constant('graph' as const), tree: tree(live) })
  const element = fc.oneof({ weight: 2, arbitrary: draft(live).map((leaf): Tree => ({ leaf })) }, { weight: 1, arbitrary: tree(live) })
  const batchStep = fc.record({ kind: fc.constant('batch' as const), elements: fc.array(element, { minLength: 1, maxLength: 3 }), onDone: fc.option(draft(live), { nil: null }) })
  const advanceStep = fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.nat(2), fc.nat(1500), fc.nat(8000)) })
  const arbs: fc.Arbitrary<Step>[] = [
    enqueueStep, enqueueStep, enqueueStep, graphStep, graphStep, batchStep, batchStep, advanceStep, advanceStep, advanceStep, advanceStep,
    fc.record({ kind: fc.constantFrom('cancel' as const, 'requeue' as const, 'setDone' as const), job: fc.nat() }),
    fc.record({ kind: fc.constant('remove' as const), jobs: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }),
    fc.constantFrom<Step>({ kind: 'drain' }, { kind: 'reopen' }, { kind: 'crash' }, { kind: 'crash' }, { kind: 'snapshot' }, { kind: 'vacuum' }),
    ...cronSteps(CHANNELS, live),
  ]
  if (!live) {
    // Pausing root stops everything: rarer than pausing a subchannel.
    const channel = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: CHANNELS.length - 1 }) }, { weight: 1, arbitrary: fc.constant(0) })
    arbs.push(fc.record({ kind: fc.constant('pause' as const), channel }), fc.record({ kind: fc.constant('resume' as const), channel }))
  }
  return fc.commands(arbs.map((a) => a.map((s) => new StepCommand(s))), { maxCommands: 40, size: 'max' })
}

/** FC_STATS=1: print what the runs of each property went through, summed. */
const totals = new Map<string, number>()
function report(title: string): void {
  if (!process.env.FC_STATS) return
  console.log(`${title}\n${[...totals].sort().map(([k, n]) => `  ${k}: ${n}`).join('\n')}`)
  totals.clear()
}

async function run(text: string, pattern: boolean, seed: number, commands: Iterable<fc.AsyncCommand<Oracle, Rig>>): Promise<Rig> {
  const rig = await Rig.open({ channels: text, pattern, seed })
  await fc.asyncModelRun(() => ({ model: rig.auditor.oracle, real: rig }), commands)
  return rig
}

/** Where each job ended up, and what held back the ready ones: tells a run that did little. */
function countEndStates(rig: Rig): void {
  const why = rig.auditor.oracle.reasons(rig.state, rig.clock.now())
  for (const j of rig.state.jobs.values()) {
    const held = why.get(j.channel.name)?.replace(/job-\d+/, 'its eta head') ?? 'free, the Wharf is closed'
    rig.count(`at the end: ${j.state}${j.state !== 'pending' ? '' : j.waitingEta ? ' (eta ahead)' : ` (ready; ${held})`}`)
  }
}

function tally(rig: Rig): void {
  for (const [k, n] of [...rig.stats, ...rig.auditor.seen]) totals.set(k, (totals.get(k) ?? 0) + n)
  totals.set('runs', (totals.get('runs') ?? 0) + 1)
}

/**
 * An upper bound on how long draining can take in simulated time: every try left of every job
 * (and of every onDone job a batch may still store) waits at most the longest retry delay, a
 * timeout and two throttle windows, one after another;
 * and drain() also waits for handlers still running for jobs already ended (cancelled, set done),
 * each cut at its timeout at the latest.
 */
function drainBoundMs(rig: Rig): number {
  const now = rig.clock.now()
  const perTryMs = DEFAULT_RETRY_MS + 3 * TIMEOUT_MS + 2 * rig.auditor.oracle.maxThrottleMs
  let bound = TIMEOUT_MS
  for (const job of rig.state.jobs.values()) {
    if (isTerminal(job)) continue
    bound += (job.args[0] as Plan).length * perTryMs + Math.max(0, (job.eta ?? now) - now)
  }
  // onDone jobs not stored yet: a batch that completes while draining stores them, and they run too.
  for (const batch of rig.state.batches.values()) {
    for (const spec of batch.onDone ?? []) bound += (spec.args[0] as Plan).length * perTryMs + Math.max(0, (spec.eta ?? now) - now)
  }
  return bound
}

describe('engine model', () => {
  it('keeps every scheduling rule, identity key and replay equality across any sequence of calls, reopens and crashes', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(configText(false), fc.boolean(), fc.nat(), steps(false), async (text, pattern, seed, commands) => {
        const rig = await run(text, pattern, seed, commands)
        await rig.close()
        await rig.audit()
        countEndStates(rig)
        tally(rig)
      }),
      PARAMS,
    )
    report('safety')
  })

  it('drains every job whose ancestors were not cancelled to an end, within bounded simulated time', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(configText(true), fc.boolean(), fc.nat(), steps(true), async (text, pattern, seed, commands) => {
        const rig = await run(text, pattern, seed, commands)
        const [startMs, boundMs] = [rig.clock.now(), drainBoundMs(rig)]
        await rig.wharf.drain()
        await rig.audit()
        const stuck = [...rig.state.jobs.values()].filter((j) => !isTerminal(j) && !deadAncestor(j))
        expect(stuck.map((j) => `${j.uuid} ${j.state} on ${j.channel.name}`)).toEqual([])
        expect(rig.clock.now() - startMs).toBeLessThanOrEqual(boundMs)
        await cronModelOf(rig).audit(rig) // the firings drain() passed
        await rig.close()
        await rig.audit()
        tally(rig)
      }),
      LIVE_PARAMS,
    )
    report('liveness')
  })
})
