// Proves a handler that calls stop() of its own Wharf keeps its timeoutMs: stop() leaves the
// caller's run out of its wait, and used to end by clearing the engine's one timer, so that run's
// deadline was never checked again — a handler hung after its stop() ran for ever. Once stop()
// returns, the timer stays armed for the handlers still running (and nothing new starts); idle()
// after it and close() behave as before.
import { afterEach, describe, expect, it } from 'vitest'
import { JobTimeoutError, Wharf, type JobContext } from '../../src/index.js'
import { FakeClock } from '../../src/testing.js'

// A hang is the defect: each test fails at this bound rather than at the suite's.
const BOUND = { timeout: 10_000 }
const TIMEOUT_MS = 60_000

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close({ timeoutMs: 1 })
})

/** A Wharf on a FakeClock whose `test.hang.run` (timeoutMs TIMEOUT_MS) awaits `wait` of its own
 * Wharf, then hangs until aborted (it records why); `stopped` resolves once `wait` returned. */
async function setup(wait: (wharf: Wharf) => Promise<void>) {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ clock })
  opened.push(wharf)
  const aborts: unknown[] = []
  let returned!: () => void
  const stopped = new Promise<void>((resolve) => (returned = resolve))
  const model = wharf.model('test.hang', {
    async run(this: JobContext) {
      this.signal.addEventListener('abort', () => aborts.push(this.signal.reason))
      await Promise.resolve()
      await wait(wharf)
      returned()
      await new Promise(() => {}) // hung: it ignores its signal
    },
  })
  wharf.configure('test.hang.run', { timeoutMs: TIMEOUT_MS })
  const other = wharf.model('test.other', { run: () => 'ran' })
  return { clock, wharf, aborts, stopped, model, other }
}

describe('a handler with timeoutMs that calls stop() of its own Wharf', () => {
  it.each([
    ['stop()', (w: Wharf) => w.stop()],
    ['stop() then idle()', async (w: Wharf) => { await w.stop(); await w.idle() }],
  ])('%s: its timeout still aborts it once stop() returned; no job starts after', BOUND, async (_name, wait) => {
    const { clock, wharf, aborts, stopped, model, other } = await setup(wait)
    const job = await model.withDelay({ maxRetries: 1 }).run()
    await wharf.start()
    await stopped
    await clock.advance(TIMEOUT_MS - 1)
    expect(aborts).toEqual([])
    expect((await wharf.job(job.uuid))?.state).toBe('started')
    await clock.advance(1)
    expect(aborts).toHaveLength(1)
    expect(aborts[0]).toBeInstanceOf(JobTimeoutError)
    expect((await wharf.job(job.uuid))?.state).toBe('failed')
    expect(clock.pendingTimers()).toBe(0) // no handler runs any more: the timer is not kept
    const later = await other.withDelay().run()
    await clock.advance(TIMEOUT_MS)
    expect((await wharf.job(later.uuid))?.state).toBe('pending') // stopped: nothing new starts
  })

  it('close() after it waits for that handler, which its timeout ends', BOUND, async () => {
    const { clock, wharf, aborts, stopped, model } = await setup((w) => w.stop())
    await model.withDelay({ maxRetries: 1 }).run()
    await wharf.start()
    await stopped
    let closed = false
    const closing = wharf.close().then(() => (closed = true))
    await clock.advance(TIMEOUT_MS - 1)
    expect([closed, aborts.length]).toEqual([false, 0])
    await clock.advance(1)
    await closing
    expect(aborts).toHaveLength(1)
    expect(closed).toBe(true)
  })
})
