// Proves the core's half of crons with given events / when command / then events: a fireCron
// decided on a state that moved on stores nothing, a firing whose key a waiting job holds is not
// stored twice, a define keeps the stored next firing when the times did not change; evolve
// refuses a firing that is not after the last one; the cron events round-trip through the log's
// row codec (codes 18 to 21) and crons through snapshots, whose restore equals the fold.
import { describe, expect, it } from 'vitest'
import { AssertionError } from '../../src/engine/core/assert.js'
import { initialState } from '../../src/engine/core/channels.js'
import type { CronClock } from '../../src/engine/core/cron.js'
import { decide } from '../../src/engine/core/decide.js'
import type { Command } from '../../src/engine/core/commands.js'
import type { CronDefinition, JobSpec, WharfEvent } from '../../src/engine/core/events.js'
import { evolve } from '../../src/engine/core/evolve.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import type { State } from '../../src/engine/core/state.js'
import { decodeBatch, encodeBatch } from '../../src/storage/codec.js'
import { toRow } from '../../src/storage/event-rows.js'
import { InvalidPropertyError, UnknownCronError } from '../../src/engine/errors.js'
import { CRONS_MAX } from '../../src/engine/core/limits.js'
import { cronIdentityKey } from '../../src/engine/runtime/cron-firing.js'
import { runTick, TickOutput } from '../../src/engine/core/tick.js'

const H = 3_600_000
const T0 = Date.parse('2026-01-01T00:00:00Z')

const definition: CronDefinition = {
  name: 'hourly', schedule: '0 * * * *', tz: 'UTC', catchUp: 'all',
  job: { model: 'reports', method: 'build', records: [1], args: ['x', new Date(5)], context: {}, priority: 10, maxRetries: 5, description: 'reports.build', channel: null },
}

function spec(uuid: string, atMs: number): JobSpec {
  return {
    uuid, graphUuid: null, model: 'reports', method: 'build', records: [1], args: ['x'], context: {}, priority: 10, eta: null, maxRetries: 5,
    description: 'reports.build', channel: 'root', identityKey: cronIdentityKey('hourly', atMs), dependsOn: [], createdAt: T0,
  }
}

/** Decide `command` at `nowMs` and apply its events; returns them. */
function step(state: State, command: Command, nowMs: number): WharfEvent[] {
  const decision = decide(state, command, nowMs)
  if (!decision.ok) throw decision.error
  for (const event of decision.events) evolve(state, { ...event, seq: state.seq + 1 })
  return decision.events
}

function defined(): State {
  const state = initialState([])
  step(state, { type: 'defineCron', cron: definition, nextMs: T0 + H }, T0)
  return state
}

const fire = (fromMs: number, fired: number[], nextMs: number, uuids = fired.map((_, i) => `j${fromMs}-${i}`)): Command =>
  ({ type: 'fireCron', name: 'hourly', fromMs, fired, jobs: fired.map((at, i) => spec(uuids[i]!, at)), nextMs })

describe('deciding cron commands', () => {
  it('fires: the jobs, then the cron moved past them', () => {
    const state = defined()
    const events = step(state, fire(T0 + H, [T0 + H, T0 + 2 * H], T0 + 3 * H), T0 + 2 * H + 5)
    expect(events.map((e) => e.type)).toEqual(['job.created', 'job.created', 'cron.fired'])
    expect(state.crons.get('hourly')).toMatchObject({ lastMs: T0 + 2 * H, nextMs: T0 + 3 * H })
    checkInvariants(state)
  })

  it('drops a fire decided on a state that moved on: already fired, paused, removed, or not due', () => {
    const state = defined()
    expect(decide(state, fire(T0 + H, [T0 + H], T0 + 2 * H), T0 + H - 1)).toEqual({ ok: true, events: [], existing: null })
    step(state, fire(T0 + H, [T0 + H], T0 + 2 * H), T0 + H)
    expect(step(state, fire(T0 + H, [T0 + H], T0 + 2 * H, ['again']), T0 + H)).toEqual([])
    step(state, { type: 'pauseCron', name: 'hourly' }, T0 + H)
    expect(step(state, fire(T0 + 2 * H, [T0 + 2 * H], T0 + 3 * H), T0 + 2 * H)).toEqual([])
    step(state, { type: 'removeCron', name: 'hourly' }, T0 + H)
    expect(step(state, fire(T0 + 2 * H, [T0 + 2 * H], T0 + 3 * H), T0 + 2 * H)).toEqual([])
  })

  it('does not store a firing twice while a job waits with its key', () => {
    const state = defined()
    step(state, { type: 'enqueue', jobs: [spec('waiting', T0 + H)] }, T0)
    const events = step(state, fire(T0 + H, [T0 + H], T0 + 2 * H), T0 + H)
    expect(events.map((e) => e.type)).toEqual(['cron.fired'])
    expect(state.crons.get('hourly')!.lastMs).toBe(T0 + H)
  })

  it('keeps the stored next firing when schedule and time zone are unchanged, writes nothing for the same definition', () => {
    const state = defined()
    expect(step(state, { type: 'defineCron', cron: definition, nextMs: T0 + 5 * H }, T0 + 4 * H)).toEqual([])
    const changedJob = { ...definition, catchUp: 'none' as const }
    step(state, { type: 'defineCron', cron: changedJob, nextMs: T0 + 5 * H }, T0 + 4 * H)
    expect(state.crons.get('hourly')).toMatchObject({ nextMs: T0 + H, definition: changedJob })
    step(state, { type: 'defineCron', cron: { ...changedJob, schedule: '30 * * * *' }, nextMs: T0 + 4.5 * H }, T0 + 4 * H)
    expect(state.crons.get('hourly')!.nextMs).toBe(T0 + 4.5 * H)
  })

  it('compares jobs value by value: NaN, null, Dates and key order as stored', () => {
    const state = defined()
    const withArgs = (args: unknown[], context: Record<string, unknown> = {}): CronDefinition => ({ ...definition, job: { ...definition.job, args, context } })
    step(state, { type: 'defineCron', cron: withArgs([Number.NaN, new Date(5)], { a: 1, b: 2 }), nextMs: 0 }, T0)
    expect(step(state, { type: 'defineCron', cron: withArgs([Number.NaN, new Date(5)], { b: 2, a: 1 }), nextMs: 0 }, T0)).toEqual([])
    expect(step(state, { type: 'defineCron', cron: withArgs([null, new Date(5)], { a: 1, b: 2 }), nextMs: 0 }, T0)).toHaveLength(1)
    expect(step(state, { type: 'defineCron', cron: withArgs([null, new Date(6)], { a: 1, b: 2 }), nextMs: 0 }, T0)).toHaveLength(1)
    expect(step(state, { type: 'defineCron', cron: withArgs([null, '1970-01-01T00:00:00.006Z'], { a: 1, b: 2 }), nextMs: 0 }, T0)).toHaveLength(1)
  })

  it(`refuses a cron past CRONS_MAX, and still updates one that exists`, () => {
    const state = initialState([])
    for (let i = 0; i < CRONS_MAX; i++) step(state, { type: 'defineCron', cron: { ...definition, name: `c${i}` }, nextMs: T0 + H }, T0)
    const decision = decide(state, { type: 'defineCron', cron: { ...definition, name: 'one-more' }, nextMs: T0 + H }, T0)
    expect(decision.ok ? null : decision.error).toBeInstanceOf(InvalidPropertyError)
    expect(step(state, { type: 'defineCron', cron: { ...definition, name: 'c0', catchUp: 'one' }, nextMs: T0 + H }, T0)).toHaveLength(1)
  })

  it('refuses remove, pause and resume of an unknown cron', () => {
    const state = initialState([])
    for (const command of [{ type: 'removeCron', name: 'x' }, { type: 'pauseCron', name: 'x' }, { type: 'resumeCron', name: 'x', nextMs: 1, atMs: T0 }] as Command[]) {
      const decision = decide(state, command, T0)
      expect(decision.ok ? null : decision.error).toBeInstanceOf(UnknownCronError)
    }
  })

  it('times a resume in a tick by the cron as decided before it, and keeps its own time without a call time', () => {
    // A stand-in cron clock: the next firing of the definition's hour ('0 <h> * * *' in UTC).
    const clock: CronClock = (def, afterMs) => {
      const hour = Number(def.schedule.split(' ')[1])
      const day = Math.floor(afterMs / (24 * H)) * 24 * H
      return day + hour * H > afterMs ? day + hour * H : day + (24 + hour) * H
    }
    const state = initialState([])
    const daily = (hour: number): CronDefinition => ({ ...definition, schedule: `0 ${hour} * * *` })
    const out = new TickOutput()
    const commands: Command[] = [
      { type: 'defineCron', cron: daily(23), nextMs: T0 + 23 * H },
      { type: 'pauseCron', name: 'hourly' },
      { type: 'defineCron', cron: daily(9), nextMs: T0 + 9 * H },
      // Computed by its caller from the schedule it saw (23:00).
      { type: 'resumeCron', name: 'hourly', nextMs: T0 + 23 * H, atMs: T0 + 6 * H },
    ]
    runTick(state, { outcomes: [], commands, nowMs: T0 + 6 * H, dispatch: false, registered: null, cronNext: clock, startsMax: 1, afterCommand: null, auditPick: null }, out)
    expect(out.events.at(-1)).toMatchObject({ type: 'cron.resumed', nextMs: T0 + 9 * H })
    // A call without its time (a follower of an older build) keeps the next firing it carries.
    step(state, { type: 'pauseCron', name: 'hourly' }, T0 + 7 * H)
    const old = { type: 'resumeCron', name: 'hourly', nextMs: T0 + 33 * H } as Command
    const again = new TickOutput()
    runTick(state, { outcomes: [], commands: [old], nowMs: T0 + 7 * H, dispatch: false, registered: null, cronNext: clock, startsMax: 1, afterCommand: null, auditPick: null }, again)
    expect(again.events).toMatchObject([{ type: 'cron.resumed', nextMs: T0 + 33 * H }])
  })

  it('moves a define or a resume timed behind the last firing past it with the cron clock, and refuses it without one', () => {
    const hourly: CronClock = (_def, afterMs) => (Math.floor(afterMs / H) + 1) * H
    const state = defined()
    step(state, fire(T0 + H, [T0 + H], T0 + 2 * H), T0 + H)
    step(state, { type: 'pauseCron', name: 'hourly' }, T0 + H)
    // The caller's clock reads 00:15, behind the last firing (01:00).
    const behind: Command[] = [
      { type: 'defineCron', cron: { ...definition, schedule: '30 * * * *' }, nextMs: T0 + H / 2 },
      { type: 'resumeCron', name: 'hourly', nextMs: T0 + H / 2, atMs: T0 + H / 4 },
    ]
    const refused = decide(state, behind[0]!, T0 + H / 4)
    expect(refused.ok ? null : refused.error).toBeInstanceOf(InvalidPropertyError)
    const out = new TickOutput()
    runTick(state, { outcomes: [], commands: behind, nowMs: T0 + H / 4, dispatch: false, registered: null, cronNext: hourly, startsMax: 1, afterCommand: null, auditPick: null }, out)
    expect(out.notes).toEqual([undefined, undefined])
    expect(out.events.map((e) => [e.type, 'nextMs' in e ? e.nextMs : null])).toEqual([['cron.defined', T0 + 2 * H], ['cron.resumed', T0 + 2 * H]])
    expect(() => checkInvariants(state)).not.toThrow()
  })

  it('asserts in evolve that a firing comes after the last one', () => {
    const state = defined()
    step(state, fire(T0 + H, [T0 + H], T0 + 2 * H), T0 + H)
    const again: WharfEvent = { seq: state.seq + 1, v: 1, at: T0 + 2 * H, type: 'cron.fired', name: 'hourly', fired: [T0 + H], nextMs: T0 + 3 * H }
    expect(() => evolve(state, again)).toThrow(AssertionError)
  })
})

describe('cron events in the log and in snapshots', () => {
  const base = (seq: number, at: number) => ({ seq, v: 1 as const, at })
  const events: WharfEvent[] = [
    { ...base(1, T0), type: 'cron.defined', cron: definition, nextMs: T0 + H },
    { ...base(2, T0 + 1), type: 'cron.paused', name: 'hourly' },
    { ...base(3, T0 + 2), type: 'cron.resumed', name: 'hourly', nextMs: T0 + H },
    { ...base(4, T0 + H), type: 'job.created', job: spec('a', T0 + H) },
    { ...base(5, T0 + H), type: 'cron.fired', name: 'hourly', fired: [T0 + H], nextMs: T0 + 2 * H },
    { ...base(6, T0 + 2 * H), type: 'cron.fired', name: 'hourly', fired: [], nextMs: null },
    { ...base(7, T0 + 2 * H), type: 'cron.removed', name: 'hourly' },
  ]

  it('round-trip through the row codec, paused and resumed sharing code 20', () => {
    const decoded = decodeBatch(encodeBatch(events), 1)
    expect(decoded).toEqual(events)
    const codes = events.map((e) => toRow(e, 0)[0])
    expect(codes).toEqual([18, 20, 20, 0, 21, 21, 19])
  })

  it('survive a snapshot: restore + tail equals the whole fold', () => {
    const whole = initialState([])
    for (const e of events.slice(0, 5)) evolve(whole, e)
    const at3 = initialState([])
    for (const e of events.slice(0, 3)) evolve(at3, e)
    const restored = restoreState([], JSON.parse(JSON.stringify(snapshotOf(at3))))
    for (const e of events.slice(3, 5)) evolve(restored, e)
    expect([...restored.crons.values()]).toEqual(JSON.parse(JSON.stringify([...whole.crons.values()])))
    expect(snapshotOf(restored).crons).toEqual(JSON.parse(JSON.stringify(snapshotOf(whole).crons)))
  })
})
