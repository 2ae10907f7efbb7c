// Proves that a clock set back behind a cron's last firing (a store reopened on a machine whose
// clock is behind, an NTP step) never fires a scheduled time twice and never brings the engine
// down: a resume or a changed schedule, timed by that clock, fires next at the first firing after
// the last one. Two FakeClocks on one LevelDB store stand for the clock before and after the step.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/index.js'
import { closedAfterEach } from './helpers.js'
import { firedTimes, HOUR_MS, openCronRig, type CronRig } from './cron-helpers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-cron-back-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})
const opened = closedAfterEach()

async function openAt(iso: string): Promise<CronRig> {
  const rig = await openCronRig({ clock: new FakeClock(Date.parse(iso)), path: dir })
  opened.push(rig.wharf)
  return rig
}

/** The hourly cron fires at 10:00 (then is paused if asked); the store is closed and reopened
 * at 07:15, three hours behind its last firing. */
async function reopenedBehind(pause: boolean): Promise<CronRig> {
  const first = await openAt('2026-01-01T09:30:00Z')
  await first.wharf.cron('hourly', '0 * * * *', first.reports.delayable().build('h'), { tz: 'UTC' })
  await first.wharf.start()
  await first.clock.advance(HOUR_MS)
  if (pause) await first.wharf.pauseCron('hourly')
  await first.wharf.close()
  const second = await openAt('2026-01-01T07:15:00Z')
  await second.wharf.start()
  return second
}

describe('a clock set back behind a cron’s last firing', () => {
  it('resumes the cron at the first firing after its last one', async () => {
    const { wharf, clock } = await reopenedBehind(true)
    await wharf.resumeCron('hourly')
    expect((await wharf.crons())[0]).toMatchObject({ paused: false, lastFireAt: Date.parse('2026-01-01T10:00:00Z'), nextFireAt: Date.parse('2026-01-01T11:00:00Z') })
    await clock.advance(4 * HOUR_MS) // 11:15
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T11:00:00.000Z'])
  })

  it('fires a changed schedule from the first firing after the last one', async () => {
    const { wharf, clock, reports } = await reopenedBehind(false)
    await wharf.cron('hourly', '30 * * * *', reports.delayable().build('h'), { tz: 'UTC' })
    expect((await wharf.crons())[0]).toMatchObject({ schedule: '30 * * * *', nextFireAt: Date.parse('2026-01-01T10:30:00Z') })
    await clock.advance(3 * HOUR_MS + 30 * 60_000) // 10:45
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T10:30:00.000Z'])
    expect((await wharf.jobs()).map((j) => j.state)).toEqual(['done', 'done'])
  })
})
