// Regressions found by the seeded simulator (test/sim), each as a minimal example through
// the public API, plus the failing seed itself replayed by the simulator.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { chain, FakeClock, LevelLog, MemoryLog, UnknownJobError, Wharf } from '../../src/index.js'
import { parseChannelConfig } from '../../src/engine/core/channel-config.js'
import { initialState } from '../../src/engine/core/channels.js'
import { fold } from '../../src/engine/core/evolve.js'
import { projectState } from '../../src/engine/core/project.js'
import { vacuumCandidates } from '../../src/engine/runtime/history-io.js'
import type { HistoryStore } from '../../src/storage/history.js'
import { runSimulation } from '../sim/simulator.js'
import { FlakyLog } from './helpers.js'
import { closeOpenedAfterEach, openRemoval, uuidsOf } from './removal-helpers.js'

const DAY_MS = 86_400_000
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
closeOpenedAfterEach()

describe('found by the simulator', () => {
  it('a Wharf.open whose recovery cannot be written releases its log (seed 20260101)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-sim-regression-'))
    dirs.push(dir)
    const path = join(dir, 'jobs')
    const clock = new FakeClock()
    const first = await Wharf.open({ path, clock })
    const m = first.model('test.sim', { run: () => 'ok' })
    await first.start()
    await m.browse([1]).withDelay().run()
    await first.drain()
    await first.close()
    // Given a done job old enough for autovacuum, when the open's vacuum batch cannot be written,
    await clock.advance(31 * DAY_MS)
    const flaky = new FlakyLog(new LevelLog(path))
    flaky.failing = true
    await expect(Wharf.open({ log: flaky, clock })).rejects.toThrow('disk hiccup')
    // then the log is closed again and no timer is left behind, so the very next open of the
    // same directory succeeds.
    expect([flaky.opened, flaky.closed, flaky.failures]).toEqual([1, 1, 1])
    expect(clock.pendingTimers()).toBe(0)
    const again = await Wharf.open({ path, clock })
    expect(again.openReport.vacuumed).toBe(1)
    await again.close()
  })

  it('a failed append does not lose a handler outcome decided in its tick (seed 20260104)', async () => {
    const clock = new FakeClock()
    const memory = new MemoryLog()
    const log = new FlakyLog(memory)
    const wharf = await Wharf.open({ log, clock, channels: 'root:1' })
    const m = wharf.model('test.sim', {
      async slow() {
        await this.sleep(1000)
        return 'ok'
      },
    })
    await wharf.start()
    const job = await m.browse([1]).withDelay().slow()
    expect((await wharf.job(job.uuid))!.state).toBe('started')
    // When the batch carrying the handler's outcome fails to append,
    log.failing = true
    await clock.advance(1000)
    expect(log.failures).toBe(1)
    log.failing = false
    // the outcome is decided again later, not dropped: the job does not stay started for ever.
    await wharf.drain()
    expect((await wharf.job(job.uuid))!.state).toBe('done')
    expect(projectState(fold(initialState(parseChannelConfig('root:1')), memory.events()))).toStrictEqual(projectState(wharf.engine.state))
    await wharf.close()
  })

  it('a failed append does not leave a startable job idle when only a timer would start it', async () => {
    const clock = new FakeClock()
    const log = new FlakyLog(new MemoryLog())
    const wharf = await Wharf.open({ log, clock, channels: 'root:1:throttle=1' })
    const m = wharf.model('test.sim', { run: (n: number) => n })
    await wharf.start()
    const a = await m.browse([1]).withDelay().run(1)
    const b = await m.browse([2]).withDelay().run(2)
    await wharf.settled()
    expect([(await wharf.job(a.uuid))!.state, (await wharf.job(b.uuid))!.state]).toEqual(['done', 'pending'])
    // When the throttle window ends and the batch that starts b fails to append,
    log.failing = true
    await clock.advance(1000)
    expect(log.failures).toBe(1)
    log.failing = false
    // then b still starts: nothing else will ever wake the engine up for it.
    await wharf.drain()
    expect((await wharf.job(b.uuid))!.state).toBe('done')
    await wharf.close()
  })

  it('a failed append during autovacuum is not an unhandled rejection (seed 153)', async () => {
    const clock = new FakeClock()
    const log = new FlakyLog(new MemoryLog())
    const wharf = await Wharf.open({ log, clock, removeAfterDays: 1 })
    const m = wharf.model('test.sim', { run: () => 'ok' })
    await wharf.start()
    await m.browse([1]).withDelay().run()
    await wharf.drain()
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      // Given a done job past removeAfterDays, when the next wake-up's autovacuum cannot be written,
      await clock.advance(2 * DAY_MS)
      log.failing = true
      await expect(m.browse([2]).withDelay().run()).rejects.toThrow('disk hiccup')
      await wharf.settled()
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(log.failures).toBe(2)
      // then nobody hears of it (Node's default would kill the process), and it is tried again.
      expect(unhandled).toEqual([])
      log.failing = false
      await clock.advance(3_600_000)
      await m.browse([3]).withDelay().run()
      await wharf.drain()
      expect((await wharf.jobs()).map((j) => j.records[0])).toEqual([3])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await wharf.close()
    }
  })

  /** A Wharf whose only job is done and, two days on, past its one-day retention. */
  async function oneExpiredJob() {
    const clock = new FakeClock()
    const log = new MemoryLog()
    const wharf = await Wharf.open({ log, clock, removeAfterDays: 1 })
    const m = wharf.model('test.sim', { run: () => 'ok' })
    await wharf.start()
    const job = await m.browse([1]).withDelay().run()
    await wharf.drain()
    await clock.advance(2 * DAY_MS)
    const vacuumed = () => log.events().flatMap((e) => (e.type === 'jobs.vacuumed' ? e.uuids : []))
    return { wharf, job, vacuumed }
  }

  it('two vacuums decided in one tick remove a job once, and stats() still counts right (seed 20260115)', async () => {
    const { wharf, job, vacuumed } = await oneExpiredJob()
    // Given a done job past its retention, when two vacuums (the hourly one and one asked for)
    // both read history before either is decided, so that both land in one tick,
    const removed = await Promise.all([wharf.engine.vacuum(), wharf.engine.vacuum()])
    // then the log names it once, and history stops counting it once (twice made done -1).
    expect(vacuumed()).toEqual([job.uuid])
    expect(removed.sort()).toEqual([0, 1])
    expect(wharf.stats().states.done).toBe(0)
    expect(await wharf.jobs()).toEqual([])
    await wharf.close()
  })

  it('a requeue decided after a vacuum in the same tick finds the job gone, as an unknown one (the race of seed 20260115)', async () => {
    const { wharf, job, vacuumed } = await oneExpiredJob()
    const view = (await wharf.job(job.uuid))!
    // Given a done job past its retention, when its vacuum and a requeue of it (which read it from
    // history before the tick, as the vacuum did) are decided in that order in one tick,
    const vacuum = wharf.engine.submit({ type: 'vacuum', jobs: [view] })
    const requeue = wharf.requeue(job.uuid)
    await vacuum
    // then the requeue is refused as for any unknown job: the vacuumed job does not come back.
    await expect(requeue).rejects.toBeInstanceOf(UnknownJobError)
    expect(vacuumed()).toEqual([job.uuid])
    expect(await wharf.job(job.uuid)).toBeUndefined()
    expect(wharf.stats().states.done).toBe(0)
    await wharf.close()
  })

  it("the scan, racing a removal that takes part of a graph, names each job once (seed 20260130)", async () => {
    const { wharf, m, clock } = await openRemoval()
    const [a, b, c] = [m.delayable().run('a'), m.delayable().run('b'), m.delayable().run('c')]
    await chain(a, b, c).delay()
    await wharf.start()
    await wharf.idle()
    await clock.advance(31 * 86_400_000)
    const history = wharf.engine.history
    let raced = false
    // Ticks run between the scan's reads: here a remove() lands right after the first one.
    const racing: HistoryStore = {
      complete: true,
      get: (uuid) => history.get(uuid),
      page: (query) => history.page(query),
      counts: () => history.counts(),
      async finishedUpTo(atMs, limit, cursor) {
        const found = await history.finishedUpTo(atMs, limit, cursor)
        if (!raced) {
          raced = true
          await wharf.remove([b.job!.uuid])
        }
        return found
      },
    }
    const picked = await vacuumCandidates(wharf.engine.state, racing, clock.now(), 30, 1000)
    expect(uuidsOf(picked).sort()).toEqual([a.job!.uuid, c.job!.uuid].sort())
    expect(await wharf.engine.vacuum()).toBe(2)
    expect(wharf.stats().states.done).toBe(0)
  })

  it('replays the seeds that found them', async () => {
    for (const seed of [20260101, 20260104, 153, 20260115, 94, 20260130, 5000256]) {
      const result = await runSimulation(seed)
      expect(result.failure?.report() ?? null).toBeNull()
    }
  })
})
