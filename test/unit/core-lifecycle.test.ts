// The core's housekeeping decisions, given events / when command / then events: recovery of
// jobs a dead process left running, autovacuum order and limits, and snapshot round trips.
import { describe, expect, it } from 'vitest'
import { checkInvariants, decide, initialState, parseChannelConfig, type Command, type JobSpec, type State, type WharfEvent } from '../../src/engine/core/index.js'
import { projectState } from '../../src/engine/core/project.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import { TICK_STARTS_MAX } from '../../src/engine/core/limits.js'
import { runTick, TickOutput } from '../../src/engine/core/tick.js'
import { toJobView } from '../../src/engine/core/view.js'

const config = parseChannelConfig('root:4,root.keep:2:remove_after_days=60')

function spec(uuid: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    uuid, graphUuid: null, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null,
    maxRetries: 5, description: 'm.run', channel: 'root', identityKey: null, dependsOn: [], createdAt: 0, ...extra,
  }
}

/** One tick of the core: the commands, then (if asked) every start it allows; audited after
 * each command, before each pick and at the end. */
function tick(state: State, commands: Command[], now: number, dispatch: boolean): TickOutput {
  const out = new TickOutput()
  runTick(state, {
    outcomes: [], commands, nowMs: now, dispatch, registered: null, startsMax: TICK_STARTS_MAX,
    afterCommand: (_i, _note, s) => checkInvariants(s), auditPick: (_event, s) => checkInvariants(s),
  }, out)
  checkInvariants(state)
  return out
}

function run(state: State, command: Command, now: number): WharfEvent[] {
  const out = tick(state, [command], now, false)
  const note = out.notes[0]
  if (note !== undefined && 'error' in note) throw note.error
  return out.events
}

function dispatch(state: State, now: number): string[] {
  return tick(state, [], now, true).launch.map((job) => job.uuid)
}

const finishOk = (uuid: string, run: number): Command => ({ type: 'finish', uuid, run, outcome: { kind: 'returned', result: 1 }, retryPattern: null, entropy: 0 })

describe('recovery of jobs left running', () => {
  it('requeues started and enqueued jobs, keeping the counted try, and frees their slots', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('a'), spec('b')] }, 0)
    expect(dispatch(state, 0)).toEqual(['a', 'b'])
    const events = run(state, { type: 'recover', limit: 100 }, 10)
    expect(events.map((e) => [e.type, (e as { dead: boolean }).dead])).toEqual([['job.recovered', false], ['job.recovered', false]])
    expect(state.jobs.get('a')!.state).toBe('pending')
    expect(state.jobs.get('a')!.retry).toBe(1)
    expect(state.root.running).toBe(0)
  })

  it('fails a job found dead past maxRetries as JobFoundDead', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('a', { maxRetries: 1 })] }, 0)
    dispatch(state, 0)
    run(state, { type: 'recover', limit: 100 }, 1)
    dispatch(state, 1) // try 2 starts: retry 2 > maxRetries 1
    const [event] = run(state, { type: 'recover', limit: 100 }, 2)
    expect(event).toMatchObject({ type: 'job.recovered', uuid: 'a', dead: true })
    expect(state.jobs.get('a')).toMatchObject({ state: 'failed', excName: 'JobFoundDead', retry: 2 })
  })

  it('puts a recovered child back to waiting when its parent is not done', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('p', { graphUuid: 'g' }), spec('c', { graphUuid: 'g', dependsOn: ['p'] })] }, 0)
    dispatch(state, 0)
    run(state, finishOk('p', 1), 1)
    dispatch(state, 1)
    run(state, { type: 'requeue', uuid: 'p' }, 2) // parent not done any more; child is running
    run(state, { type: 'recover', limit: 100 }, 3)
    expect(state.jobs.get('c')!.state).toBe('wait_dependencies')
  })
})

describe('memory follows live work', () => {
  it('a job outside any graph leaves memory in the event that finishes it, into the outbox', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('a'), spec('b')] }, 0)
    dispatch(state, 0)
    run(state, finishOk('a', 1), 0)
    expect([...state.jobs.keys()]).toEqual(['b'])
    expect([...state.retired.keys()]).toEqual(['a'])
    expect(state.retired.get('a')!.state).toBe('done')
    expect(state.counts).toEqual([0, 0, 0, 1, 0, 0, 0])
    run(state, { type: 'cancel', uuid: 'b' }, 0)
    expect([...state.jobs.keys()]).toEqual([])
    expect([...state.retired.keys()]).toEqual(['a', 'b'])
  })

  it('a graph leaves memory whole, once every job of it is done or cancelled', () => {
    const state = initialState(config)
    const g = { graphUuid: 'g' }
    run(state, { type: 'enqueue', jobs: [spec('p', g), spec('c1', { ...g, dependsOn: ['p'] }), spec('c2', { ...g, dependsOn: ['p'] })] }, 0)
    dispatch(state, 0)
    run(state, finishOk('p', 1), 0)
    dispatch(state, 0)
    run(state, finishOk('c1', 1), 0)
    run(state, { type: 'finish', uuid: 'c2', run: 1, outcome: { kind: 'failed', excName: 'E', excMessage: 'x', excInfo: '' }, retryPattern: null, entropy: 0 }, 0)
    expect([...state.jobs.keys()].sort()).toEqual(['c1', 'c2', 'p'])
    expect(state.retired.size).toBe(0)
    run(state, { type: 'setDone', uuid: 'c2' }, 0)
    expect([...state.jobs.keys()]).toEqual([])
    expect([...state.retired.keys()].sort()).toEqual(['c1', 'c2', 'p'])
    expect(state.graphs.size).toBe(0)
  })

  it('a command on a finished job brings its whole graph back first (jobs.restored), then decides', () => {
    const state = initialState(config)
    const g = { graphUuid: 'g' }
    run(state, { type: 'enqueue', jobs: [spec('p', g), spec('c', { ...g, dependsOn: ['p'] })] }, 0)
    for (const uuid of ['p', 'c']) run(state, { type: 'setDone', uuid }, 0)
    expect(state.jobs.size).toBe(0)
    // The outbox still holds the graph (this batch): the core restores from it.
    const events = run(state, { type: 'requeue', uuid: 'p' }, 1)
    expect(events.map((e) => e.type)).toEqual(['jobs.restored', 'job.requeued'])
    expect(state.jobs.get('p')!.state).toBe('pending')
    expect(state.jobs.get('c')!.state).toBe('done')
    expect(state.jobs.get('c')!.parents.map((j) => j.uuid)).toEqual(['p'])
    expect(state.retired.size).toBe(0)
    expect(state.restored.size).toBe(0)
    // No-ops bring nothing back; an unknown job is refused.
    state.retired.clear()
    expect(decide(state, { type: 'cancel', uuid: 'gone' }, 2)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_JOB' } })
  })

  it('vacuum names only jobs history still holds: a graph back in memory is kept', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('x'), spec('p', { graphUuid: 'g' })] }, 0)
    for (const uuid of ['x', 'p']) run(state, { type: 'setDone', uuid }, 0)
    const views = [...state.retired.values()].map(toJobView)
    state.retired.clear() // written to history
    run(state, { type: 'requeue', uuid: 'p', restore: views.filter((v) => v.uuid === 'p') }, 1)
    const [event] = run(state, { type: 'vacuum', jobs: views }, 2)
    expect(event).toMatchObject({ type: 'jobs.vacuumed', uuids: ['x'] })
  })

  it('a job vacuumed earlier in the tick is gone for the commands after it, though they read it from history', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('x')] }, 0)
    run(state, { type: 'setDone', uuid: 'x' }, 0)
    const views = [...state.retired.values()].map(toJobView)
    state.retired.clear() // written to history
    const out = tick(state, [{ type: 'vacuum', jobs: views }, { type: 'vacuum', jobs: views }, { type: 'requeue', uuid: 'x', restore: views }], 2, false)
    expect(out.events).toMatchObject([{ type: 'jobs.vacuumed', uuids: ['x'] }])
    expect(out.notes).toMatchObject([{ removed: 1 }, { removed: 0 }, { error: { code: 'UNKNOWN_JOB' } }])
    expect(state.jobs.has('x')).toBe(false)
  })
})

describe('snapshots', () => {
  it('restore(snapshot) projects equal to the live state, and decides the same afterwards', () => {
    const state = initialState(config)
    const g = { graphUuid: 'g' }
    run(state, { type: 'enqueue', jobs: [spec('a', { ...g, identityKey: 'k' }), spec('b', { ...g, dependsOn: ['a'] }), spec('e', { eta: 5000 })] }, 0)
    run(state, { type: 'pauseChannel', channel: 'root.keep' }, 0)
    dispatch(state, 0)
    const snapshot = JSON.parse(JSON.stringify(snapshotOf(state)))
    const restored = restoreState(config, snapshot)
    checkInvariants(restored)
    expect(projectState(restored)).toEqual(projectState(state))
    run(state, finishOk('a', 1), 10)
    run(restored, finishOk('a', 1), 10)
    expect(dispatch(restored, 6000)).toEqual(dispatch(state, 6000))
    expect(projectState(restored)).toEqual(projectState(state))
  })

  it('restores a job without context with a frozen empty one, like the API stores it, and any other context as it was', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('a'), spec('c', { context: { tz: 'UTC' } })] }, 0)
    const restored = restoreState(config, JSON.parse(JSON.stringify(snapshotOf(state))))
    expect(restored.jobs.get('a')!.context).toEqual({})
    expect(Object.isFrozen(restored.jobs.get('a')!.context)).toBe(true)
    expect(restored.jobs.get('c')!.context).toEqual({ tz: 'UTC' })
  })
})
