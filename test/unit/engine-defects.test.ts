// Regressions for engine defects, each through the public API on a FakeClock: a handler that
// returns after its timeoutMs (it blocked the event loop) is timed out; an awaited enqueue
// answers with the jobs as it stored them, not as the same tick's dispatch left them.
import { describe, expect, it } from 'vitest'
import { chain, FakeClock, MemoryLog, Wharf, type JobContext } from '../../src/index.js'

describe('CPU-bound timeout', () => {
  for (const kind of ['sync', 'async'] as const) {
    it(`${kind === "sync" ? "a" : "an"} ${kind} handler that returns after its timeoutMs is retried, then failed past maxRetries`, async () => {
      const clock = new FakeClock()
      const wharf = await Wharf.open({ log: new MemoryLog(), clock, channels: 'root:1' })
      // Blocking the event loop, as the engine sees it: time jumps, synchronously, with no timer
      // getting the chance to fire (FakeClock keeps its time in a private field).
      const block = (ms: number): void => void ((clock as unknown as { nowMs: number }).nowMs += ms)
      const m = wharf.model('m', {
        spin(this: JobContext) {
          block(1500)
          return kind === 'sync' ? 'finished late' : Promise.resolve('finished late')
        },
      })
      wharf.configure('m.spin', { timeoutMs: 1000 })
      const job = await m.withDelay({ maxRetries: 2 }).spin()
      await wharf.start()
      await wharf.idle()
      const first = (await wharf.job(job.uuid))!
      expect([first.state, first.retry, first.result]).toEqual(['pending', 1, expect.stringMatching(/timeoutMs \(1000 ms\)/)])
      await wharf.drain()
      const last = (await wharf.job(job.uuid))!
      expect([last.state, last.retry, last.excName, last.excMessage]).toEqual(['failed', 2, 'FailedJobError', expect.stringMatching(/^Max\. retries \(2\) reached/)])
      await wharf.close()
    })
  }

  it('a handler that returns within its timeoutMs is done', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ log: new MemoryLog(), clock, channels: 'root:1' })
    const m = wharf.model('m', {
      async work(this: JobContext) {
        await this.sleep(999)
        return 'in time'
      },
    })
    wharf.configure('m.work', { timeoutMs: 1000 })
    const job = await m.withDelay().work()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.job(job.uuid))!.state).toBe('done')
    await wharf.close()
  })
})

describe('an awaited enqueue answers with the jobs as it stored them', () => {
  it('withDelay resolves with the job pending even when it started in the same tick', async () => {
    const wharf = await Wharf.open({ log: new MemoryLog(), clock: new FakeClock(), channels: 'root:1' })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const m = wharf.model('m', {
      async work() {
        await gate
      },
    })
    await wharf.start()
    const job = await m.withDelay().work()
    expect([job.state, job.startedAt, job.retry]).toEqual(['pending', null, 0])
    expect((await wharf.job(job.uuid))!.state).toBe('started')
    release()
    await wharf.close()
  })

  it('delay() of a graph gives each node its job as stored (pending or wait_dependencies)', async () => {
    const wharf = await Wharf.open({ log: new MemoryLog(), clock: new FakeClock(), channels: 'root:2' })
    const m = wharf.model('m', { work: () => 'ok' })
    await wharf.start()
    const a = m.browse([1]).delayable().work()
    const b = m.browse([2]).delayable().work()
    await chain(a, b).delay()
    expect([a.job!.state, b.job!.state]).toEqual(['pending', 'wait_dependencies'])
    await wharf.idle()
    expect((await wharf.job(b.job!.uuid))!.state).toBe('done')
    await wharf.close()
  })
})
