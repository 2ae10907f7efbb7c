// Regressions found by the engine's model-based property test (test/property/engine-model.test.ts),
// each as a minimal example through the public API on a FakeClock.
import { describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, Wharf, type WharfEvent } from '../../src/index.js'

describe('found by the engine model', () => {
  // Shrunk counterexample: ["root:1", {enqueue, plan: [timeout]}, {reopen}]. stop() disarmed the
  // engine's one timer, which carries handler timeouts too: a job that overran its timeoutMs
  // while close() waited for it was never aborted, and a handler that never settles made close()
  // hang for ever.
  it('stop() and close() still time out a running handler at its timeoutMs', { timeout: 10_000 }, async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ log: new MemoryLog(), clock, channels: 'root:1' })
    const seen: WharfEvent[] = []
    wharf.on('transition', (e) => seen.push(e))
    let aborted: unknown = null
    const m = wharf.model('m', {
      async hang(this: import('../../src/index.js').JobContext) {
        this.signal.addEventListener('abort', () => (aborted = this.signal.reason))
        await new Promise<never>(() => {}) // never settles on its own
      },
    })
    wharf.configure('m.hang', { timeoutMs: 1000 })
    const job = await m.withDelay().hang()
    await wharf.start()
    expect((await wharf.job(job.uuid))!.state).toBe('started')

    let closed = false
    const closing = wharf.close().then(() => (closed = true))
    await clock.advance(1000)
    await closing
    expect(closed).toBe(true)
    expect((aborted as Error | null)?.name).toBe('JobTimeoutError')
    // Reads refuse a closed Wharf: the committed postponement is in the event stream.
    expect(seen.at(-1)).toMatchObject({ type: 'job.postponed', uuid: job.uuid, eta: clock.now() + 600_000, message: expect.stringMatching(/timeoutMs/) })
    expect(seen.map((e) => e.type)).toEqual(['job.created', 'job.enqueued', 'job.started', 'job.postponed'])
  })
})
