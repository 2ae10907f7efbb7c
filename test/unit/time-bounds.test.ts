// Proves the bound on stored times (TIME_MS_MAX, the end of year 9999): an eta past it, a delay
// or retry longer than DELAY_SECONDS_MAX, and a FakeClock moved past it are refused, naming the
// value, with nothing stored; an eta at the bound is kept as given; a retry that would land past
// it lands on it; and the CLI shows a time no Date can hold (from a store written before the
// bound) as its number instead of failing.
import { describe, expect, it } from 'vitest'
import { DELAY_SECONDS_MAX, FakeClock, InvalidJobFunctionError, InvalidPropertyError, RetryableJobError, TIME_MS_MAX, Wharf } from '../../src/index.js'
import { time } from '../../src/cli/output.js'
import { closedAfterEach, failure } from './helpers.js'

const opened = closedAfterEach()

async function open(clock = new FakeClock()) {
  const wharf = await Wharf.open({ clock })
  opened.push(wharf)
  return wharf
}

describe('times past the end of year 9999', () => {
  it('refuses an eta after TIME_MS_MAX, as a Date or as seconds from now, and stores nothing', async () => {
    const wharf = await open()
    const m = wharf.model('t.bounds', { run() {} })
    const late = await failure(() => m.withDelay({ eta: new Date(TIME_MS_MAX + 1) }).run())
    expect(late).toBeInstanceOf(InvalidPropertyError)
    expect((late as Error).message).toContain('+010000-01-01T00:00:00.000Z')
    const far = await failure(() => m.withDelay({ eta: DELAY_SECONDS_MAX + 1 }).run())
    expect(far).toBeInstanceOf(InvalidPropertyError)
    expect((far as Error).message).toContain(String(DELAY_SECONDS_MAX + 1))
    expect(await wharf.jobs()).toEqual([])
  })

  it('refuses an eta of seconds further in the past than DELAY_SECONDS_MAX, which no Date could show, naming it', async () => {
    const wharf = await open()
    const m = wharf.model('t.bounds', { run() {} })
    for (const eta of [-1e300, -(DELAY_SECONDS_MAX + 1)]) {
      const error = await failure(() => m.withDelay({ eta }).run())
      expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message).toContain(String(eta))
    }
    expect(await wharf.jobs()).toEqual([])
    // A past eta within the bound is kept, as queue_job keeps one: due at once, shown as a time.
    const past = await m.withDelay({ eta: -DELAY_SECONDS_MAX }).run()
    expect(new Date(past.eta!).toISOString()).toMatch(/^-/)
  })

  it('keeps an eta at TIME_MS_MAX as given, and bounds one from seconds that would pass it', async () => {
    const wharf = await open(new FakeClock(TIME_MS_MAX - 10_000))
    const m = wharf.model('t.bounds', { run() {} })
    const last = await m.withDelay({ eta: new Date(TIME_MS_MAX) }).run()
    expect(last.eta).toBe(TIME_MS_MAX)
    const past = await m.withDelay({ eta: 3_600 }).run()
    expect(past.eta).toBe(TIME_MS_MAX)
  })

  it('refuses a retry longer than DELAY_SECONDS_MAX, in RetryableJobError and in a retry pattern', async () => {
    expect(() => new RetryableJobError('later', { seconds: DELAY_SECONDS_MAX + 1 })).toThrow(InvalidPropertyError)
    expect(new RetryableJobError('later', { seconds: DELAY_SECONDS_MAX }).seconds).toBe(DELAY_SECONDS_MAX)
    const wharf = await open()
    wharf.model('t.pattern', { run() {} })
    expect(() => wharf.configure('t.pattern.run', { retryPattern: { 1: DELAY_SECONDS_MAX + 1 } })).toThrow(InvalidJobFunctionError)
    expect(() => wharf.configure('t.pattern.run', { retryPattern: { 1: [60, DELAY_SECONDS_MAX + 1] } })).toThrow(InvalidJobFunctionError)
    wharf.configure('t.pattern.run', { retryPattern: { 1: DELAY_SECONDS_MAX } })
  })

  it('postpones a retry that would land past TIME_MS_MAX to TIME_MS_MAX', async () => {
    const clock = new FakeClock()
    const wharf = await open(clock)
    const m = wharf.model('t.retry', {
      run() {
        throw new RetryableJobError('much later', { seconds: DELAY_SECONDS_MAX })
      },
    })
    const job = await m.withDelay().run()
    await wharf.start()
    await wharf.idle()
    const after = (await wharf.job(job.uuid))!
    expect(after.state).toBe('pending')
    expect(after.retry).toBe(1)
    expect(after.eta).toBe(TIME_MS_MAX)
  })

  it('refuses to start or move a FakeClock past TIME_MS_MAX', async () => {
    expect(() => new FakeClock(TIME_MS_MAX + 1)).toThrow(RangeError)
    const clock = new FakeClock(TIME_MS_MAX - 1)
    await expect(clock.advanceTo(TIME_MS_MAX + 1)).rejects.toThrow(/TIME_MS_MAX/)
    await clock.advanceTo(TIME_MS_MAX)
    expect(clock.now()).toBe(TIME_MS_MAX)
  })

  it('the CLI shows a time no Date can hold as its number', () => {
    expect(time(TIME_MS_MAX)).toBe('9999-12-31T23:59:59Z')
    expect(time(1e17)).toBe('100000000000000000')
  })
})
