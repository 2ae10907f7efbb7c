// Proves `RetryableJobError(msg, { seconds: 0 })` retries at once — without moving the FakeClock —
// while an absent `seconds` still falls back to the pattern or 600 s, and a bad `seconds` is refused.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, InvalidPropertyError, RetryableJobError, Wharf, type JobContext } from '../../src/index.js'
import { retryDelaySeconds } from '../../src/engine/core/retry.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

describe('core: retryDelaySeconds', () => {
  it('takes an explicit 0 as 0, and only an absent seconds as "use the pattern or 600 s"', () => {
    expect(retryDelaySeconds(null, 1, 0, 0)).toBe(0)
    expect(retryDelaySeconds([[1, 60]], 1, 0, 0)).toBe(0)
    expect(retryDelaySeconds([[1, 60]], 1, undefined, 0)).toBe(60)
    expect(retryDelaySeconds(null, 1, undefined, 0)).toBe(600)
  })
})

describe('a handler throwing RetryableJobError with seconds: 0', () => {
  it('is retried at the same clock time and ends done after the second try', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ clock })
    opened.push(wharf)
    let tries = 0
    const model = wharf.model('retry.zero', {
      run(this: JobContext) {
        tries++
        if (tries === 1) throw new RetryableJobError('again now', { seconds: 0 })
        return 'ok'
      },
    })
    const t0 = clock.now()
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    const after = await wharf.job(job.uuid)
    expect(tries).toBe(2)
    expect(clock.now()).toBe(t0)
    expect(after?.state).toBe('done')
    expect(after?.retry).toBe(2)
  })
})

describe('RetryableJobError options', () => {
  it.each([-1, Number.NaN, Infinity])('refuses seconds %s with InvalidPropertyError', async (seconds) => {
    const error = await failure(() => new RetryableJobError('x', { seconds }))
    expect(error).toBeInstanceOf(InvalidPropertyError)
  })
})

describe('a fraction of a ms on a FakeClock', () => {
  it('in RetryableJobError seconds: retried at a whole ms, as an eta property is: drain() on a FakeClock gets there', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ clock })
    opened.push(wharf)
    let tries = 0
    const model = wharf.model('retry.jitter', {
      run() {
        if (++tries === 1) throw new RetryableJobError('busy', { seconds: 0.0015 }) // 1.5 ms, as a jitter draws
        return 'ok'
      },
    })
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.settled()
    const waiting = (await wharf.job(job.uuid))!
    expect(waiting.state).toBe('pending')
    expect(Number.isInteger(waiting.eta)).toBe(true)
    await wharf.drain()
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'done', retry: 2 })
    expect(Number.isInteger(clock.now())).toBe(true)
  })

  it('a handler sleeping a fraction of a ms on a FakeClock is drained', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ clock })
    opened.push(wharf)
    const model = wharf.model('sleep.fraction', {
      async run(this: JobContext) {
        await this.sleep(0.5)
        return this.now()
      },
    })
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.drain()
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'done', result: job.createdAt + 1 })
  })
})
