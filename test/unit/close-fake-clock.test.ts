// Proves close() without timeoutMs never hangs a test on a FakeClock: a handler that only the
// clock can wake (asleep in this.sleep, or on a FakeClock timer of its own) is aborted with a
// WharfClosedError once nobody advances the clock, its job recovered on the next open; the clock
// is not moved; and a test that advances the clock after close() still lets it finish.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeClock, Wharf, WharfClosedError, type JobContext } from '../../src/index.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-close-fake-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

// A hang is the defect: each test fails at this bound rather than at the suite's.
const BOUND = { timeout: 10_000 }

async function sleeper(path: string, clock: FakeClock, wait: (this: JobContext, clock: FakeClock) => Promise<void>) {
  const wharf = await Wharf.open({ path, clock })
  const reasons: unknown[] = []
  const model = wharf.model('test.sleep', {
    async run(this: JobContext) {
      try {
        await wait.call(this, clock)
      } catch (error) {
        reasons.push(error)
        throw error
      }
      return 'slept'
    },
  })
  const job = await model.withDelay().run()
  await wharf.start()
  expect((await wharf.job(job.uuid))?.state).toBe('started')
  return { wharf, reasons, job }
}

describe('close() without timeoutMs on a FakeClock', () => {
  it.each([
    ['asleep in this.sleep', async function (this: JobContext) { await this.sleep(60_000) }],
    ['waiting on a FakeClock timer of its own', async function (this: JobContext, clock: FakeClock) { await clock.sleep(60_000, this.signal) }],
  ])('aborts a handler %s once nobody advances the clock; the next open recovers its job', BOUND, async (_name, wait) => {
    const path = join(dir, 'jobs')
    const clock = new FakeClock()
    const start = clock.now()
    const { wharf, reasons, job } = await sleeper(path, clock, wait)
    await wharf.close()
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).toBeInstanceOf(WharfClosedError)
    expect((reasons[0] as Error).message).toMatch(/FakeClock that nobody advances.*drain\(\) before close\(\)/)
    expect(clock.now()).toBe(start) // close() is not drain(): time did not pass

    const reopened = await Wharf.open({ path, clock })
    expect(reopened.openReport.requeued).toBe(1)
    expect((await reopened.job(job.uuid))?.state).toBe('pending')
    await reopened.close()
  })

  it('lets the handler finish when the test advances the clock after calling close()', BOUND, async () => {
    const path = join(dir, 'jobs')
    const clock = new FakeClock()
    const { wharf, reasons, job } = await sleeper(path, clock, async function (this: JobContext) { await this.sleep(60_000) })
    const closing = wharf.close()
    await clock.advance(30_000)
    await clock.advance(30_000)
    await closing
    expect(reasons).toEqual([])
    const reopened = await Wharf.open({ path, clock })
    expect(await reopened.job(job.uuid)).toMatchObject({ state: 'done', result: 'slept' })
    await reopened.close()
  })

  it('lets the handler finish when the test moves the clock from one timer to the next, a turn apart', BOUND, async () => {
    // As a test advancing in a loop does (the property tests' lettingTimePass): between two
    // advances a turn passes in which nobody advances, and the handler, asleep, is not stuck.
    const clock = new FakeClock()
    const { wharf, reasons, job } = await sleeper(join(dir, 'jobs'), clock, async function (this: JobContext) {
      for (let i = 0; i < 20; i++) {
        this.progress(i / 20) // a write held for its interval: one more timer, as busy handlers have
        await this.sleep(1_000)
      }
    })
    let closed = false
    const closing = wharf.close().finally(() => (closed = true))
    while (!closed) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      const next = clock.nextTimerAt()
      if (!closed && next !== null) await clock.advanceTo(next)
    }
    await closing
    expect(reasons).toEqual([])
    const reopened = await Wharf.open({ path: join(dir, 'jobs'), clock })
    expect(await reopened.job(job.uuid)).toMatchObject({ state: 'done', result: 'slept' })
    await reopened.close()
  })

  it('lets the handler finish when the test advances the clock in small steps, one a turn', BOUND, async () => {
    const clock = new FakeClock()
    const { wharf, reasons, job } = await sleeper(join(dir, 'jobs'), clock, async function (this: JobContext) { await this.sleep(60_000) })
    let closed = false
    const closing = wharf.close().finally(() => (closed = true))
    while (!closed) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (!closed) await clock.advance(1_000) // its timer stays the next one for 60 turns
    }
    await closing
    expect(reasons).toEqual([])
    const reopened = await Wharf.open({ path: join(dir, 'jobs'), clock })
    expect(await reopened.job(job.uuid)).toMatchObject({ state: 'done', result: 'slept' })
    await reopened.close()
  })

  it('lets the handler finish when another Wharf on the same clock drains meanwhile', BOUND, async () => {
    const clock = new FakeClock()
    const { wharf, reasons, job } = await sleeper(join(dir, 'jobs'), clock, async function (this: JobContext) { await this.sleep(60_000) })
    const other = await Wharf.open({ path: join(dir, 'other'), clock }) // its drain waits on disk between advances
    const steps = other.model('test.steps', {
      async run(this: JobContext) {
        for (let minute = 0; minute < 5; minute++) await this.sleep(30_000)
      },
    })
    await steps.withDelay().run()
    await other.start()
    await Promise.all([wharf.close(), other.drain()])
    await other.close()
    expect(reasons).toEqual([])
    const reopened = await Wharf.open({ path: join(dir, 'jobs'), clock })
    expect(await reopened.job(job.uuid)).toMatchObject({ state: 'done', result: 'slept' })
    await reopened.close()
  })
})

describe('stop() and idle() on a FakeClock that nobody advances', () => {
  it.each(['idle', 'stop'] as const)('%s() aborts nothing but warns once (WHARF_FAKE_CLOCK_WAIT, naming the job), and ends once the clock moves', BOUND, async (call) => {
    const clock = new FakeClock()
    const warnings: { code: string; message: string }[] = []
    const logger = { debug() {}, info() {}, error() {}, warn: (fields: object, message?: string) => warnings.push({ code: (fields as { code: string }).code, message: message ?? '' }) }
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const wharf = await Wharf.open({ clock, logger })
    try {
      const model = wharf.model('test.sleep', {
        async run(this: JobContext) {
          await this.sleep(60_000)
          return 'slept'
        },
      })
      const job = await model.withDelay().run()
      await wharf.start()
      let ended = false
      const waiting = wharf[call]().finally(() => (ended = true))
      while (warnings.length === 0) await new Promise<void>((resolve) => setImmediate(resolve))
      expect(ended).toBe(false)
      expect(warnings).toEqual([{ code: 'WHARF_FAKE_CLOCK_WAIT', message: expect.stringMatching(new RegExp(`^${call}\\(\\) waits for 1 running handler\\(s\\) \\(jobs "${job.uuid}"\\).*nobody advances it`)) }])
      await clock.advance(60_000)
      await waiting
      expect(warnings).toHaveLength(1)
      await wharf.idle()
      expect(await wharf.job(job.uuid)).toMatchObject({ state: 'done', result: 'slept' })
    } finally {
      emit.mockRestore()
      await wharf.close()
    }
  })

  // The handler that calls it is not waited for (self-wait.ts): the warning named it among the
  // handlers it waits for ("2 running handler(s)"), sending the reader after the wrong job.
  it.each(['idle', 'stop'] as const)('%s() called by a handler warns of the other handlers only, not of its caller', BOUND, async (call) => {
    const clock = new FakeClock()
    const warnings: { code: string; message: string }[] = []
    const logger = { debug() {}, info() {}, error() {}, warn: (fields: object, message?: string) => warnings.push({ code: (fields as { code: string }).code, message: message ?? '' }) }
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const wharf = await Wharf.open({ clock, logger, channels: 'root:2' })
    try {
      const sleeper = wharf.model('test.sleep', {
        async run(this: JobContext) {
          await this.sleep(60_000)
          return 'slept'
        },
      })
      const waiter = wharf.model('test.wait', {
        async run(this: JobContext) {
          await Promise.resolve()
          await wharf[call]()
          return 'waited'
        },
      })
      const slept = await sleeper.withDelay().run()
      const waited = await waiter.withDelay().run()
      await wharf.start()
      while (warnings.length === 0) await new Promise<void>((resolve) => setImmediate(resolve))
      expect(warnings).toEqual([{ code: 'WHARF_FAKE_CLOCK_WAIT', message: expect.stringMatching(new RegExp(`^${call}\\(\\) waits for 1 running handler\\(s\\) \\(jobs "${slept.uuid}"\\) `)) }])
      await clock.advance(60_000)
      await wharf.idle()
      expect(await wharf.job(waited.uuid)).toMatchObject({ state: 'done', result: 'waited' })
    } finally {
      emit.mockRestore()
      await wharf.close()
    }
  })

  it('does not warn while the test advances the clock for the handler', BOUND, async () => {
    const clock = new FakeClock()
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const wharf = await Wharf.open({ clock })
    try {
      const model = wharf.model('test.sleep', {
        async run(this: JobContext) {
          await this.sleep(60_000)
        },
      })
      await model.withDelay().run()
      await wharf.start()
      let ended = false
      const waiting = wharf.idle().finally(() => (ended = true))
      while (!ended) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        if (!ended) await clock.advance(1_000)
      }
      await waiting
      expect(emit).not.toHaveBeenCalledWith(expect.anything(), expect.objectContaining({ code: 'WHARF_FAKE_CLOCK_WAIT' }))
    } finally {
      emit.mockRestore()
      await wharf.close()
    }
  })
})
