// The crons of the engine model (engine-model.test.ts): steps that declare, redeclare, pause,
// resume and remove crons, long clock advances across their firings, and a model of the firings
// the engine must store. The model reads the schedules by arithmetic on whole seconds and the
// zones' fixed minute offsets, never through croner, and applies catchUp at each (re)start. After
// every step: every firing the clock passed while its cron was active is stored exactly once
// (identity key `cron:<name>:<ISO time>`), at the instant the model says, with the job the
// definition of that moment describes; none while paused or removed; crons() agrees. Not a test
// file itself.
import fc from 'fast-check'
import { expect } from 'vitest'
import { UnknownCronError, type CatchUp, type CronView, type JobSpec } from '../../src/index.js'
import type { Plan, Rig, Try } from './engine-harness.js'

const NAMES = ['c0', 'c1', 'c2'] as const
const SECOND = 1000
/** catchUp 'all' over this much downtime would store more jobs than a run should hold. */
const ALL_DUE_MAX = 50

/** A zone and what it adds, modulo an hour, to a UTC minute (DST moves whole hours only). */
interface Zone { tz: string; minutes: number }
const ZONES: readonly Zone[] = [
  { tz: 'UTC', minutes: 0 },
  { tz: 'Asia/Kathmandu', minutes: 45 }, // +05:45
  { tz: 'America/St_Johns', minutes: 30 }, // -03:30, -02:30 in summer
]

/** A cron expression and the model's reading of it: does the whole second `ms` fire in `zone`? */
interface Schedule { expression: string; fires(ms: number, zone: Zone): boolean }
const secondOf = (ms: number): number => new Date(ms).getUTCSeconds()
const localMinute = (ms: number, zone: Zone): number => (new Date(ms).getUTCMinutes() + zone.minutes) % 60
const SCHEDULES: readonly Schedule[] = [
  { expression: '*/20 * * * * *', fires: (ms) => secondOf(ms) % 20 === 0 },
  { expression: '* * * * *', fires: (ms) => secondOf(ms) === 0 },
  { expression: '0 */2 * * * *', fires: (ms, z) => secondOf(ms) === 0 && localMinute(ms, z) % 2 === 0 },
  { expression: '30 */4 * * * *', fires: (ms, z) => secondOf(ms) === 30 && localMinute(ms, z) % 4 === 0 },
  { expression: '15 7,37 * * * *', fires: (ms, z) => secondOf(ms) === 15 && (localMinute(ms, z) === 7 || localMinute(ms, z) === 37) },
]

/** The job each firing stores: a plan of one final try, so that a firing's job always ends
 * quickly (a cron that keeps firing must not keep drain() busy). */
export interface CronDraft { priority: number; channel: string; maxRetries: number; rec: number; plan: Plan }
export type CronStep =
  | { kind: 'cron'; cron: number; schedule: number; zone: number; catchUp: CatchUp; job: CronDraft }
  | { kind: 'pauseCron' | 'resumeCron' | 'removeCron'; cron: number }
  /** Closed, no engine for `ms`, opened again: the firings missed meanwhile follow catchUp. */
  | { kind: 'downtime'; ms: number }

/** The step arbitraries: declarations, management, downtimes, and advances long enough to pass
 * firings. */
export function cronSteps(channels: readonly string[], live: boolean): fc.Arbitrary<CronStep | { kind: 'advance'; ms: number }>[] {
  const last: fc.Arbitrary<Try> = fc.record({ k: live ? fc.constantFrom('done' as const, 'nothing' as const) : fc.constantFrom('done' as const, 'done' as const, 'nothing' as const, 'fail' as const), ms: fc.constantFrom(null, 0, 200) })
  const job: fc.Arbitrary<CronDraft> = fc.record({ priority: fc.constantFrom(0, 5, 10), channel: fc.constantFrom(...channels), maxRetries: fc.nat(3), rec: fc.nat(3), plan: last.map((t) => [t]) })
  const cron = fc.nat(NAMES.length - 1)
  const define = fc.record({ kind: fc.constant('cron' as const), cron, schedule: fc.nat(SCHEDULES.length - 1), zone: fc.nat(ZONES.length - 1), catchUp: fc.constantFrom<CatchUp>('none', 'one', 'all'), job })
  const manage = fc.record({ kind: fc.constantFrom('pauseCron' as const, 'resumeCron' as const, 'removeCron' as const), cron })
  const advance = fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 20 * SECOND, max: 150 * SECOND }) })
  const downtime = fc.record({ kind: fc.constant('downtime' as const), ms: fc.integer({ min: 0, max: 300 * SECOND }) })
  return [define, define, manage, advance, downtime]
}

interface ModelCron { name: string; step: Extract<CronStep, { kind: 'cron' }>; schedule: Schedule; zone: Zone; catchUp: CatchUp; job: CronDraft; paused: boolean; nextMs: number; lastMs: number | null }
/** A firing the engine must have stored: when its tick ran, and with which job. */
interface Firing { createdAt: number; job: CronDraft }

export class CronModel {
  readonly crons = new Map<string, ModelCron>()
  readonly firings = new Map<string, Firing>()
  /** rig.events already read for cron jobs, and the identity keys they stored (in order). */
  private read = 0
  private readonly stored: { key: string; job: JobSpec }[] = []

  /** The first firing strictly after `ms`. */
  static after(cron: Pick<ModelCron, 'schedule' | 'zone'>, ms: number): number {
    let t = Math.floor(ms / SECOND) * SECOND + SECOND
    while (!cron.schedule.fires(t, cron.zone)) t += SECOND
    return t
  }

  private fire(cron: ModelCron, atMs: number, nowMs: number): void {
    this.firings.set(`cron:${cron.name}:${new Date(atMs).toISOString()}`, { createdAt: nowMs, job: cron.job })
    cron.lastMs = atMs
  }

  /** The engine ran up to `nowMs`: its timer woke it at each firing, which fired at its time. */
  runTo(nowMs: number): void {
    for (const cron of this.crons.values()) {
      if (cron.paused) continue
      for (; cron.nextMs <= nowMs; cron.nextMs = CronModel.after(cron, cron.nextMs)) this.fire(cron, cron.nextMs, cron.nextMs)
    }
  }

  /** An engine started at `nowMs` after a downtime: the firings missed, per catchUp. */
  startedAt(nowMs: number, rig: Rig): void {
    for (const cron of this.crons.values()) {
      if (cron.paused || cron.nextMs > nowMs) continue
      const due: number[] = []
      for (let t = cron.nextMs; t <= nowMs && due.length <= ALL_DUE_MAX; t = CronModel.after(cron, t)) due.push(t)
      const latest = Math.max(cron.nextMs, latestAtOrBefore(cron, nowMs))
      if (cron.catchUp === 'all') {
        expect(due.length, `cron ${cron.name}: catchUp 'all' over a long downtime (the model pauses it then)`).toBeLessThanOrEqual(ALL_DUE_MAX)
        for (const t of due) this.fire(cron, t, nowMs)
      } else if (cron.catchUp === 'one' || latest >= nowMs) {
        this.fire(cron, latest, nowMs)
      }
      rig.count(`cron: caught up after a downtime, catchUp '${cron.catchUp}', ${due.length === 1 ? 'one firing' : 'several'} missed${cron.catchUp === 'none' && latest >= nowMs ? ', the latest at the start' : ''}`)
      cron.nextMs = CronModel.after(cron, nowMs)
    }
  }

  /** The jobs the engine stored for firings, from the committed events, in log order. */
  private storedFirings(rig: Rig): { key: string; job: JobSpec }[] {
    for (; this.read < rig.events.length; this.read++) {
      const e = rig.events[this.read]!
      if (e.type === 'job.created' && e.job.identityKey?.startsWith('cron:') === true) this.stored.push({ key: e.job.identityKey, job: e.job })
    }
    return this.stored
  }

  /** Every check, the engine settled and running at `rig.clock.now()`. */
  async audit(rig: Rig): Promise<void> {
    this.runTo(rig.clock.now())
    const stored = this.storedFirings(rig)
    const keys = stored.map((s) => s.key).sort()
    // Each firing once, none missing, none extra (doubled: its key twice; skipped: absent).
    expect(keys, 'firings stored (identity keys), against the model').toEqual([...this.firings.keys()].sort())
    for (const { key, job } of stored) {
      const want = this.firings.get(key)!
      expect(
        { createdAt: job.createdAt, priority: job.priority, channel: job.channel, maxRetries: job.maxRetries, records: job.records, args: job.args, eta: job.eta, graph: job.graphUuid, dependsOn: job.dependsOn, description: job.description },
        `the job of firing ${key}`,
      ).toEqual({ createdAt: want.createdAt, priority: want.job.priority, channel: want.job.channel, maxRetries: want.job.maxRetries, records: [want.job.rec], args: [want.job.plan], eta: null, graph: null, dependsOn: [], description: 'm.run' })
    }
    const views = (await rig.wharf.crons()).map(viewFields).sort((a, b) => (a.name < b.name ? -1 : 1))
    expect(views, 'crons()').toEqual([...this.crons.values()].map(modelView).sort((a, b) => (a.name < b.name ? -1 : 1)))
    rig.count(`cron: ${stored.length === 0 ? 'no firing stored yet' : 'firings stored'}`)
  }
}

function latestAtOrBefore(cron: ModelCron, ms: number): number {
  let t = Math.floor(ms / SECOND) * SECOND
  while (!cron.schedule.fires(t, cron.zone)) t -= SECOND
  return t
}

const viewFields = (v: CronView) => ({ name: v.name, schedule: v.schedule, tz: v.tz, catchUp: v.catchUp, paused: v.paused, nextFireAt: v.nextFireAt, lastFireAt: v.lastFireAt, function: v.function })
const modelView = (c: ModelCron): ReturnType<typeof viewFields> => ({
  name: c.name, schedule: c.schedule.expression, tz: c.zone.tz, catchUp: c.catchUp, paused: c.paused, nextFireAt: c.paused ? null : c.nextMs, lastFireAt: c.lastMs, function: 'm.run',
})

const models = new WeakMap<Rig, CronModel>()

/** The model of a rig's crons (one per run). */
export function cronModelOf(rig: Rig): CronModel {
  let model = models.get(rig)
  if (model === undefined) models.set(rig, (model = new CronModel()))
  return model
}

/** Play a cron step through the public API, and tell the model. */
export async function playCron(rig: Rig, step: CronStep): Promise<void> {
  if (step.kind === 'downtime') return aroundRestart(rig, () => rig.reopen(step.ms), false)
  const model = cronModelOf(rig)
  const now = rig.clock.now()
  model.runTo(now)
  const name = NAMES[step.cron]!
  const cron = model.crons.get(name)
  if (step.kind === 'cron') {
    const d = step.job
    const job = rig.m.browse([d.rec]).delayable({ priority: d.priority, channel: d.channel, maxRetries: d.maxRetries }).run(d.plan)
    const [schedule, zone] = [SCHEDULES[step.schedule]!, ZONES[step.zone]!]
    const from = rig.events.length
    await rig.wharf.cron(name, schedule.expression, job, { tz: zone.tz, catchUp: step.catchUp })
    const same = cron !== undefined && cron.schedule === schedule && cron.zone === zone
    const identical = same && cron.catchUp === step.catchUp && JSON.stringify(cron.job) === JSON.stringify(d)
    // The same definition again writes nothing (apps declare their crons at every start).
    if (identical) expect(rig.events.slice(from).map((e) => e.type), `declaring ${name} again, unchanged`).not.toContain('cron.defined')
    rig.count(`cron: ${cron === undefined ? 'declared' : identical ? 'declared again, unchanged' : same ? 'redeclared, same times' : 'redeclared, new times'}`)
    const next = same ? cron.nextMs : CronModel.after({ schedule, zone }, now)
    model.crons.set(name, { name, step, schedule, zone, catchUp: step.catchUp, job: d, paused: cron?.paused ?? false, nextMs: next, lastMs: cron?.lastMs ?? null })
    return
  }
  const refused = await rig.wharf[step.kind](name).then(() => null, (error: unknown) => error)
  if (cron === undefined) {
    expect(refused, `${step.kind}(${name}) of no cron`).toBeInstanceOf(UnknownCronError)
    return
  }
  expect(refused, `${step.kind}(${name})`).toBeNull()
  rig.count(`cron: ${step.kind} of a ${cron.paused ? 'paused' : 'running'} cron`)
  if (step.kind === 'removeCron') model.crons.delete(name)
  // Resumed: from the first firing after now; the ones in the pause are skipped.
  else if (step.kind === 'resumeCron' && cron.paused) Object.assign(cron, { paused: false, nextMs: CronModel.after(cron, now) })
  else if (step.kind === 'pauseCron') cron.paused = true
}

/**
 * A step that stops and starts the engine (`restart`: reopen, crash or vacuum): firings fell
 * until it stopped, then catchUp decides at the start; then each cron is declared again as it
 * was, as apps do at every start, which writes nothing. Across the vacuum's month, crons with
 * catchUp 'all' are paused first (as an operator would: each would store CRON_FIRINGS_MAX jobs)
 * and resumed after.
 */
export async function aroundRestart(rig: Rig, restart: () => Promise<void>, long: boolean): Promise<void> {
  const model = cronModelOf(rig)
  model.runTo(rig.clock.now())
  const held = long ? [...model.crons.values()].filter((c) => c.catchUp === 'all' && !c.paused) : []
  for (const cron of held) await playCron(rig, { kind: 'pauseCron', cron: NAMES.indexOf(cron.name as (typeof NAMES)[number]) })
  await restart()
  model.startedAt(rig.clock.now(), rig)
  for (const cron of [...model.crons.values()]) await playCron(rig, cron.step)
  for (const cron of held) await playCron(rig, { kind: 'resumeCron', cron: NAMES.indexOf(cron.name as (typeof NAMES)[number]) })
}
