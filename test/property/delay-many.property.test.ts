// Proves the core decides a delayMany enqueue (one command, `ends`) exactly as the same graphs
// enqueued one after another: same events, same state, each job resolved to the same job — for
// random graphs with random identity keys, some held before. fast-check; FC_SEED, FC_NUM_RUNS.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkInvariants, initialState, parseChannelConfig, type Command, type JobSpec, type State } from '../../src/engine/core/index.js'
import type { DecideNote } from '../../src/engine/core/decide.js'
import { TICK_STARTS_MAX } from '../../src/engine/core/limits.js'
import { projectState } from '../../src/engine/core/project.js'
import { runTick, TickOutput } from '../../src/engine/core/tick.js'
import { fcParams } from './engine-harness.js'

const KEYS = [null, null, 'k0', 'k1', 'k2'] as const

/** A graph: its jobs' keys; job i > 0 depends on job i - 1 when `chained`. */
interface GraphDraft {
  keys: (string | null)[]
  chained: boolean
}

const graphDraft = fc.record({ keys: fc.array(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 3 }), chained: fc.boolean() })

function specsOf(graphs: readonly GraphDraft[], prefix: string): JobSpec[][] {
  return graphs.map((g, k) => {
    const graphUuid = g.keys.length > 1 ? `${prefix}g${k}` : null
    return g.keys.map((identityKey, i) => ({
      uuid: `${prefix}${k}.${i}`, graphUuid, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null,
      maxRetries: 5, description: 'm.run', channel: 'root', identityKey, dependsOn: g.chained && i > 0 ? [`${prefix}${k}.${i - 1}`] : [], createdAt: 0,
    }))
  })
}

function tick(state: State, commands: Command[]): TickOutput {
  const out = new TickOutput()
  runTick(state, { outcomes: [], commands, nowMs: 0, dispatch: false, registered: null, startsMax: TICK_STARTS_MAX, afterCommand: null, auditPick: null }, out)
  checkInvariants(state)
  return out
}

/** What spec i resolved to: itself when stored, the job it matched, or nothing. */
function resolution(state: State, specs: readonly JobSpec[], note: DecideNote, offset = 0): (string | null)[] {
  const existing = note !== undefined && 'existing' in note ? note.existing : null
  return specs.map((s, i) => (state.jobs.has(s.uuid) ? s.uuid : (existing?.[offset + i] ?? null)))
}

describe('a delayMany enqueue', () => {
  it('decides as its graphs enqueued one after another', () => {
    fc.assert(
      fc.property(fc.array(graphDraft, { maxLength: 3 }), fc.array(graphDraft, { minLength: 1, maxLength: 5 }), (before, graphs) => {
        const states = [initialState(parseChannelConfig('root:1')), initialState(parseChannelConfig('root:1'))]
        for (const state of states) tick(state, specsOf(before, 'b').map((jobs) => ({ type: 'enqueue', jobs })))
        const [one, many] = states as [State, State]
        const graphSpecs = specsOf(graphs, 'n')
        const seq = tick(one, graphSpecs.map((jobs) => ({ type: 'enqueue', jobs })))
        const flat = graphSpecs.flat()
        let end = 0
        const ends = graphSpecs.map((jobs) => (end += jobs.length))
        const bulk = tick(many, [{ type: 'enqueue', jobs: flat, ends }])
        expect(bulk.events).toEqual(seq.events)
        expect(projectState(many)).toEqual(projectState(one))
        const expected = graphSpecs.flatMap((jobs, k) => resolution(one, jobs, seq.notes[k]))
        expect(resolution(many, flat, bulk.notes[0])).toEqual(expected)
      }),
      fcParams(300),
    )
  })
})
