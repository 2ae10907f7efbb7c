// Proves what crons do across a downtime on a LevelDB store: closed, the FakeClock moved on,
// reopened and started, catchUp 'none' skips the missed firings, 'one' fires the latest, 'all'
// fires every one (at most CRON_FIRINGS_MAX, then warns); crons and their times survive a reopen,
// with and without a snapshot; re-declaring the same cron at every start writes nothing.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeClock, type CronView, type Logger } from '../../src/index.js'
import { CRON_FIRINGS_MAX } from '../../src/engine/core/limits.js'
import { closedAfterEach, warningsOf } from './helpers.js'
import { firedTimes, HOUR_MS, openCronRig, type CronRig } from './cron-helpers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-cron-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
  vi.restoreAllMocks()
})
const opened = closedAfterEach()

type CatchUp = 'none' | 'one' | 'all'

/** Open the store on `clock`, declare the hourly cron (as an app does at every start), start. */
async function boot(clock: FakeClock, catchUp: CatchUp, schedule = '0 * * * *', logger?: Logger): Promise<CronRig> {
  const rig = await openCronRig({ clock, path: dir, ...(logger === undefined ? {} : { logger }) })
  opened.push(rig.wharf)
  await rig.wharf.cron('hourly', schedule, rig.reports.delayable().build('h'), { tz: 'UTC', catchUp })
  await rig.wharf.start()
  return rig
}

/** Runs at 00:30, fires at 01:00, is closed at 01:30 and reopened at 06:30: 02:00 to 06:00 missed. */
async function afterDowntime(catchUp: CatchUp): Promise<CronRig> {
  const clock = new FakeClock(Date.parse('2026-01-01T00:30:00Z'))
  const first = await boot(clock, catchUp)
  await clock.advance(HOUR_MS)
  expect(await firedTimes(first.wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z'])
  await first.wharf.close()
  await clock.advance(5 * HOUR_MS)
  const second = await boot(clock, catchUp)
  await second.wharf.idle()
  return second
}

describe('catchUp after a downtime', () => {
  it("'none' skips every missed firing and fires next at the first after now", async () => {
    const { wharf, clock } = await afterDowntime('none')
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z'])
    expect((await wharf.crons())[0]!.nextFireAt).toBe(Date.parse('2026-01-01T07:00:00Z'))
    await clock.advance(HOUR_MS)
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T07:00:00.000Z'])
  })

  it("'one' fires the latest missed firing", async () => {
    const { wharf } = await afterDowntime('one')
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T06:00:00.000Z'])
    expect((await wharf.crons())[0]).toMatchObject({ lastFireAt: Date.parse('2026-01-01T06:00:00Z'), nextFireAt: Date.parse('2026-01-01T07:00:00Z') })
  })

  it("'all' fires every missed firing, in order", async () => {
    const { wharf, calls } = await afterDowntime('all')
    const missed = ['02', '03', '04', '05', '06'].map((h) => `2026-01-01T${h}:00:00.000Z`)
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', ...missed])
    expect(calls).toEqual(missed.map(() => 'h@2026-01-01T06:30:00.000Z'))
  })

  it(`'all' fires at most CRON_FIRINGS_MAX missed firings, and warns about the rest (WHARF_CRON_FIRINGS_SKIPPED, to the app's logger too)`, async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:30Z'))
    const first = await boot(clock, 'all', '* * * * *')
    await first.wharf.close()
    await clock.advance((CRON_FIRINGS_MAX + 500) * 60_000)
    const logged = warningsOf('WHARF_CRON_FIRINGS_SKIPPED')
    const { wharf } = await boot(clock, 'all', '* * * * *', logged.logger)
    await wharf.idle()
    const fired = await firedTimes(wharf, 'hourly')
    expect(fired).toHaveLength(CRON_FIRINGS_MAX)
    expect(fired[0]).toBe('2026-01-01T00:01:00.000Z')
    const skipped = warn.mock.calls.filter((c) => String(c[0]).includes('CRON_FIRINGS_MAX'))
    expect(skipped).toHaveLength(1)
    expect(skipped[0]![1]).toMatchObject({ code: 'WHARF_CRON_FIRINGS_SKIPPED' })
    expect(logged.messages).toEqual([String(skipped[0]![0])])
    expect((await wharf.crons())[0]!.nextFireAt).toBeGreaterThan(clock.now())
  })

  it(`warns once about the firings 'all' skips, also when another cron due first leaves it for the next tick`, async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:30Z'))
    const declare = async (rig: CronRig) => {
      // 'early' is due first and takes the tick's first firing: 'late' (CRON_FIRINGS_MAX of them)
      // no longer fits in it and fires in the next tick.
      await rig.wharf.cron('early', '* * * * *', rig.reports.delayable().build('e'), { tz: 'UTC', catchUp: 'one' })
      await rig.wharf.cron('late', '*/2 * * * *', rig.reports.delayable().build('l'), { tz: 'UTC', catchUp: 'all' })
    }
    const first = await openCronRig({ clock, path: dir })
    opened.push(first.wharf)
    await declare(first)
    await first.wharf.close()
    await clock.advance((2 * CRON_FIRINGS_MAX + 500) * 60_000)
    const logged = warningsOf('WHARF_CRON_FIRINGS_SKIPPED')
    const rig = await openCronRig({ clock, path: dir, logger: logged.logger })
    opened.push(rig.wharf)
    await declare(rig)
    await rig.wharf.start()
    await rig.wharf.idle()
    expect(await firedTimes(rig.wharf, 'late')).toHaveLength(CRON_FIRINGS_MAX)
    expect(await firedTimes(rig.wharf, 'early')).toHaveLength(1)
    expect(logged.messages).toHaveLength(1)
    expect(logged.messages[0]).toContain('cron "late" missed more than')
  })

  it('a firing due while the store was closed fires on start, not on open', async () => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:30:00Z'))
    const first = await boot(clock, 'one')
    await first.wharf.close()
    await clock.advance(HOUR_MS)
    const rig = await openCronRig({ clock, path: dir })
    opened.push(rig.wharf)
    expect(await firedTimes(rig.wharf, 'hourly')).toEqual([])
    await rig.wharf.start()
    await rig.wharf.idle()
    expect(await firedTimes(rig.wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z'])
  })
})

describe('crons persist', () => {
  for (const snapshot of [false, true]) {
    it(`keep their definition, times and pause across a reopen${snapshot ? ' from a snapshot' : ''}, and a re-declaration writes nothing`, async () => {
      const clock = new FakeClock(Date.parse('2026-01-01T00:30:00Z'))
      const first = await boot(clock, 'all')
      await first.wharf.cron('paused', '*/5 * * * *', first.reports.delayable({ description: 'five' }).build('p'), { tz: 'Europe/Brussels', catchUp: 'none' })
      await first.wharf.pauseCron('paused')
      await clock.advance(HOUR_MS)
      if (snapshot) await first.wharf.snapshot()
      const before: CronView[] = await first.wharf.crons()
      await first.wharf.close()
      const second = await openCronRig({ clock, path: dir })
      opened.push(second.wharf)
      if (snapshot) expect(second.wharf.openReport.snapshotSeq).toBeGreaterThan(0)
      expect(await second.wharf.crons()).toEqual(before)
      await second.wharf.cron('hourly', '0 * * * *', second.reports.delayable().build('h'), { tz: 'UTC', catchUp: 'all' })
      expect(second.events).toEqual([])
      await second.wharf.start()
      await clock.advance(HOUR_MS)
      expect(await firedTimes(second.wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'])
      expect(await firedTimes(second.wharf, 'paused')).toEqual([])
    })
  }
})
