// A log that declares lingerMs (PgLog) lets a tick that only records handlers' successes wait for
// the next call, so that both share one append (runtime/tick-linger.ts). Proves: the success and
// the next enqueue go in one batch; without a call the success is written once lingerMs (real
// time) has passed, and at once when someone waits for the engine (idle()); nothing that could
// start or answer anything waits — a job waiting for a slot, a failure, a job with children; and
// a log without lingerMs never waits.
import { describe, expect, it } from 'vitest'
import type { WharfEvent } from '../../src/engine/core/events.js'
import { chain, FakeClock, MemoryLog, Wharf } from '../../src/index.js'
import type { HistoryWrite } from '../../src/storage/history.js'
import { closedAfterEach, FlakyLog } from './helpers.js'

const opened = closedAfterEach()

/**
 * Far longer than any test: a success that must wait still waits however slow the machine is (a
 * 5 ms linger ran out under load before the next call came), and one that must not wait would
 * hold its test past its timeout.
 */
const LINGER_MS = 60_000

/** Records each appended batch's event types; lingers when `lingerMs` is given. */
class TypesLog extends FlakyLog {
  readonly batches: string[][] = []
  constructor(readonly lingerMs?: number) {
    super(new MemoryLog())
  }
  override async append(batch: readonly WharfEvent[], history?: HistoryWrite): Promise<void> {
    await super.append(batch, history)
    if (batch.length > 0) this.batches.push(batch.map((e) => e.type))
  }
}

/** Let every setImmediate, microtask and append of this turn run (the fake clock stays put). */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

async function setup(lingerMs: number | undefined, channels = 'root:1', realClock = false) {
  const log = new TypesLog(lingerMs)
  const clock = new FakeClock()
  const wharf = await Wharf.open({ log, channels, ...(realClock ? {} : { clock }) })
  opened.push(wharf)
  const m = wharf.model('test.linger', {
    run(x: number) {
      if (x < 0) throw new Error(`bad ${x}`)
      return x
    },
  })
  await wharf.start()
  return { log, clock, wharf, m }
}

describe('engine: a tick that only records successes lingers for the next call', () => {
  it('writes a success with the next enqueue, in one batch, before that enqueue', async () => {
    const { log, m } = await setup(LINGER_MS)
    await m.withDelay().run(1)
    await turns()
    expect(log.batches).toEqual([['job.created', 'job.enqueued', 'job.started']])
    await m.withDelay().run(2)
    expect(log.batches[1]).toEqual(['job.done', 'job.created', 'job.enqueued', 'job.started'])
    expect(log.batches).toHaveLength(2)
  })

  it('writes a success alone once lingerMs of the clock has passed', async () => {
    // The wait is in real time; the system clock here too, to measure it (a FakeClock's advance()
    // waits for the engine to settle, which ends the wait at once: next test).
    const lingerMs = 300
    const { log, wharf, m } = await setup(lingerMs, 'root:1', true)
    const job = await m.withDelay().run(1)
    const enqueuedAt = Date.now()
    await turns()
    expect(log.batches).toHaveLength(1)
    while (log.batches.length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
    // Never before its timer (node may fire a timer up to 1 ms early).
    expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(lingerMs - 1)
    expect(log.batches[1]).toEqual(['job.done'])
    expect((await wharf.job(job.uuid))?.state).toBe('done')
  })

  it('does not keep waiting while someone waits for the engine: idle() ends the wait', async () => {
    const { log, wharf, m } = await setup(LINGER_MS)
    await m.withDelay().run(1)
    await turns()
    expect(log.batches).toHaveLength(1)
    await wharf.idle() // the clock never moves: it resolves only if the success is written now
    expect(log.batches[1]).toEqual(['job.done'])
    // Whether the next success comes before idle() or while it waits, it is written at once.
    await m.withDelay().run(2)
    await wharf.idle()
    expect(log.batches.slice(2)).toEqual([['job.created', 'job.enqueued', 'job.started'], ['job.done']])
  })

  it('does not wait when a job waits for the slot the success frees', async () => {
    const { log, m } = await setup(LINGER_MS)
    await Promise.all([m.withDelay().run(1), m.withDelay().run(2)])
    await turns()
    // The first success starts the second job at once: no clock moved.
    expect(log.batches.flat().filter((t) => t === 'job.started')).toHaveLength(2)
    expect(log.batches.flat().filter((t) => t === 'job.done')).toHaveLength(1)
  })

  it('does not wait for a failure', async () => {
    const { log, m } = await setup(LINGER_MS)
    await m.withDelay({ maxRetries: 1 }).run(-1)
    await turns()
    expect(log.batches).toHaveLength(2)
    expect(log.batches[1]).toContain('job.failed')
  })

  it('stops waiting when a failure comes after a success that waits', async () => {
    const { log, m } = await setup(LINGER_MS, 'root:2')
    // Started in one batch, launched in order: the success is posted first and waits.
    await Promise.all([m.withDelay().run(1), m.withDelay({ maxRetries: 1 }).run(-1)])
    await turns()
    const flat = log.batches.flat()
    expect(flat).toContain('job.done')
    expect(flat).toContain('job.failed')
  })

  it('does not wait for a job whose end frees its children', async () => {
    const { log, m } = await setup(LINGER_MS)
    const records = m.browse([])
    await chain(records.delayable().run(3), records.delayable().run(4)).delay()
    await turns()
    // The parent's success started its child without the clock moving; only the child's waits.
    const flat = log.batches.flat()
    expect(flat.filter((t) => t === 'job.started')).toHaveLength(2)
    expect(flat.filter((t) => t === 'job.done')).toHaveLength(1)
  })

  it('never waits on a log without lingerMs', async () => {
    const { log, m } = await setup(undefined)
    await m.withDelay().run(1)
    await turns()
    expect(log.batches).toEqual([['job.created', 'job.enqueued', 'job.started'], ['job.done']])
  })
})
