// Proves runTick decides a whole tick as data, given a state / when runTick / then events, notes
// and effects: refusals, outcomes before commands, answers before dispatch, the starts bound, aborts.
import { describe, expect, it } from 'vitest'
import { checkInvariants, initialState, parseChannelConfig, type Command, type JobSpec, type State, type WharfEvent } from '../../src/engine/core/index.js'
import type { DecideNote } from '../../src/engine/core/decide.js'
import { TICK_STARTS_MAX } from '../../src/engine/core/limits.js'
import { runTick, TickOutput, type TickInput } from '../../src/engine/core/tick.js'

function spec(uuid: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    uuid, graphUuid: null, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null,
    maxRetries: 5, description: 'm.run', channel: 'root', identityKey: null, dependsOn: [], createdAt: 0, ...extra,
  }
}

const finishOk = (uuid: string, run: number): Command => ({ type: 'finish', uuid, run, outcome: { kind: 'returned', result: 1 }, retryPattern: null, entropy: 0 })

function tick(state: State, given: Partial<TickInput>): TickOutput {
  const out = new TickOutput()
  runTick(state, {
    outcomes: [], commands: [], nowMs: 10, dispatch: false, registered: null, startsMax: TICK_STARTS_MAX, afterCommand: null, auditPick: null, ...given,
  }, out)
  checkInvariants(state)
  return out
}

const types = (events: readonly WharfEvent[]): string[] =>
  events.map((e) => `${e.type} ${e.type === 'job.created' ? e.job.uuid : (e as { uuid?: string }).uuid ?? ''}`.trim())

/** A state on `channels` whose jobs `started` are running and `pending` wait. */
function given(channels: string, started: string[], pending: string[] = []): State {
  const state = initialState(parseChannelConfig(channels))
  tick(state, { commands: [{ type: 'enqueue', jobs: started.map((u) => spec(u)) }], dispatch: true })
  if (pending.length > 0) tick(state, { commands: [{ type: 'enqueue', jobs: pending.map((u) => spec(u)) }] })
  return state
}

describe('runTick', () => {
  it('refuses a command with no events and an error note, and goes on with the next', () => {
    const state = given('root:1', [])
    const seq = state.seq
    const out = tick(state, { commands: [{ type: 'pauseChannel', channel: 'root.nope' }, { type: 'pauseChannel', channel: 'root' }] })
    expect(out.notes[0]).toMatchObject({ error: { code: 'UNKNOWN_CHANNEL' } })
    expect(out.notes[1]).toBeUndefined()
    expect(out.commandFrom).toEqual([0, 0, 1])
    expect(out.events.map((e) => [e.type, e.seq])).toEqual([['channel.paused', seq + 1]])
    expect([out.launch, out.abort, out.cut]).toEqual([[], [], false])
  })

  it('decides handler outcomes before commands: the setDone finds the job already done', () => {
    const state = given('root:1', ['a'])
    const out = tick(state, { outcomes: [finishOk('a', 1)], commands: [{ type: 'setDone', uuid: 'a' }] })
    // Commands first would have superseded run 1 (manual done, an abort) and released it after.
    expect(out.events).toMatchObject([{ type: 'job.done', uuid: 'a', manual: false, result: 1 }])
    expect(out.notes).toEqual([undefined])
    expect(out.commandFrom).toEqual([1, 1])
    expect(out.abort).toEqual([])
  })

  it('answers each command on the state it left, before the same tick starts its jobs', () => {
    const state = given('root:1', [])
    const seen: [number, DecideNote, string | undefined][] = []
    const out = tick(state, {
      commands: [{ type: 'enqueue', jobs: [spec('a')] }, { type: 'enqueue', jobs: [spec('b', { identityKey: 'k' })] }, { type: 'enqueue', jobs: [spec('c', { identityKey: 'k' })] }],
      dispatch: true,
      afterCommand: (i, note, s) => void seen.push([i, note, s.jobs.get('a')?.state]),
    })
    expect(seen).toEqual([[0, undefined, 'pending'], [1, undefined, 'pending'], [2, { existing: ['b'] }, 'pending']])
    expect(types(out.events)).toEqual(['job.created a', 'job.created b', 'job.enqueued a', 'job.started a'])
    expect(out.commandFrom).toEqual([0, 1, 2, 2])
    expect(out.launch.map((j) => [j.uuid, j.state])).toEqual([['a', 'started']])
  })

  it('stops dispatching at startsMax and says so; the next tick goes on', () => {
    const state = given('root:10', [], ['a', 'b', 'c', 'd', 'e'])
    const first = tick(state, { dispatch: true, startsMax: 2 })
    expect(types(first.events)).toEqual(['job.enqueued a', 'job.started a', 'job.enqueued b', 'job.started b'])
    expect([first.launch.map((j) => j.uuid), first.cut]).toEqual([['a', 'b'], true])
    const second = tick(state, { dispatch: true, startsMax: 10 })
    expect([second.launch.map((j) => j.uuid), second.cut]).toEqual([['c', 'd', 'e'], false])
  })

  it('starts nothing when dispatch is off, whatever is startable', () => {
    const state = given('root:10', [], ['a', 'b'])
    const out = tick(state, { commands: [{ type: 'enqueue', jobs: [spec('c')] }], dispatch: false })
    expect(types(out.events)).toEqual(['job.created c'])
    expect([out.launch, out.cut, out.commandFrom]).toEqual([[], false, [0, 1]])
    expect(state.jobs.get('a')!.state).toBe('pending')
  })

  it('reports a superseded run as an abort, and keeps its slot until it settles', () => {
    const state = given('root:1', ['a'], ['b'])
    const out = tick(state, { commands: [{ type: 'cancel', uuid: 'a' }], dispatch: true })
    expect(out.abort).toEqual([{ uuid: 'a', run: 1 }])
    expect(out.notes).toEqual([{ superseded: { uuid: 'a', run: 1 } }])
    expect(types(out.events)).toEqual(['job.cancelled a'])
    expect(out.launch).toEqual([])
    // The aborted handler settles: its slot frees, and b starts in the same tick.
    const settled = tick(state, { outcomes: [finishOk('a', 1)], dispatch: true })
    expect(types(settled.events)).toEqual(['job.run_released a', 'job.enqueued b', 'job.started b'])
    expect(settled.abort).toEqual([])
  })

  it('leaves a job whose function this process lacks pending', () => {
    const state = given('root:10', [], ['a'])
    const out = tick(state, { dispatch: true, registered: new Map([['other', new Set(['run'])]]) })
    expect([out.events, out.launch, out.cut]).toEqual([[], [], false])
  })

  it('refuses to write into an output that is not empty', () => {
    const state = given('root:1', [])
    const out = new TickOutput()
    out.cut = true
    const input: TickInput = { outcomes: [], commands: [], nowMs: 0, dispatch: true, registered: null, startsMax: 1, afterCommand: null, auditPick: null }
    expect(() => runTick(state, input, out)).toThrow(/empty TickOutput/)
    out.clear()
    expect(() => runTick(state, input, out)).not.toThrow()
  })
})
