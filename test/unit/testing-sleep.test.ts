// Proves a handler called directly — by the testing helpers (no-delay mode, trapJobs'
// performEnqueuedJobs()) or as a recordset's method — may sleep on a FakeClock: no engine runs such
// a handler and the test is awaiting the call that runs it, so nobody would advance the clock, and
// `this.sleep()` would hang the test. The clock is moved for a handler asleep on it, as drain()
// does for a stored job's try: the sleep takes its simulated time, timers due on the way fire in
// order.
import { afterEach, describe, expect, it } from 'vitest'
import { chain, Wharf, type JobContext } from '../../src/index.js'
import { FakeClock, trapJobs } from '../../src/testing.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close({ timeoutMs: 1_000 })
})

const START = Date.UTC(2026, 0, 1)

async function setup(noDelay: boolean) {
  const clock = new FakeClock(START)
  const wharf = await Wharf.open({ clock, noDelay })
  opened.push(wharf)
  const woke: string[] = []
  const reports = wharf.model('reports', {
    async build(this: JobContext, name: string, minutes: number) {
      const from = this.now()
      await this.sleep(minutes * 60_000)
      woke.push(`${name}@${(this.now() - START) / 60_000}`)
      return this.now() - from
    },
    async both(this: JobContext) {
      // Two sleeps at once: the shorter wakes first, at its own time.
      await Promise.all([20, 10].map(async (minutes) => {
        await this.sleep(minutes * 60_000)
        woke.push(`both ${minutes}@${(this.now() - START) / 60_000}`)
      }))
    },
  })
  return { clock, wharf, reports, woke }
}

// A hang is the defect: each test fails at this bound rather than wait for the suite's.
const BOUND = { timeout: 10_000 }

describe('this.sleep() on a FakeClock under the testing helpers', () => {
  it('no-delay mode: a withDelay call resolves once the handler slept its simulated time', BOUND, async () => {
    const { clock, reports, woke } = await setup(true)
    const view = await reports.withDelay().build('nightly', 5)
    expect(view).toMatchObject({ state: 'done', result: 5 * 60_000, execTimeMs: 5 * 60_000 })
    expect(woke).toEqual(['nightly@5'])
    expect(clock.now()).toBe(START + 5 * 60_000)
  })

  it('no-delay mode: a chain sleeps one job after the other, and parallel sleeps wake in order', BOUND, async () => {
    const { clock, reports, woke } = await setup(true)
    await chain(reports.delayable().build('a', 1), reports.delayable().build('b', 2)).delay()
    await reports.withDelay().both()
    expect(woke).toEqual(['a@1', 'b@3', 'both 10@13', 'both 20@23'])
    expect(clock.now()).toBe(START + 23 * 60_000)
  })

  it('a direct call (a recordset\'s method) resolves once it slept; a synchronous one still returns at once', BOUND, async () => {
    const { clock, wharf, reports, woke } = await setup(false)
    expect(await reports.browse([1]).build('direct', 2)).toBe(2 * 60_000)
    expect(woke).toEqual(['direct@2'])
    expect(clock.now()).toBe(START + 2 * 60_000)
    const plain = wharf.model('plain', {
      now(this: JobContext) {
        return this.now()
      },
    })
    expect(plain.now()).toBe(START + 2 * 60_000)
  })

  it('performEnqueuedJobs(): each trapped handler sleeps its simulated time', BOUND, async () => {
    const { clock, wharf, reports, woke } = await setup(false)
    const trap = trapJobs(wharf)
    await reports.withDelay({ priority: 2 }).build('second', 3)
    await reports.withDelay({ priority: 1 }).build('first', 1)
    await trap.performEnqueuedJobs()
    trap.restore()
    expect(woke).toEqual(['first@1', 'second@4'])
    expect(clock.now()).toBe(START + 4 * 60_000)
  })
})
