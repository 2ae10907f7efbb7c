// Proves the testing helpers (no-delay mode, trapJobs' performEnqueuedJobs()) hold a try to its
// function's `timeoutMs` as a stored job's try is held: past it the signal aborts and the call
// rejects with the JobTimeoutError a stored try records. They ran the handler to its end, so a
// handler that times out on every try in production passed under test.
import { afterEach, describe, expect, it } from 'vitest'
import { JobTimeoutError, Wharf, type JobContext } from '../../src/index.js'
import { FakeClock, trapJobs } from '../../src/testing.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

const START = Date.UTC(2026, 0, 1)
// A hang would be a defect too: fail at this bound rather than the suite's.
const BOUND = { timeout: 10_000 }

async function setup(noDelay: boolean) {
  const clock = new FakeClock(START)
  const wharf = await Wharf.open({ clock, noDelay })
  opened.push(wharf)
  const aborts: unknown[] = []
  const reports = wharf.model('reports', {
    async build(this: JobContext, minutes: number) {
      this.signal.addEventListener('abort', () => aborts.push(this.signal.reason))
      await this.sleep(minutes * 60_000)
      return `built in ${minutes} min`
    },
  })
  wharf.configure('reports.build', { timeoutMs: 10 * 60_000 })
  const trap = noDelay ? null : trapJobs(wharf)
  /** Delay build(minutes) and run it as the helper does. */
  const run = async (minutes: number): Promise<unknown> => {
    const view = await reports.withDelay().build(minutes)
    if (trap === null) return view.result
    await trap.performEnqueuedJobs()
    return 'performed'
  }
  return { clock, aborts, run }
}

describe.each([['no-delay mode', true], ['performEnqueuedJobs()', false]] as const)('%s and timeoutMs', (_name, noDelay) => {
  it('rejects a try past its timeoutMs with JobTimeoutError, its signal aborted at the deadline', BOUND, async () => {
    const { clock, aborts, run } = await setup(noDelay)
    const error = await failure(() => run(60))
    expect(error).toBeInstanceOf(JobTimeoutError)
    expect((error as Error).message).toBe('reports.build ran longer than its timeoutMs (600000 ms)')
    expect(aborts).toEqual([error])
    expect(clock.now()).toBe(START + 10 * 60_000)
  })

  it('lets a try that ends in time, or at its deadline exactly, finish; no timer is left', BOUND, async () => {
    const { clock, aborts, run } = await setup(noDelay)
    expect(await run(5)).toBe(noDelay ? 'built in 5 min' : 'performed')
    expect(await run(10)).toBe(noDelay ? 'built in 10 min' : 'performed')
    expect(aborts).toEqual([])
    expect(clock.pendingTimers()).toBe(0)
  })
})
