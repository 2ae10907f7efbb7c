// Proves recurring jobs through the public API on a FakeClock: firings over days of simulated
// time (UTC, and Europe/Brussels across both DST switches), one job per firing with the identity
// key cron:<name>:<scheduled time>; pause, resume and remove; an idempotent re-declaration; and
// every bad argument refused with a message naming it, before anything is written.
import { describe, expect, it } from 'vitest'
import { chain, FakeClock, InvalidPropertyError, NotSerializableError, UnknownCronError, Wharf } from '../../src/index.js'
import { CRON_NAME_LENGTH_MAX } from '../../src/engine/core/limits.js'
import { closedAfterEach, failure } from './helpers.js'
import { DAY_MS, firedTimes, HOUR_MS, openCronRig } from './cron-helpers.js'

const opened = closedAfterEach()

async function rig(startIso: string) {
  const r = await openCronRig({ startIso })
  opened.push(r.wharf)
  return r
}

describe('a cron fires on its schedule', () => {
  it('stores and runs one job per firing over days of simulated time, and shows its times', async () => {
    const { wharf, clock, reports, calls } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('nightly', '0 2 * * *', reports.delayable({ priority: 3 }).build('nightly'), { tz: 'UTC' })
    const [view] = await wharf.crons()
    expect(view).toEqual({
      name: 'nightly', schedule: '0 2 * * *', tz: 'UTC', catchUp: 'one', paused: false,
      nextFireAt: Date.parse('2026-01-01T02:00:00Z'), lastFireAt: null, function: 'reports.build', description: 'reports.build', identityKey: null,
    })
    await wharf.start()
    await clock.advance(3 * DAY_MS)
    expect(calls).toEqual(['nightly@2026-01-01T02:00:00.000Z', 'nightly@2026-01-02T02:00:00.000Z', 'nightly@2026-01-03T02:00:00.000Z'])
    const jobs = await wharf.jobs()
    expect(jobs.map((j) => [j.identityKey, j.state, j.priority, j.args])).toEqual([
      ['cron:nightly:2026-01-01T02:00:00.000Z', 'done', 3, ['nightly']],
      ['cron:nightly:2026-01-02T02:00:00.000Z', 'done', 3, ['nightly']],
      ['cron:nightly:2026-01-03T02:00:00.000Z', 'done', 3, ['nightly']],
    ])
    const [after] = await wharf.crons()
    expect([after!.lastFireAt, after!.nextFireAt]).toEqual([Date.parse('2026-01-03T02:00:00Z'), Date.parse('2026-01-04T02:00:00Z')])
  })

  it('fires with drain() on the way to other work, and drain() ends when only crons are left', async () => {
    const { wharf, reports, calls } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('hourly', '0 * * * *', reports.delayable().build('h'), { tz: 'UTC' })
    await reports.withDelay({ eta: 3 * 3600 + 60 }).build('later')
    await wharf.start()
    await wharf.drain()
    expect(calls).toEqual(['h@2026-01-01T01:00:00.000Z', 'h@2026-01-01T02:00:00.000Z', 'h@2026-01-01T03:00:00.000Z', 'later@2026-01-01T03:01:00.000Z'])
  })

  it('does not fire while the engine is not started', async () => {
    const { wharf, clock, reports } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('hourly', '0 * * * *', reports.delayable().build('h'), { tz: 'UTC' })
    await clock.advance(5 * HOUR_MS)
    expect(await firedTimes(wharf, 'hourly')).toEqual([])
  })

  it('stores its job in the channel the function is configured with when it fires', async () => {
    const { wharf, clock, reports } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('hourly', '0 * * * *', reports.delayable().build('h'), { tz: 'UTC' })
    wharf.configure('reports.build', { channel: 'root.reports' })
    await wharf.start()
    await clock.advance(HOUR_MS)
    expect((await wharf.jobs()).map((j) => j.channel)).toEqual(['root.reports'])
  })
})

describe('time zones and DST (Europe/Brussels)', () => {
  it('spring forward: a 02:30 firing on the day 02:30 does not exist fires once, at 03:00 CEST', async () => {
    const { wharf, clock, reports } = await rig('2026-03-27T12:00:00Z')
    await wharf.cron('half-past-two', '30 2 * * *', reports.delayable().build('x'), { tz: 'Europe/Brussels' })
    await wharf.start()
    await clock.advance(4 * DAY_MS)
    expect(await firedTimes(wharf, 'half-past-two')).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ])
  })

  it('fall back: a 02:30 firing on the day 02:30 happens twice fires once', async () => {
    const { wharf, clock, reports, calls } = await rig('2026-10-23T12:00:00Z')
    await wharf.cron('half-past-two', '30 2 * * *', reports.delayable().build('x'), { tz: 'Europe/Brussels' })
    await wharf.start()
    await clock.advance(4 * DAY_MS)
    expect(await firedTimes(wharf, 'half-past-two')).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST); the second (CET, 01:30Z) does not fire
      '2026-10-26T01:30:00.000Z', // 02:30 CET
      '2026-10-27T01:30:00.000Z',
    ])
    expect(calls.filter((c) => c.includes('2026-10-25'))).toHaveLength(1)
  })

  it('a list in the hour field is an interval schedule: a time that does not exist is skipped, one that happens twice fires twice', async () => {
    // croner's rule (as Vixie cron's for '*'): only one value in each of the second, minute and
    // hour fields makes a fixed-time schedule. The README says so: '0 2,14' is not '0 2' twice.
    const { wharf, clock, reports } = await rig('2026-03-28T12:00:00Z')
    await wharf.cron('twice-a-day', '30 2,14 * * *', reports.delayable().build('x'), { tz: 'Europe/Brussels' })
    await wharf.start()
    await clock.advance(DAY_MS + HOUR_MS)
    expect(await firedTimes(wharf, 'twice-a-day')).toEqual(['2026-03-28T13:30:00.000Z', '2026-03-29T12:30:00.000Z']) // no 02:30 on the 29th
    await wharf.removeCron('twice-a-day')
    await clock.advance(Date.parse('2026-10-24T12:00:00Z') - clock.now())
    await wharf.cron('twice-a-day', '30 2,14 * * *', reports.delayable().build('x'), { tz: 'Europe/Brussels' })
    await clock.advance(DAY_MS)
    expect((await firedTimes(wharf, 'twice-a-day')).filter((t) => t >= '2026-10-24T12')).toEqual([
      '2026-10-24T12:30:00.000Z', // 14:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:30:00.000Z', // 02:30 CET, the same wall time again
    ])
  })
})

describe('pause, resume, remove', () => {
  it('skips the firings of a pause, fires again from the first after the resume, and stops once removed', async () => {
    const { wharf, clock, reports } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('hourly', '0 * * * *', reports.delayable().build('h'), { tz: 'UTC' })
    await wharf.start()
    await clock.advance(HOUR_MS) // 01:00
    await wharf.pauseCron('hourly')
    await wharf.pauseCron('hourly') // paused already: nothing to do
    expect((await wharf.crons())[0]).toMatchObject({ paused: true, nextFireAt: null, lastFireAt: Date.parse('2026-01-01T01:00:00Z') })
    await clock.advance(3 * HOUR_MS + 30 * 60_000) // 04:30: 02:00, 03:00, 04:00 fall in the pause
    await wharf.resumeCron('hourly')
    await wharf.resumeCron('hourly')
    expect((await wharf.crons())[0]).toMatchObject({ paused: false, nextFireAt: Date.parse('2026-01-01T05:00:00Z') })
    await clock.advance(HOUR_MS) // 05:30
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T05:00:00.000Z'])
    await wharf.removeCron('hourly')
    expect(await wharf.crons()).toEqual([])
    await clock.advance(3 * HOUR_MS)
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T05:00:00.000Z'])
  })

  it('refuses an unknown name with UnknownCronError naming it', async () => {
    const { wharf } = await rig('2026-01-01T00:00:00Z')
    for (const call of [() => wharf.removeCron('nope'), () => wharf.pauseCron('nope'), () => wharf.resumeCron('nope')]) {
      const error = await failure(call)
      expect(error).toBeInstanceOf(UnknownCronError)
      expect((error as Error).message).toContain('"nope"')
    }
  })
})

describe('declaring a cron again', () => {
  it('writes nothing for the same definition, and updates it (keeping its times) when it changed', async () => {
    const { wharf, clock, reports, events } = await rig('2026-01-01T00:00:00Z')
    const declare = (catchUp: 'one' | 'all', what = 'h') => wharf.cron('hourly', '0 * * * *', reports.delayable().build(what), { tz: 'UTC', catchUp })
    await declare('one')
    await wharf.start()
    await clock.advance(HOUR_MS)
    const before = events.length
    await declare('one')
    expect(events.length).toBe(before)
    await declare('all', 'other')
    expect(events.slice(before).map((e) => e.type)).toEqual(['cron.defined'])
    expect((await wharf.crons())[0]).toMatchObject({ catchUp: 'all', lastFireAt: Date.parse('2026-01-01T01:00:00Z'), nextFireAt: Date.parse('2026-01-01T02:00:00Z') })
    await wharf.cron('hourly', '30 * * * *', reports.delayable().build('other'), { tz: 'UTC', catchUp: 'all' })
    expect((await wharf.crons())[0]!.nextFireAt).toBe(Date.parse('2026-01-01T01:30:00Z'))
    await clock.advance(HOUR_MS)
    expect(await firedTimes(wharf, 'hourly')).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T01:30:00.000Z'])
  })

  it('keeps a pause across a changed declaration', async () => {
    const { wharf, reports } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('c', '0 * * * *', reports.delayable().build('a'), { tz: 'UTC' })
    await wharf.pauseCron('c')
    await wharf.cron('c', '0 * * * *', reports.delayable().build('b'), { tz: 'UTC' })
    expect((await wharf.crons())[0]!.paused).toBe(true)
  })

  it('resumes at the next firing of the schedule declared just before, in the same tick', async () => {
    // The seeded simulator found it: the resume was timed by the schedule its caller saw, so
    // the cron fired once more at a time of its old schedule.
    const { wharf, reports } = await rig('2026-01-01T06:00:00Z')
    await wharf.cron('c', '45 23 * * *', reports.delayable().build('a'), { tz: 'Asia/Kathmandu' })
    await wharf.pauseCron('c')
    await Promise.all([wharf.cron('c', '0 9 * * *', reports.delayable().build('a'), { tz: 'UTC' }), wharf.resumeCron('c')])
    const [view] = await wharf.crons()
    expect([view!.schedule, view!.paused, new Date(view!.nextFireAt!).toISOString()]).toEqual(['0 9 * * *', false, '2026-01-01T09:00:00.000Z'])
  })
})

describe('cron() refuses bad arguments, naming them', () => {
  it('refuses each with InvalidPropertyError, and stores nothing', async () => {
    const { wharf, reports, events } = await rig('2026-01-01T00:00:00Z')
    const other = await Wharf.open({ clock: new FakeClock(0) })
    opened.push(other)
    const foreign = other.model('reports', { async build(_: string) {} })
    const job = () => reports.delayable().build('x')
    const cases: [string, () => Promise<unknown>, string][] = [
      ['bad expression', () => wharf.cron('c', '61 * * * *', job()), '"61 * * * *"'],
      ['empty expression', () => wharf.cron('c', ' ', job()), '" "'],
      ['never fires', () => wharf.cron('c', '0 0 30 2 *', job(), { tz: 'UTC' }), 'never fires'],
      // croner reads a 7th field as the year: a schedule whose firings are all past never fires.
      ['never fires after now', () => wharf.cron('c', '0 0 2 * * * 2025', job(), { tz: 'UTC' }), 'never fires after 2026-01-01T00:00:00.000Z'],
      ['unknown tz', () => wharf.cron('c', '0 * * * *', job(), { tz: 'Mars/Olympus' }), 'Mars/Olympus'],
      ['bad catchUp', () => wharf.cron('c', '0 * * * *', job(), { catchUp: 'some' as 'one' }), '"some"'],
      ['unknown option', () => wharf.cron('c', '0 * * * *', job(), { timezone: 'UTC' } as object), '"timezone"'],
      ['empty name', () => wharf.cron('', '0 * * * *', job()), '""'],
      ['blank name', () => wharf.cron(' \t', '0 * * * *', job()), '" \\t"'],
      // Part of each firing's identity key: history would index it as U+FFFD (wharf verify: damaged).
      ['lone surrogate in name', () => wharf.cron('nightly\uD800', '0 * * * *', job()), 'lone surrogate'],
      ['long name', () => wharf.cron('n'.repeat(CRON_NAME_LENGTH_MAX + 1), '0 * * * *', job()), `${CRON_NAME_LENGTH_MAX}`],
      ['not a delayable', () => wharf.cron('c', '0 * * * *', (() => 1) as never), 'delayable'],
      ['no method call', () => wharf.cron('c', '0 * * * *', reports.delayable()), 'no method call'],
      ['an eta', () => wharf.cron('c', '0 * * * *', reports.delayable({ eta: 60 }).build('x')), 'eta'],
      ['an identity key computed per job', () => wharf.cron('c', '0 * * * *', reports.delayable({ identityKey: () => 'k' }).build('x')), 'identityKey must be a string'],
      ['a graph', () => wharf.cron('c', '0 * * * *', chain(job(), job()) as never), 'delayable'],
      ['a member of a graph', () => wharf.cron('c', '0 * * * *', job().onDone(job())), 'graph'],
      ["another Wharf's model", () => wharf.cron('c', '0 * * * *', foreign.delayable().build('x')), 'another Wharf'],
    ]
    for (const [name, call, named] of cases) {
      const error = await failure(call)
      expect(error, name).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message, name).toContain(named)
    }
    expect(await failure(() => wharf.removeCron(''))).toBeInstanceOf(InvalidPropertyError)
    expect(await wharf.crons()).toEqual([])
    expect(events).toEqual([])
  })

  it('refuses arguments that cannot be stored with NotSerializableError naming the cron, its function and the value', async () => {
    // An app declares its crons together at start: the refusal must say which one it is.
    const { wharf, reports, events } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('hourly', '0 * * * *', reports.delayable().build('x'), { tz: 'UTC' })
    for (const bad of [() => 1, new Map(), Number.NaN]) {
      const error = await failure(() => wharf.cron('nightly', '0 2 * * *', reports.delayable().build(bad as never), { tz: 'UTC' }))
      expect(error).toBeInstanceOf(NotSerializableError)
      expect((error as NotSerializableError).message).toMatch(/^cron\("nightly"\): job reports\.build: args\[0\] is /)
      expect((error as NotSerializableError).path).toBe('args[0]')
      expect((error as Error).stack).toContain('cron("nightly")')
    }
    expect((await wharf.crons()).map((c) => c.name)).toEqual(['hourly'])
    expect(events.filter((e) => e.type === 'cron.defined')).toHaveLength(1)
  })

  it('refuses to default to a process time zone that has no IANA name, and says to pass tz', async () => {
    // TZ=':/etc/localtime' (containers), a POSIX rule or an empty TZ: Intl names no zone (or
    // 'Etc/Unknown'). The cron was stored with no zone, read in the zone of whichever process read
    // the store, or refused as if its schedule were bad.
    const { wharf, reports, events } = await rig('2026-01-01T00:00:00Z')
    const saved = process.env.TZ
    try {
      for (const tz of [':/etc/localtime', 'UTC+3', '']) {
        process.env.TZ = tz
        const error = await failure(() => wharf.cron('c', '0 2 * * *', reports.delayable().build('x')))
        expect(error, tz).toBeInstanceOf(InvalidPropertyError)
        expect((error as Error).message, tz).toMatch(/this process's time zone has no IANA name .*: pass tz/)
      }
    } finally {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    }
    expect(events).toEqual([])
    expect(await wharf.crons()).toEqual([])
  })

  it('defaults the time zone to the process one, by name', async () => {
    const { wharf, reports } = await rig('2026-01-01T00:00:00Z')
    await wharf.cron('c', '0 * * * *', reports.delayable().build('x'))
    expect((await wharf.crons())[0]!.tz).toBe(new Intl.DateTimeFormat().resolvedOptions().timeZone)
  })
})
