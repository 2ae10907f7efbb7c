// Proves which cluster worker a start goes to (core/workers.ts): the eligible worker running the
// fewest handlers; ties to the scheduler's own, else spread by the job's uuid,
// so that no worker is starved by the pool's order; and the same choices on the same input.
import { describe, expect, it } from 'vitest'
import { checkInvariants, initialState, parseChannelConfig, type Command, type JobSpec, type State, type WharfEvent } from '../../src/engine/core/index.js'
import { TICK_STARTS_MAX } from '../../src/engine/core/limits.js'
import { runTick, TickOutput } from '../../src/engine/core/tick.js'
import type { Worker } from '../../src/engine/core/workers.js'

function spec(uuid: string): JobSpec {
  return {
    uuid, graphUuid: null, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null,
    maxRetries: 5, description: 'm.run', channel: 'root', identityKey: null, dependsOn: [], createdAt: 0,
  }
}

const worker = (id: string, slots: number | null = 2, methods = ['run'], local = false): Worker => ({ id, slots, functions: new Map([['m', new Set(methods)]]), local })
/** The scheduler's own worker. */
const own = (id: string, slots: number | null = 2): Worker => worker(id, slots, ['run'], true)

/** One tick with `commands`, dispatching to `pool`: the (uuid, worker) of each start. */
function tick(state: State, pool: readonly Worker[], commands: Command[]): [string, string][] {
  const out = new TickOutput()
  runTick(state, { outcomes: [], commands, nowMs: 10, dispatch: true, registered: null, workers: pool, startsMax: TICK_STARTS_MAX, afterCommand: null, auditPick: null }, out)
  checkInvariants(state)
  return out.events.filter((e): e is Extract<WharfEvent, { type: 'job.started' }> => e.type === 'job.started').map((e) => [e.uuid, e.node!])
}

const finish = (uuid: string): Command => ({ type: 'finish', uuid, run: 1, outcome: { kind: 'returned', result: null }, retryPattern: null, entropy: 0 })

/**
 * A cluster of capacity `channels` holding `count` + 2 jobs; each round the handlers running on
 * any worker but the pool's first finish, so that one keeps its run going while the others'
 * slots turn over. Returns how many starts each worker got, and every start.
 */
function rounds(pool: readonly Worker[], channels: string, count: number): { got: Map<string, number>; starts: [string, string][] } {
  const state = initialState(parseChannelConfig(channels))
  const got = new Map(pool.map((w) => [w.id, 0]))
  const running = new Map<string, string>()
  const all: [string, string][] = []
  let next = 0
  const record = (starts: [string, string][]): void => {
    all.push(...starts)
    for (const [uuid, node] of starts) {
      got.set(node, got.get(node)! + 1)
      running.set(uuid, node)
    }
  }
  record(tick(state, pool, [{ type: 'enqueue', jobs: Array.from({ length: count + 2 }, () => spec(`job-${String(next++).padStart(4, '0')}`)) }]))
  for (let i = 0; i < count; i++) {
    const done = [...running].filter(([, node]) => node !== pool[0]!.id).map(([uuid]) => uuid)
    for (const uuid of done) running.delete(uuid)
    record(tick(state, pool, done.map(finish)))
  }
  return { got, starts: all }
}

describe('the worker a start goes to', () => {
  it('is the one running the fewest handlers; ties go to the scheduler’s own', () => {
    const state = initialState(parseChannelConfig('root:4'))
    const pool = [own('w0'), worker('w1'), worker('w2', 1)]
    const starts = tick(state, pool, [{ type: 'enqueue', jobs: ['a', 'b', 'c', 'd'].map(spec) }])
    // a: all idle, the first; b: w0 runs one; c, d: w1 and w2 in some order, then w0's second slot.
    expect(starts[0]).toEqual(['a', 'w0'])
    expect(new Set(starts.slice(1, 3).map(([, node]) => node))).toEqual(new Set(['w1', 'w2']))
    expect(starts[3]![1]).toBe('w0')
  })

  it('never goes to a worker without a free slot or without the job’s function', () => {
    const state = initialState(parseChannelConfig('root:8'))
    const pool = [own('w0', 1), worker('w1', 2, ['other']), worker('w2', 2)]
    const starts = tick(state, pool, [{ type: 'enqueue', jobs: ['a', 'b', 'c', 'd'].map(spec) }])
    expect(starts).toEqual([['a', 'w0'], ['b', 'w2'], ['c', 'w2']]) // d waits: no worker can take it
  })

  it('starves no worker behind two others when the cluster runs two at once', () => {
    // Capacity 2: the scheduler's own keeps one handler; the other start is tied between w1 and
    // w2 every time. By the pool's order alone, w2 never ran anything.
    const { got } = rounds([own('w0'), worker('w1'), worker('w2')], 'root:2', 200)
    expect(got.get('w0')).toBe(1)
    expect(got.get('w1')!).toBeGreaterThan(50)
    expect(got.get('w2')!).toBeGreaterThan(50)
    expect(got.get('w1')! + got.get('w2')!).toBe(201)
  })

  it('spreads ties over every worker when the scheduler runs none itself', () => {
    const { got } = rounds([worker('w0'), worker('w1'), worker('w2'), worker('w3')], 'root:4', 300)
    for (const id of ['w1', 'w2', 'w3']) expect(got.get(id)!).toBeGreaterThan(40)
  })

  it('makes the same choices for the same jobs and pool (a replay decides as the run did)', () => {
    const pool = [worker('w0'), worker('w1'), worker('w2'), worker('w3')]
    const run = rounds(pool, 'root:3', 100)
    expect(new Set(run.starts.map(([, node]) => node))).toEqual(new Set(['w0', 'w1', 'w2', 'w3']))
    expect(rounds(pool, 'root:3', 100).starts).toEqual(run.starts)
  })
})
