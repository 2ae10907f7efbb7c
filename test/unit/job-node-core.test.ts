// Proves JobView.node in the pure core: a start that names a cluster worker (`<node>#<open id>`)
// makes the view name that member, and the name stays when the try ends — done, postponed,
// failed, found dead — until the next try starts (a start without a worker, embedded, gives null)
// or a requeue starts the job over. A snapshot keeps it, and one written before it existed reads
// as null (or, for a job started then, as the name of the worker it names).
import { describe, expect, it } from 'vitest'
import { initialState, parseChannelConfig, type Command, type HandlerOutcome, type JobSpec, type State } from '../../src/engine/core/index.js'
import { decide } from '../../src/engine/core/decide.js'
import { evolve } from '../../src/engine/core/evolve.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import { toJobView, type JobView } from '../../src/engine/core/view.js'
import { nodeOfWorker } from '../../src/engine/core/workers.js'

const config = parseChannelConfig('root:2')
const spec = (uuid: string, maxRetries = 5): JobSpec => ({
  uuid, graphUuid: null, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null,
  maxRetries, description: 'm.run', channel: 'root', identityKey: null, dependsOn: [], createdAt: 0,
})

function apply(state: State, command: Command, now = 0): void {
  const decision = decide(state, command, now)
  if (!decision.ok) throw decision.error
  for (const event of decision.events) {
    event.seq = state.seq + 1
    evolve(state, event)
  }
}

/** Enqueue `uuid` (when pending) and start it on `worker` (undefined: embedded). */
function start(state: State, uuid: string, worker?: string): void {
  evolve(state, { seq: state.seq + 1, v: 1, at: 0, type: 'job.enqueued', uuid })
  apply(state, worker === undefined ? { type: 'start', uuid } : { type: 'start', uuid, node: worker })
}

const finish = (state: State, uuid: string, outcome: HandlerOutcome): void =>
  apply(state, { type: 'finish', uuid, run: state.jobs.get(uuid)!.runs, outcome, retryPattern: null, entropy: 0 })

/** The job's view, in memory or just retired for history (a finished job leaves memory). */
const view = (state: State, uuid: string): JobView => toJobView(state.jobs.get(uuid) ?? state.retired.get(uuid)!)
const nodeOf = (state: State, uuid: string): string | null => view(state, uuid).node

describe('JobView.node in the core', () => {
  it('names the member of the latest try, keeps it when the try ends, and changes it at the next start', () => {
    const state = initialState(config)
    apply(state, { type: 'enqueue', jobs: [spec('a')] })
    expect(nodeOf(state, 'a')).toBe(null)
    start(state, 'a', 'web-2#open-1')
    expect(nodeOf(state, 'a')).toBe('web-2')
    // Postponed: back to pending, and still says where the try that asked for it ran.
    finish(state, 'a', { kind: 'retryable', message: 'later', seconds: 0, ignoreRetry: false, excName: 'RetryableJobError', excInfo: '' })
    expect(state.jobs.get('a')!.state).toBe('pending')
    expect(nodeOf(state, 'a')).toBe('web-2')
    start(state, 'a', 'web#1#open-2') // a node name may hold '#': the open id follows the last one
    expect(nodeOf(state, 'a')).toBe('web#1')
    finish(state, 'a', { kind: 'returned', result: 1 })
    expect(view(state, 'a')).toMatchObject({ state: 'done', node: 'web#1' })
  })

  it('keeps it on a failed job and on one found dead; a requeue clears it with retry and startedAt; an embedded start gives null', () => {
    const state = initialState(config)
    apply(state, { type: 'enqueue', jobs: [spec('f'), spec('d', 1), spec('e')] })
    start(state, 'f', 'web-1#o')
    finish(state, 'f', { kind: 'failed', excName: 'TypeError', excMessage: 'no', excInfo: '' })
    expect(view(state, 'f')).toMatchObject({ state: 'failed', node: 'web-1' })
    apply(state, { type: 'requeue', uuid: 'f' })
    expect(view(state, 'f')).toMatchObject({ state: 'pending', retry: 0, startedAt: null, node: null })

    // A worker found dead: its job is recovered to pending, then fails as found dead past its
    // maxRetries — both still naming the member whose try died.
    start(state, 'd', 'web-3#o')
    apply(state, { type: 'recover', limit: 10, keep: [] })
    expect(view(state, 'd')).toMatchObject({ state: 'pending', node: 'web-3' })
    start(state, 'd', 'web-4#o')
    apply(state, { type: 'recover', limit: 10, keep: [] })
    expect(view(state, 'd')).toMatchObject({ state: 'failed', excName: 'JobFoundDead', node: 'web-4' })

    // A try started without a worker (embedded) ran in the one process: null.
    start(state, 'e', 'web-1#o')
    apply(state, { type: 'cancel', uuid: 'e' })
    expect(view(state, 'e')).toMatchObject({ state: 'cancelled', node: 'web-1' })
    apply(state, { type: 'requeue', uuid: 'e' })
    start(state, 'e')
    expect(nodeOf(state, 'e')).toBe(null)
  })

  it('keeps it in a snapshot; a snapshot written before it reads as null, or as a started job’s worker’s name', () => {
    const state = initialState(config)
    apply(state, { type: 'enqueue', jobs: [spec('run'), spec('ran')] })
    start(state, 'run', 'web-2#o')
    start(state, 'ran', 'web-1#o')
    finish(state, 'ran', { kind: 'retryable', message: 'later', seconds: 60, ignoreRetry: false, excName: 'RetryableJobError', excInfo: '' })
    const snapshot = JSON.parse(JSON.stringify(snapshotOf(state))) as ReturnType<typeof snapshotOf>
    const [run, ran] = snapshot.jobs
    expect([run![31], run![32], ran![31], ran![32]]).toEqual(['web-2#o', 'web-2', null, 'web-1'])
    const restored = restoreState(config, snapshot)
    expect([nodeOf(restored, 'run'), nodeOf(restored, 'ran')]).toEqual(['web-2', 'web-1'])
    // Written before JobView.node was kept: a started job's is its worker's, another's null.
    run!.length = 32
    ran!.length = 32
    const older = restoreState(config, snapshot)
    expect([nodeOf(older, 'run'), nodeOf(older, 'ran')]).toEqual(['web-2', null])
    // Written before clusters (no worker either): null.
    run!.length = 31
    expect(nodeOf(restoreState(config, snapshot), 'run')).toBe(null)
  })

  it('reads the node name out of a worker id', () => {
    expect(nodeOfWorker('web-2#0f2c')).toBe('web-2')
    expect(nodeOfWorker('a#b#c')).toBe('a#b')
    expect(nodeOfWorker('plain')).toBe('plain')
  })
})
