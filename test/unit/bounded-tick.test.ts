// Proves a tick is bounded: with the limits shrunk (vi.mock of core/limits.ts), a burst of calls,
// starts and outcomes is split over several batches, none above the bound, and everything still runs.
import type { HistoryWrite } from '../../src/storage/history.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { chain, FakeClock, InvalidGraphError, MemoryLog, Wharf, type JobContext, type WharfEvent } from '../../src/index.js'
import { failure } from './helpers.js'

vi.mock('../../src/engine/core/limits.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/engine/core/limits.js')>()),
  GRAPH_JOBS_MAX: 8,
  BATCH_EVENTS_MAX: 40,
  TICK_OUTCOMES_MAX: 5,
  TICK_CALL_EVENTS_MAX: 10,
  TICK_STARTS_MAX: 5,
  RECOVER_BATCH: 4,
}))

/** TICK_OUTCOMES_MAX + TICK_CALL_EVENTS_MAX + 2 * TICK_STARTS_MAX, with the values above. */
const TICK_EVENTS_BOUND = 5 + 10 + 2 * 5

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

/** A Wharf on a MemoryLog that records the size of every appended batch. */
async function open(channels: string, log = new MemoryLog()) {
  const sizes: number[] = []
  const append = log.append.bind(log)
  log.append = (batch: readonly WharfEvent[], history?: HistoryWrite) => {
    sizes.push(batch.length)
    return append(batch, history)
  }
  const wharf = await Wharf.open({ clock: new FakeClock(), channels, log })
  opened.push(wharf)
  const model = wharf.model('test.job', {
    run(this: JobContext) {
      return 'ok'
    },
  })
  return { wharf, model, sizes, log }
}

describe('a bounded tick', () => {
  it('splits a burst of 40 calls, 40 starts and 40 outcomes over batches of at most the bound', async () => {
    const { wharf, model, sizes } = await open('root:100')
    await wharf.start()
    sizes.length = 0
    const calls = Array.from({ length: 40 }, () => model.withDelay().run())
    await Promise.all(calls)
    await wharf.drain()
    expect(sizes.length).toBeGreaterThan(1)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(TICK_EVENTS_BOUND)
    expect((await wharf.jobs()).map((j) => j.state)).toEqual(Array(40).fill('done'))
  })

  it('keeps dispatching in the next tick when it stopped at TICK_STARTS_MAX, before settled() resolves', async () => {
    const { wharf, model } = await open('root:100')
    await Promise.all(Array.from({ length: 12 }, () => model.withDelay().run()))
    await wharf.start() // resolves once settled: every startable job has started
    expect((await wharf.jobs({ state: 'pending' })).length + (await wharf.jobs({ state: 'enqueued' })).length).toBe(0)
    await wharf.drain()
    expect((await wharf.jobs({ state: 'done' })).length).toBe(12)
  })

  it('refuses a graph of more than GRAPH_JOBS_MAX jobs before anything is written', async () => {
    const { wharf, model, sizes } = await open('root:1')
    const before = sizes.length
    const nodes = Array.from({ length: 9 }, () => model.delayable().run())
    expect(await failure(() => chain(...nodes).delay())).toBeInstanceOf(InvalidGraphError)
    expect(sizes.length).toBe(before)
    expect(await wharf.jobs()).toEqual([])
    await chain(...nodes.slice(0, 8).map(() => model.delayable().run())).delay()
    expect(await wharf.jobs()).toHaveLength(8)
  })

  it('recovers more jobs than RECOVER_BATCH on open, in bounded batches', async () => {
    const log = new MemoryLog()
    const first = await open('root:100', log)
    const hang = first.wharf.model('test.hang', {
      run(this: JobContext) {
        return new Promise(() => {})
      },
    })
    await Promise.all(Array.from({ length: 10 }, () => hang.withDelay().run()))
    await first.wharf.start()
    await first.wharf.close({ timeoutMs: 0 })
    const second = await open('root:100', log)
    expect(second.wharf.openReport.requeued).toBe(10)
    expect(Math.max(...second.sizes)).toBeLessThanOrEqual(4)
  })
})
