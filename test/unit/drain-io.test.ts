// Proves drain() on a FakeClock moves time on under running handlers only for those waiting on the
// clock: a handler reading a file keeps the time it started at until its reads are done (the clock
// used to jump to the next timer after one event-loop turn, timing it out mid-read), handlers
// asleep in this.sleep count as asleep, and ones waiting on the clock another way still get there;
// a try computing in a worker thread, which no FakeClock reaches, is never overtaken either.
import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, Wharf } from '../../src/index.js'
import type * as threadJobs from '../fixtures/threads/jobs.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function open(clock: FakeClock): Promise<Wharf> {
  const wharf = await Wharf.open({ clock, channels: 'root:2' })
  opened.push(wharf)
  return wharf
}

describe('drain() with a FakeClock and handlers doing real I/O', () => {
  it('lets file reads finish before moving the clock to the next eta, so no timeout fires mid-read', async () => {
    const clock = new FakeClock(0)
    const wharf = await open(clock)
    const files = wharf.model('files', {
      async read() {
        const startedAt = this.now()
        for (let i = 0; i < 5; i++) await readFile(new URL(import.meta.url))
        return this.now() - startedAt
      },
      later() {
        return 'later'
      },
    })
    wharf.configure('files.read', { timeoutMs: 1_000 })
    const reading = await files.browse([1]).withDelay().read()
    const later = await files.browse([1]).withDelay({ eta: 3_600 }).later()
    await wharf.start()
    await wharf.drain()
    const read = await wharf.job(reading.uuid)
    expect({ state: read?.state, excMessage: read?.excMessage, result: read?.result }).toEqual({ state: 'done', excMessage: null, result: 0 })
    expect((await wharf.job(later.uuid))?.state).toBe('done')
    expect(clock.now()).toBe(3_600_000)
  })

  it('still jumps at once for handlers that sleep on the clock', async () => {
    const clock = new FakeClock(0)
    const wharf = await open(clock)
    const naps = wharf.model('naps', {
      async nap() {
        await this.sleep(60_000)
        return this.now()
      },
    })
    const views = await Promise.all([naps.browse([1]).withDelay().nap(), naps.browse([2]).withDelay().nap()])
    await wharf.start()
    expect({ running: wharf.engine.runningHandlers, awake: wharf.engine.awakeHandlers }).toEqual({ running: 2, awake: 0 })
    await wharf.drain()
    for (const view of views) expect(await wharf.result(view.uuid)).toBe(60_000)
  })

  it('moves the clock on for a handler waiting on a FakeClock timer of its own', async () => {
    const clock = new FakeClock(0)
    const wharf = await open(clock)
    const own = wharf.model('own', {
      async wait() {
        await clock.sleep(5_000)
        return this.now()
      },
    })
    const view = await own.browse([1]).withDelay().wait()
    await wharf.start()
    expect(wharf.engine.awakeHandlers).toBe(1)
    await wharf.drain()
    expect(await wharf.result(view.uuid)).toBe(5_000)
  })

  it('moves the clock on for a handler that waits on it some other way (a result of a job with an eta)', async () => {
    const clock = new FakeClock(0)
    const wharf = await open(clock)
    const chain = wharf.model('chain', {
      late() {
        return 'late'
      },
      async waitFor(uuid: string) {
        return wharf.result(uuid)
      },
    })
    const late = await chain.browse([1]).withDelay({ eta: 600 }).late()
    const waiting = await chain.browse([1]).withDelay().waitFor(late.uuid)
    await wharf.start()
    await wharf.drain()
    expect(await wharf.result(waiting.uuid)).toBe('late')
    expect(clock.now()).toBe(600_000)
  })

  it('lets a try computing in a worker thread finish before moving the clock, so its timeout does not fire mid-computation', async () => {
    const clock = new FakeClock(0)
    const wharf = await open(clock)
    const image = await wharf.model<typeof threadJobs>('image', { module: new URL('../fixtures/threads/jobs.ts', import.meta.url), threads: 1 })
    wharf.configure('image.busyFor', { timeoutMs: 60_000 })
    const busy = await image.browse([1]).withDelay().busyFor(300) // real ms, far more than drain's quiet turns
    const later = await image.browse([1]).withDelay({ eta: 3_600 }).square(3)
    await wharf.start()
    await wharf.drain()
    const done = await wharf.job(busy.uuid)
    expect({ state: done?.state, retry: done?.retry, excMessage: done?.excMessage, result: done?.result, doneAt: done?.doneAt }).toEqual({ state: 'done', retry: 1, excMessage: null, result: 300, doneAt: 0 })
    expect(await wharf.result(later.uuid)).toBe(9)
    expect(clock.now()).toBe(3_600_000)
  })
})
