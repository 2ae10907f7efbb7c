// Proves Wharf.open on a real LevelLog replays exactly the log's tail after its snapshot, batch by
// batch, also when the records the snapshot covers are still there (the process died between
// writing the snapshot and compacting): nothing at all when the snapshot covers the whole log,
// only the events past it otherwise. It watches the batches the log hands to replay.
import { describe, expect, it, vi } from 'vitest'
import { FakeClock, LevelLog, Wharf } from '../../src/index.js'
import { tempLevelLogs } from './helpers.js'

const logs = tempLevelLogs('wharf-snapshot-replay-')

/** The seqs of each batch `log.read()` yields, as replay consumes them. */
function watchReads(log: LevelLog): number[][] {
  const batches: number[][] = []
  const read = log.read.bind(log)
  log.read = async function* (afterSeq?: number) {
    for await (const batch of read(afterSeq)) {
      batches.push(batch.map((e) => e.seq))
      yield batch
    }
  }
  return batches
}

/**
 * A store with 3 jobs run to the end, a snapshot whose compaction never ran (as if the process
 * died right after writing it), then `after` more jobs enqueued to run in an hour.
 */
async function storeWithSnapshot(path: string, clock: FakeClock, after: number): Promise<void> {
  const log = logs.at(path)
  vi.spyOn(log, 'compact').mockResolvedValue(undefined)
  const wharf = await Wharf.open({ log, clock })
  const partner = wharf.model('res.partner', { work: (n: number) => n })
  for (let i = 0; i < 3; i++) await partner.browse([i]).withDelay().work(i)
  await wharf.start()
  await wharf.drain()
  await wharf.snapshot()
  for (let i = 0; i < after; i++) await partner.browse([i]).withDelay({ eta: 3600 }).work(i)
  await wharf.close()
}

/** Build the store, then open it again, watching what replay reads. */
async function reopenWatched(after: number): Promise<{ wharf: Wharf; batches: number[][] }> {
  const path = await logs.path()
  const clock = new FakeClock()
  await storeWithSnapshot(path, clock, after)
  const log = logs.at(path)
  const batches = watchReads(log)
  return { wharf: await Wharf.open({ log, clock }), batches }
}

describe('Wharf.open from a snapshot', () => {
  it('reads no batch at all when the snapshot covers the whole log', async () => {
    const { wharf, batches } = await reopenWatched(0)
    expect(wharf.openReport.snapshotSeq).toBeGreaterThan(0)
    expect(wharf.openReport.replayedEvents).toBe(0)
    expect(batches).toEqual([])
    expect((await wharf.jobs({ state: 'done' })).length).toBe(3)
    await wharf.close()
  })

  it('reads only the events after the snapshot, each batch non-empty and in order', async () => {
    const { wharf, batches } = await reopenWatched(2)
    const { snapshotSeq, replayedEvents } = wharf.openReport
    expect(replayedEvents).toBeGreaterThanOrEqual(2)
    expect(batches.every((b) => b.length > 0)).toBe(true)
    expect(batches.flat()).toEqual(Array.from({ length: replayedEvents }, (_, i) => snapshotSeq + 1 + i))
    expect((await wharf.jobs({ state: 'pending' })).length).toBe(2)
    await wharf.close()
  })
})
