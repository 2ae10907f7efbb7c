// Proves a uuid that a custom newId() returns twice is refused by the core's decide with
// InvalidPropertyError — across calls and inside one graph — with nothing stored and the engine
// alive; and that decide refuses (never asserts) an enqueue depending on an unknown job.
import { afterEach, describe, expect, it } from 'vitest'
import { chain, FakeClock, InvalidPropertyError, Wharf, type JobContext } from '../../src/index.js'
import { decide, initialState, parseChannelConfig, type JobSpec } from '../../src/engine/core/index.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

/** A Wharf whose newId() returns `ids` in order, then fresh ids. */
async function open(ids: string[]) {
  let n = 0
  const newId = (): string => ids.shift() ?? `fresh-${n++}`
  const wharf = await Wharf.open({ clock: new FakeClock(), newId })
  opened.push(wharf)
  const model = wharf.model('test.job', {
    run(this: JobContext) {
      return 'ok'
    },
  })
  return { wharf, model }
}

describe('a duplicate uuid from newId()', () => {
  it('is refused for a second job with the same uuid; the first stays, the engine keeps running', async () => {
    const { wharf, model } = await open(['same', 'same'])
    const first = await model.withDelay().run()
    const error = await failure(() => model.withDelay({ priority: 3 }).run())
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain('"same"')
    expect((await wharf.jobs()).map((j) => [j.uuid, j.priority])).toEqual([[first.uuid, 10]])
    const later = await model.withDelay().run()
    await wharf.start()
    await wharf.drain()
    // jobs() lists in uuid order (creation order for the default ULIDs; here 'fresh-0' < 'same').
    expect((await wharf.jobs()).map((j) => [j.uuid, j.state])).toEqual([
      [later.uuid, 'done'],
      ['same', 'done'],
    ])
  })

  it('is refused when it repeats the uuid of a finished job', async () => {
    const { wharf, model } = await open(['x', 'x'])
    await model.withDelay().run()
    await wharf.start()
    await wharf.drain()
    expect(await failure(() => model.withDelay().run())).toBeInstanceOf(InvalidPropertyError)
    expect((await wharf.job('x'))?.state).toBe('done')
  })

  // Found by hunting: history read before the tick does not hold a job that a call earlier in the
  // same tick finished (it is in the batch's outbox), so its uuid was taken again: in memory the
  // engine then failed writing the second view to history, on LevelDB history was left damaged.
  it('is refused when it repeats the uuid of a job an earlier call of the same tick finished', async () => {
    const { wharf, model } = await open(['x', 'x'])
    const first = await model.withDelay({ eta: 3600 }).run()
    const [, error] = await Promise.all([wharf.cancel(first.uuid), failure(() => model.withDelay().run())])
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain('"x" is not unique: a finished job already has it')
    expect((await wharf.jobs()).map((j) => [j.uuid, j.state])).toEqual([['x', 'cancelled']])
    expect(wharf.stats().states).toMatchObject({ pending: 0, cancelled: 1 })
    await model.withDelay().run()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.jobs()).map((j) => j.state)).toEqual(['done', 'cancelled'])
  })

  it('is refused in a batch when it repeats the uuid of a job an earlier call of the same tick finished', async () => {
    // batch() asks for the batch uuid first, then one uuid per job.
    const { wharf, model } = await open(['x', 'batch', 'x'])
    const first = await model.withDelay({ eta: 3600 }).run()
    const [, error] = await Promise.all([wharf.cancel(first.uuid), failure(() => wharf.batch('b', [model.delayable().run()]))])
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain('batch(): delayables[0]: job uuid "x" is not unique: a finished job already has it')
    expect((await wharf.jobs()).map((j) => [j.uuid, j.state])).toEqual([['x', 'cancelled']])
    expect(await wharf.batches()).toEqual([])
  })

  it('is refused inside one graph, storing none of its jobs', async () => {
    // buildSpecs asks for the graph uuid first, then one uuid per job.
    const { wharf, model } = await open(['g', 'a', 'a'])
    const error = await failure(() => chain(model.delayable().run(), model.delayable().run()).delay())
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect(await wharf.jobs()).toEqual([])
    await chain(model.delayable().run(), model.delayable().run()).delay()
    expect(await wharf.jobs()).toHaveLength(2)
  })
})

describe('core: decide for enqueue', () => {
  const spec = (uuid: string): JobSpec => ({
    uuid, graphUuid: null, model: 'm', method: 'f', records: [], args: [], context: {}, priority: 10, eta: null,
    maxRetries: 5, description: 'm.f', channel: 'root', identityKey: null, dependsOn: [], createdAt: 0,
  })

  it('returns a refusal, not an assertion, for a uuid already stored or repeated in the command', () => {
    const state = initialState(parseChannelConfig('root:1'))
    const ok = decide(state, { type: 'enqueue', jobs: [spec('a')] }, 0)
    expect(ok.ok).toBe(true)
    state.jobs.set('a', {} as never) // as if applied: decide only asks whether the uuid is taken
    for (const jobs of [[spec('a')], [spec('b'), spec('b')], [spec('c'), spec('a')]]) {
      const refused = decide(state, { type: 'enqueue', jobs }, 0)
      expect(refused.ok).toBe(false)
      if (!refused.ok) expect(refused.error).toBeInstanceOf(InvalidPropertyError)
    }
  })

  it('refuses, not asserts, a job depending on a job neither stored nor earlier in the command', () => {
    const state = initialState(parseChannelConfig('root:1'))
    const child = { ...spec('c'), dependsOn: ['nowhere'] }
    for (const jobs of [[child], [spec('p'), child], [child, spec('nowhere')]]) {
      const refused = decide(state, { type: 'enqueue', jobs }, 0)
      expect(refused.ok ? null : refused.error.code).toBe('INVALID_GRAPH')
    }
  })
})
