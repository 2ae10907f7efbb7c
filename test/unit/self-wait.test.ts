// Proves a handler that awaits a wait of its own Wharf no longer hangs for ever: idle() and stop()
// leave the caller's own run out (they resolve once the rest is quiet, the handler then ends and
// its job is done), and drain() and close() refuse at once with SelfWaitError naming the job,
// changing nothing. Calls made outside the handler's await chain, or on another Wharf, wait as
// before.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SelfWaitError, Wharf, type JobContext } from '../../src/index.js'

// A hang is the defect: each test fails at this bound rather than at the suite's.
const BOUND = { timeout: 10_000 }

const opened: Wharf[] = []
afterEach(async () => {
  // With a bound: on code that hangs, the test fails at its own timeout instead of here.
  for (const wharf of opened.splice(0)) await wharf.close({ timeoutMs: 2_000 })
})

async function open(channels = 'root:2'): Promise<Wharf> {
  const wharf = await Wharf.open({ channels })
  opened.push(wharf)
  return wharf
}

/** A second job that runs until `release` is called, and what it saw. */
function slowJob(wharf: Wharf) {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const model = wharf.model('test.slow', {
    async run(this: JobContext) {
      await released
      return 'slow done'
    },
  })
  return { model, release }
}

async function viaHelper(wait: () => Promise<void>): Promise<void> {
  await Promise.resolve()
  await wait()
}

describe('a handler awaiting idle() or stop() of its own Wharf', () => {
  it.each([
    ['idle() after an await', (w: Wharf) => async () => { await Promise.resolve(); await w.idle() }],
    ['idle() before its first await', (w: Wharf) => () => w.idle()],
    ['idle() through an async helper', (w: Wharf) => () => viaHelper(() => w.idle())],
    ['stop() after an await', (w: Wharf) => async () => { await Promise.resolve(); await w.stop() }],
  ])('%s resolves once the other handlers ended, and its own job is done', BOUND, async (_name, waitOf) => {
    const wharf = await open()
    const slow = slowJob(wharf)
    const seen: string[] = []
    const waiter = wharf.model('test.waiter', {
      async run(this: JobContext) {
        await waitOf(wharf)()
        seen.push((await wharf.job(slowView.uuid))!.state)
        return 'waited'
      },
    })
    const slowView = await slow.model.withDelay().run()
    const job = await waiter.withDelay().run()
    await wharf.start()
    expect(seen).toEqual([])
    slow.release()
    await wharf.idle()
    expect(seen).toEqual(['done'])
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'done', result: 'waited' })
  })

  it('idle() from a timer callback of the handler still waits for that handler (it is not in its await chain)', BOUND, async () => {
    const wharf = await open()
    const order: string[] = []
    let finish!: () => void
    const model = wharf.model('test.timer', {
      async run(this: JobContext) {
        setImmediate(() => void wharf.idle().then(() => order.push('idle')))
        await new Promise<void>((resolve) => (finish = resolve))
        order.push('handler')
        return 'ok'
      },
    })
    await model.withDelay().run()
    await wharf.start()
    await new Promise<void>((resolve) => setImmediate(resolve))
    finish()
    await wharf.idle()
    expect(order).toEqual(['handler', 'idle'])
  })
})

describe('a handler calling drain() or close() of its own Wharf', () => {
  it.each([
    ['drain()', (w: Wharf) => w.drain(), /drain\(\) called by the handler of job .*test\.self\.run.*await idle\(\) there instead/],
    ['close()', (w: Wharf) => w.close(), /close\(\) called by the handler of job .*setImmediate/],
  ])('%s is refused with SelfWaitError naming the job; the job fails with it, the Wharf runs on', BOUND, async (_name, call, message) => {
    const wharf = await open()
    const caught: unknown[] = []
    const model = wharf.model('test.self', {
      async run(this: JobContext) {
        await Promise.resolve()
        try {
          await call(wharf)
        } catch (error) {
          caught.push(error)
          throw error
        }
      },
    })
    const job = await model.withDelay({ maxRetries: 1 }).run()
    await wharf.start()
    await wharf.idle()
    expect(caught).toHaveLength(1)
    expect(caught[0]).toBeInstanceOf(SelfWaitError)
    expect(caught[0]).toMatchObject({ code: 'SELF_WAIT', uuid: job.uuid })
    expect((caught[0] as Error).message).toMatch(message)
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'failed', excName: 'SelfWaitError' })
    const later = await model.withDelay().run() // still open and running
    expect(later.state).toBe('pending')
  })

  it('close() from outside the await chain (setImmediate) waits for the handler, whose job is done', BOUND, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-self-wait-'))
    try {
      const path = join(dir, 'jobs')
      const wharf = await Wharf.open({ path })
      let closed!: Promise<void>
      const model = wharf.model('test.shutdown', {
        async run(this: JobContext) {
          await Promise.resolve()
          closed = new Promise((resolve, reject) => setImmediate(() => wharf.close().then(resolve, reject)))
          await new Promise<void>((resolve) => setImmediate(resolve))
          return 'bye'
        },
      })
      const job = await model.withDelay().run()
      await wharf.start()
      while (closed === undefined) await new Promise<void>((resolve) => setImmediate(resolve))
      await closed
      const reopened = await Wharf.open({ path })
      expect(await reopened.job(job.uuid)).toMatchObject({ state: 'done', result: 'bye' })
      await reopened.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a handler of one Wharf may drain and close another', BOUND, async () => {
    const outer = await open()
    const inner = await Wharf.open({})
    const innerModel = inner.model('test.inner', { run: () => 'inner' })
    const innerJob = await innerModel.withDelay().run()
    await inner.start()
    let innerState: string | undefined
    const model = outer.model('test.outer', {
      async run(this: JobContext) {
        await inner.drain()
        innerState = (await inner.job(innerJob.uuid))?.state
        await inner.close()
        return 'ok'
      },
    })
    const job = await model.withDelay().run()
    await outer.start()
    await outer.idle()
    expect(innerState).toBe('done')
    expect(await outer.job(job.uuid)).toMatchObject({ state: 'done', result: 'ok' })
  })
})
