// Durability through the public API on a real LevelDB directory: what was acknowledged is there
// after close and reopen, identical; recovery requeues what a dead process left running;
// snapshots and compaction keep the same state; a second open of a directory in use is refused.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chain, FakeClock, group, RetryableJobError, StorageLockedError, Wharf, type JobView } from '../../src/index.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-durability-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const sorted = (views: JobView[]): JobView[] =>
  views
    .map((v) => ({ ...v, dependsOn: [...v.dependsOn].sort(), dependents: [...v.dependents].sort() }))
    .sort((a, b) => (a.uuid < b.uuid ? -1 : 1))

function define(wharf: Wharf) {
  return wharf.model('res.partner', {
    async work(kind: string) {
      if (kind === 'retry' && this.job!.retry === 1) throw new RetryableJobError('again', { seconds: 30 })
      if (kind === 'fail') throw new TypeError(`broken ${new Date(0).toISOString()}`)
      if (kind === 'slow') await this.sleep(60_000)
      return { kind, at: new Date(this.now()) }
    },
  })
}

describe('close and reopen', () => {
  it('gives back every job, state, edge, identity key, eta, result and paused channel', async () => {
    const clock = new FakeClock()
    const path = join(dir, 'jobs')
    const first = await Wharf.open({ path, clock, channels: 'root:2,root.mail:1' })
    const partner = define(first)
    await partner.browse([1]).withDelay({ priority: 3 }).work('ok')
    await partner.browse([2]).withDelay({ eta: 3600, channel: 'root.mail', identityKey: 'k2' }).work('ok')
    await chain(
      partner.browse([3]).delayable().work('retry'),
      group(partner.browse([4]).delayable().work('fail'), partner.browse([5]).delayable().work('slow')),
      partner.browse([6]).delayable().work('ok'),
    ).delay()
    await first.pauseChannel('root.mail')
    await first.start()
    await clock.advance(45_000)
    const before = sorted(await first.jobs())
    expect(before.map((j) => [j.records[0], j.state])).toEqual([
      [1, 'done'],
      [2, 'pending'],
      [3, 'done'],
      [4, 'failed'],
      [5, 'started'],
      [6, 'wait_dependencies'],
    ])
    // stop() waits for the running job, which sleeps on the fake clock: let time pass meanwhile.
    await Promise.all([first.stop(), clock.advance(60_000)])
    const afterStop = sorted(await first.jobs())
    await first.close()
    expect(afterStop.find((j) => j.records[0] === 5)!.state).toBe('done')
    expect(afterStop.find((j) => j.records[0] === 6)!.state).toBe('wait_dependencies') // parent 4 failed

    const second = await Wharf.open({ path, clock, channels: 'root:2,root.mail:1' })
    expect(sorted(await second.jobs())).toEqual(afterStop)
    expect(second.stats().channels.find((c) => c.name === 'root.mail')?.paused).toBe(true)
    const duplicate = await define(second).browse([2]).withDelay({ identityKey: 'k2' }).work('ok')
    expect(duplicate.uuid).toBe(before.find((j) => j.identityKey === 'k2')!.uuid)
    await second.close()
  })

  it('requeues a job that was running when the process stopped without stop()', async () => {
    const clock = new FakeClock()
    const laterClock = new FakeClock(clock.now())
    const path = join(dir, 'jobs')
    const first = await Wharf.open({ path, clock })
    const job = await define(first).withDelay().work('slow')
    await first.start()
    await first.settled()
    expect((await first.job(job.uuid))!.state).toBe('started')
    // Simulate a dead process: release the storage without letting the running job finish.
    await (first as unknown as { engine: { log: { close(): Promise<void> } } }).engine.log.close()

    const second = await Wharf.open({ path, clock: laterClock })
    expect(await second.job(job.uuid)).toMatchObject({ state: 'pending', retry: 1, startedAt: null })
    expect(second.stats().channels.find((c) => c.name === 'root')!.running).toBe(0)
    define(second)
    await second.start()
    await second.drain()
    expect(await second.job(job.uuid)).toMatchObject({ state: 'done', retry: 2 })
    await second.close()
  })

  it('keeps the same state across snapshots and compaction', async () => {
    const clock = new FakeClock()
    const path = join(dir, 'jobs')
    const first = await Wharf.open({ path, clock, channels: 'root:4', snapshotEvery: 7 })
    const partner = define(first)
    for (let i = 0; i < 10; i++) await partner.browse([i]).withDelay({ priority: i % 3 }).work(i % 4 === 0 ? 'retry' : 'ok')
    await first.start()
    await first.drain()
    const before = sorted(await first.jobs())
    await first.close()
    const second = await Wharf.open({ path, clock, channels: 'root:4' })
    expect(sorted(await second.jobs())).toEqual(before)
    // The reopen started from a snapshot written every 7 events, and replayed only its tail.
    const report = second.openReport
    expect(report.snapshotSeq).toBeGreaterThan(0)
    expect(report.replayedEvents).toBeLessThan(7)
    await second.close()
  })

  it('refuses a second open of a directory in use, naming it (and this process as one that may hold it)', async () => {
    const path = join(dir, 'jobs')
    const first = await Wharf.open({ path })
    await expect(Wharf.open({ path })).rejects.toSatisfy((e: unknown) => e instanceof StorageLockedError && e.message.includes(path))
    await expect(Wharf.open({ path })).rejects.toThrow(/in use by another process or by a Wharf still open in this one/)
    await first.close()
  })
})

describe('a corrupt log', () => {
  it('refuses to open with LogCorruptionError naming the seq, and opens with onCorruption: truncate', async () => {
    const { ClassicLevel } = await import('classic-level')
    const { LogCorruptionError } = await import('../../src/index.js')
    const path = join(dir, 'jobs')
    const first = await Wharf.open({ path, snapshotEvery: 0 })
    const partner = define(first)
    const kept = await partner.withDelay().work('ok')
    await partner.withDelay().work('ok')
    await first.close()
    // Damage the last record's bytes, as a torn write or a bad disk would.
    const db = new ClassicLevel<string, Uint8Array>(path, { valueEncoding: 'view' })
    await db.open()
    const keys = await db.keys({ gte: 'e', lt: 'f' }).all()
    const last = keys[keys.length - 1]!
    const value = Uint8Array.from((await db.get(last))!)
    value[value.length - 2]! ^= 0xff
    await db.put(last, value)
    await db.close()

    await expect(Wharf.open({ path })).rejects.toSatisfy((e: unknown) => e instanceof LogCorruptionError && e.message.includes(`seq ${Number(last.slice(1))}`))
    const second = await Wharf.open({ path, onCorruption: 'truncate' })
    expect((await second.job(kept.uuid))?.state).toBe('pending')
    expect(await second.jobs()).toHaveLength(1)
    await second.close()
  })
})
