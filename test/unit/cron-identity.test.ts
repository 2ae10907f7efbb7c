// Proves a cron whose job has an identity key of its own (queue_job's identity_key on a cron's
// job): every firing's job carries that key, so a firing while a job with it still waits (not
// started: its channel paused or full, the engine down) stores nothing — firings do not pile up —
// and the next firing after it started stores again. Across a downtime with catchUp 'all' too,
// and across a reopen of the store (with a snapshot), which keeps the key in the definition.
import { describe, expect, it } from 'vitest'
import { FakeClock, Wharf, type JobView } from '../../src/index.js'
import { closedAfterEach, tempLevelLogs } from './helpers.js'
import { HOUR_MS } from './cron-helpers.js'

// Registered first: its removal of the directories runs after the Wharfs are closed.
const stores = tempLevelLogs('wharf-cron-key-')
const opened = closedAfterEach()

async function open(path: string, clock: FakeClock, catchUp: 'one' | 'all' = 'one', snapshotEvery?: number): Promise<{ wharf: Wharf; calls: string[] }> {
  const wharf = await Wharf.open({ clock, path, channels: 'root:2,root.reports:1', ...(snapshotEvery === undefined ? {} : { snapshotEvery }) })
  opened.push(wharf)
  const calls: string[] = []
  const reports = wharf.model('reports', {
    async build(kind: string) {
      calls.push(`${kind}@${new Date(clock.now()).toISOString()}`)
    },
  })
  await wharf.cron('hourly', '0 * * * *', reports.delayable({ channel: 'root.reports', identityKey: 'hourly-report' }).build('h'), { tz: 'UTC', catchUp })
  return { wharf, calls }
}

const keyed = async (wharf: Wharf): Promise<JobView[]> => wharf.jobs({ identityKey: 'hourly-report', limit: 100 })

describe('a cron whose job has an identity key', () => {
  it('stores no firing while a job with the key waits, and stores again once it started', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:30:00Z'))
    const path = await stores.path()
    const { wharf, calls } = await open(path, clock)
    await wharf.start()
    await wharf.pauseChannel('root.reports')
    await clock.advance(5 * HOUR_MS) // 01:00 to 05:00 fire; their job waits in the paused channel
    const waiting = await keyed(wharf)
    expect(waiting.map((j) => [j.state, j.identityKey])).toEqual([['pending', 'hourly-report']])
    expect((await wharf.crons())[0]).toMatchObject({ lastFireAt: Date.parse('2026-01-01T05:00:00Z'), identityKey: 'hourly-report' })
    await wharf.resumeChannel('root.reports')
    await wharf.drain()
    expect(calls).toEqual(['h@2026-01-01T05:30:00.000Z'])
    await clock.advance(HOUR_MS) // 06:00: the key is free again
    await wharf.drain()
    expect(calls).toEqual(['h@2026-01-01T05:30:00.000Z', 'h@2026-01-01T06:00:00.000Z'])
    expect((await keyed(wharf)).map((j) => j.state)).toEqual(['done', 'done'])
    await wharf.close()
    // Replayed from the log, without declaring it again: the key is the stored definition's.
    const reader = await Wharf.open({ clock, path })
    opened.push(reader)
    expect((await reader.crons())[0]).toMatchObject({ name: 'hourly', identityKey: 'hourly-report' })
  })

  it("stores one job for a whole catch-up with catchUp 'all', and keeps its key across a reopen with a snapshot", async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:30:00Z'))
    const path = await stores.path()
    const first = await open(path, clock, 'all', 1)
    await first.wharf.close()
    await clock.advance(6 * HOUR_MS) // 01:00 to 06:00 missed: now 06:30
    const { wharf, calls } = await open(path, clock, 'all', 1)
    await wharf.start()
    await wharf.drain()
    expect(calls).toEqual(['h@2026-01-01T06:30:00.000Z'])
    expect((await keyed(wharf)).length).toBe(1)
    expect((await wharf.crons())[0]!.lastFireAt).toBe(Date.parse('2026-01-01T06:00:00Z'))
    await wharf.close()
    // Read back without declaring it again: the key is the stored definition's.
    const reader = await Wharf.open({ clock, path })
    opened.push(reader)
    expect((await reader.crons())[0]).toMatchObject({ name: 'hourly', identityKey: 'hourly-report' })
  })
})
