// Proves that when the engine fails for good inside a tick, every caller whose command that tick
// had taken is rejected with the error (none hangs), as are queued and later calls.
import { describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, Wharf, type WharfEvent } from '../../src/index.js'
import type { Snapshot } from '../../src/storage/event-log.js'
import type { HistoryWrite } from '../../src/storage/history.js'

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
})
