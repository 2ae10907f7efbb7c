// Proves that a snapshot is not bounded by V8's longest string (its body is in parts), and that a
// snapshot that fails is heard of: `wharf.snapshot()` rejects, an automatic one warns, and the
// engine goes on either way with nothing lost.
import { describe, expect, it } from 'vitest'
import { constants } from 'node:buffer'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'
import { warningsOf } from './helpers.js'
import { decodeSnapshot, encodeSnapshot } from '../../src/storage/codec.js'
import type { Snapshot } from '../../src/storage/event-log.js'
import { JOBS_PER_PART } from '../../src/storage/snapshot-parts.js'

/** A log whose next `failures` snapshot writes fail. */
class SnapshotFailingLog extends MemoryLog {
  failures = 0
  override writeSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.failures > 0) {
      this.failures--
      return Promise.reject(new Error('no room for the snapshot'))
    }
    return super.writeSnapshot(snapshot)
  }
}

describe('snapshot size', () => {
  it('writes and reads back a snapshot whose JSON is longer than V8 can hold in one string', () => {
    // 520 live jobs of about 1 MB of arguments each (the same string, so the test's own heap stays
    // small): as one JSON text, past V8's longest string (2^29 - 24), which is what failed.
    const arg = 'x'.repeat(1_040_000)
    const jobs = Array.from({ length: 520 }, (_, i) => [`job-${i}`, [arg]])
    const state = { seq: 9, jobs, channels: [{ name: 'root' }] }
    expect(constants.MAX_STRING_LENGTH).toBeLessThan(520 * arg.length)

    const bytes = encodeSnapshot({ seq: 9, formatVersion: 3, state })
    const back = decodeSnapshot(bytes, '/store')
    const restored = back.state as typeof state
    expect(back.seq).toBe(9)
    expect(restored.channels).toEqual([{ name: 'root' }])
    expect(restored.jobs).toHaveLength(520)
    expect(restored.jobs.map((j) => j[0])).toEqual(jobs.map((j) => j[0]))
    expect((restored.jobs[519]![1] as string[])[0]).toHaveLength(arg.length)
  })

  it('keeps jobs in order across parts, and a state without jobs in one part', () => {
    const jobs = Array.from({ length: JOBS_PER_PART * 3 + 1 }, (_, i) => [i, { at: new Date(i) }])
    const state = { seq: 4, jobs, identity: [['k', ['a']]] }
    expect(decodeSnapshot(encodeSnapshot({ seq: 4, formatVersion: 3, state })).state).toEqual(state)
    expect(decodeSnapshot(encodeSnapshot({ seq: 0, formatVersion: 3, state: [1, 2] })).state).toEqual([1, 2])
  })

  it('rejects wharf.snapshot() when the snapshot cannot be written, and loses nothing', async () => {
    const log = new SnapshotFailingLog()
    const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1', snapshotEvery: 0 })
    const m = wharf.model('m', { work: (n: number) => n * 2 })
    const job = await m.withDelay().work(21)
    log.failures = 1
    await expect(wharf.snapshot()).rejects.toThrow('no room for the snapshot')
    // The engine goes on: the job runs, and the next snapshot is written.
    await wharf.start()
    await wharf.idle()
    expect((await wharf.job(job.uuid))?.result).toBe(42)
    await wharf.snapshot()
    expect((await log.readSnapshot())?.seq).toBe(wharf.engine.state.seq)
    await wharf.close()
  })

  it('warns of an automatic snapshot that failed, and writes a later one', async () => {
    const log = new SnapshotFailingLog()
    const { logger, messages } = warningsOf('WHARF_SNAPSHOT_FAILED')
    const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1', snapshotEvery: 2, logger })
    const m = wharf.model('m', { work: () => 'ok' })
    log.failures = 1
    await m.withDelay().work()
    await m.withDelay().work()
    await wharf.start()
    await wharf.idle()
    expect(messages).toHaveLength(1)
    expect(messages[0]).toMatch(/snapshot at seq \d+ failed, will retry: no room for the snapshot/)
    for (let i = 0; i < 4; i++) await m.withDelay().work()
    await wharf.idle()
    expect(await log.readSnapshot()).not.toBeNull()
    expect(wharf.stats().states.done).toBe(6)
    await wharf.close()
  })
})
