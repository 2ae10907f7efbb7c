// The core's housekeeping decisions, given events / when command / then events: recovery of
// jobs a dead process left running, autovacuum order and limits, and snapshot round trips.
import { describe, expect, it } from 'vitest'
import { checkInvariants, decide, evolve, initialState, parseChannelConfig, type Command, type JobSpec, type State, type WharfEvent } from '../../src/engine/core/index.js'
import { projectState } from '../../src/engine/core/project.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import { pickNext } from '../../src/engine/core/schedule.js'

const DAY = 86_400_000
const config = parseChannelConfig('root:4,root.keep:2:remove_after_days=60')

function spec(uuid: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    uuid, graphUuid: null, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null,
    maxRetries: 5, description: 'm.run', channel: 'root', identityKey: null, dependsOn: [], createdAt: 0, ...extra,
  }
}

function run(state: State, command: Command, now: number): WharfEvent[] {
  const decision = decide(state, command, now)
  if (!decision.ok) throw decision.error
  for (const event of decision.events) {
    event.seq = state.seq + 1
    evolve(state, event)
  }
  checkInvariants(state)
  return decision.events
}

function dispatch(state: State, now: number): string[] {
  const started: string[] = []
  for (let e = pickNext(state, now); e !== null; e = pickNext(state, now)) {
    e.seq = state.seq + 1
    evolve(state, e)
    if (e.type === 'job.enqueued') {
      run(state, { type: 'start', uuid: e.uuid }, now)
      started.push(e.uuid)
    }
  }
  return started
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

describe('autovacuum', () => {
  it('removes old done and cancelled jobs, keeps failed, recent and per-channel longer ones', () => {
    const state = initialState(config)
    run(state, { type: 'enqueue', jobs: [spec('done'), spec('cancelled'), spec('failed'), spec('keep', { channel: 'root.keep' })] }, 0)
    dispatch(state, 0)
    run(state, finishOk('done', 1), 0)
    run(state, { type: 'cancel', uuid: 'cancelled' }, 0)
    run(state, { type: 'finish', uuid: 'failed', run: 1, outcome: { kind: 'failed', excName: 'E', excMessage: 'x', excInfo: '' }, retryPattern: null, entropy: 0 }, 0)
    run(state, finishOk('keep', 1), 0)
    expect(run(state, { type: 'vacuum', defaultDays: 30, limit: 1000 }, 29 * DAY)).toEqual([])
    const [event] = run(state, { type: 'vacuum', defaultDays: 30, limit: 1000 }, 31 * DAY)
    expect(event).toMatchObject({ type: 'jobs.vacuumed', uuids: ['done', 'cancelled'] })
    expect([...state.jobs.keys()].sort()).toEqual(['failed', 'keep'])
    run(state, { type: 'vacuum', defaultDays: 30, limit: 1000 }, 61 * DAY)
    expect([...state.jobs.keys()]).toEqual(['failed'])
  })

  it('takes children before parents and keeps a parent whose child stays', () => {
    const state = initialState(config)
    const g = { graphUuid: 'g' }
    run(state, { type: 'enqueue', jobs: [spec('p', g), spec('c1', { ...g, dependsOn: ['p'] }), spec('c2', { ...g, dependsOn: ['p'] })] }, 0)
    dispatch(state, 0)
    run(state, finishOk('p', 1), 0)
    dispatch(state, 0)
    run(state, finishOk('c1', 1), 0)
    run(state, { type: 'finish', uuid: 'c2', run: 1, outcome: { kind: 'failed', excName: 'E', excMessage: 'x', excInfo: '' }, retryPattern: null, entropy: 0 }, 0)
    run(state, { type: 'vacuum', defaultDays: 30, limit: 1000 }, 31 * DAY)
    expect([...state.jobs.keys()].sort()).toEqual(['c2', 'p'])
    expect(state.jobs.get('p')!.children.map((c) => c.uuid)).toEqual(['c2'])
  })

  it('removes at most `limit` jobs per decision, children first', () => {
    const state = initialState(config)
    const g = { graphUuid: 'g' }
    run(state, { type: 'enqueue', jobs: [spec('p', g), spec('c', { ...g, dependsOn: ['p'] }), spec('x')] }, 0)
    for (const uuid of ['p', 'c', 'x']) run(state, { type: 'setDone', uuid }, 0)
    const [first] = run(state, { type: 'vacuum', defaultDays: 30, limit: 2 }, 31 * DAY)
    expect((first as { uuids: string[] }).uuids).toEqual(['c', 'p'])
    const [second] = run(state, { type: 'vacuum', defaultDays: 30, limit: 2 }, 31 * DAY)
    expect((second as { uuids: string[] }).uuids).toEqual(['x'])
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
})
