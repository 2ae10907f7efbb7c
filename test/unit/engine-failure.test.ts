// Proves that when the engine fails for good inside a tick, every caller whose command that tick
// had taken is rejected with the error (none hangs), as are queued and later calls — those of a
// tick whose batch is being lost too: a cluster scheduler deposed by a fenced append, or by its
// heartbeat while it rebuilt its state after a lost append, left their callers waiting for good.
import { describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, SchedulerDeposedError, Wharf, type WharfEvent } from '../../src/index.js'
import type { Snapshot } from '../../src/storage/event-log.js'
import type { HistoryWrite } from '../../src/storage/history.js'
import { FlakyLog, gate } from './helpers.js'

/** A log that fails an append, and then fails the read-back the engine does to roll back. */
class BrokenLog extends MemoryLog {
  broken = false
  override append(batch: readonly WharfEvent[], history?: HistoryWrite): Promise<void> {
    if (this.broken) return Promise.reject(new Error('disk gone'))
    return super.append(batch, history)
  }
  override readSnapshot(): Promise<Snapshot | null> {
    if (this.broken) return Promise.reject(new Error('disk still gone'))
    return super.readSnapshot()
  }
}

/** A log that orders overlapping appends itself (as PgLog does): the next tick's is sent at once. */
class OverlappingLog extends FlakyLog {
  readonly overlapsAppends = true
}

/** Two ticks' appends in flight: the first held (release() ends it), the second sent behind it
 * and failed; `calls` are their callers' promises. */
async function twoTicksInFlight() {
  const log = new OverlappingLog(new MemoryLog())
  const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1' })
  const m = wharf.model('m', { work: () => 'ok' })
  const held = log.hold()
  const first = m.withDelay().work()
  await held.entered
  log.failing = true
  const second = m.withDelay().work()
  await expect.poll(() => log.failures).toBe(1) // decided and sent while the first is in flight
  return { log, wharf, held, calls: [first, second] }
}

describe('engine failure', () => {
  it('rejects the callers of the tick in flight when a core assertion fires in it', async () => {
    const wharf = await Wharf.open({ log: new MemoryLog(), clock: new FakeClock(), channels: 'root:1' })
    const m = wharf.model('m', { work: () => 'ok' })
    const first = await m.withDelay().work()
    // Corrupt the state behind evolve's back: picking this job now trips an assertion of the core.
    wharf.engine.state.jobs.get(first.uuid)!.state = 'wait_dependencies'
    wharf.engine.start()
    const second = m.withDelay().work() // taken by the same tick as the pick
    const outcome = await Promise.race([
      second.then(
        () => 'resolved',
        (error: Error) => error.name,
      ),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 2000)),
    ])
    expect(outcome).toBe('AssertionError')
    await expect(wharf.pauseChannel('root')).rejects.toThrow(/enqueued from wait_dependencies/)
    await wharf.close()
  })

  it('rejects the callers of the tick in flight when the append and the rollback both fail', async () => {
    const log = new BrokenLog()
    const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1' })
    const m = wharf.model('m', { work: () => 'ok' })
    log.broken = true
    const calls = [m.withDelay().work(), wharf.pauseChannel('root')]
    const outcomes = await Promise.race([
      Promise.allSettled(calls),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 2000)),
    ])
    expect(outcomes).not.toBe('hung')
    expect((outcomes as PromiseSettledResult<unknown>[]).map((o) => o.status)).toEqual(['rejected', 'rejected'])
    await expect(wharf.pauseChannel('root')).rejects.toThrow(/disk/)
    await wharf.close()
  })

  it('rejects the callers of every tick in flight when an append is fenced (another scheduler took over)', async () => {
    const { wharf, held, calls } = await twoTicksInFlight()
    held.release(new SchedulerDeposedError('fenced (test)', 'wharf'))
    for (const call of calls) await expect(call).rejects.toBeInstanceOf(SchedulerDeposedError)
    await wharf.close()
  }, 10_000)

  it('rejects the callers of the ticks being lost when the scheduler is deposed while it rebuilds its state', async () => {
    const { log, wharf, held, calls } = await twoTicksInFlight()
    // The rebuild's read of the log does not answer (the server away, a connection stalled).
    const stalled = gate()
    const entered = gate()
    log.readSnapshot = async () => {
      entered.open()
      await stalled.wait
      return log.inner.readSnapshot()
    }
    held.release(new Error('connection lost (test)'))
    await entered.wait
    // The heartbeat finds the lease taken meanwhile (cluster.ts).
    wharf.engine.deposed(new SchedulerDeposedError('deposed (test)', 'wharf'))
    for (const call of calls) await expect(call).rejects.toBeInstanceOf(SchedulerDeposedError)
    stalled.open()
    await wharf.close()
  }, 10_000)
})
