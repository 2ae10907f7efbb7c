// Proves handler outcomes and queue_job's retry rules (§1.3, §1.5) through the public API: each test
// scripts a handler, steps a FakeClock to the postponed etas, and reads JobViews and transition events.
import { afterEach, describe, expect, it } from 'vitest'
import {
  chain,
  FailedJobError,
  FakeClock,
  MemoryLog,
  NothingToDoJob,
  RetryableJobError,
  Wharf,
  type FunctionOptions,
  type JobContext,
  type JobView,
} from '../../src/index.js'

const DEFAULT_DELAY_MS = 600_000

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Methods = Record<string, (this: JobContext, ...args: any[]) => unknown>

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function open<M extends Methods>(methods: M & ThisType<JobContext>, options: { random?: () => number; configure?: FunctionOptions } = {}) {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ channels: 'root:1', clock, ...(options.random === undefined ? {} : { random: options.random }) })
  opened.push(wharf)
  const model = wharf.model('test.job', methods)
  if (options.configure !== undefined) for (const name of Object.keys(methods)) wharf.configure(`test.job.${name}`, options.configure)
  /** Seconds of each postponement, in order (eta - decision time). */
  const delaysSeconds: number[] = []
  wharf.on('transition', (event) => {
    if (event.type === 'job.postponed') delaysSeconds.push((event.eta - event.at) / 1000)
  })
  return { clock, wharf, model, delaysSeconds, t0: clock.now() }
}

/** A handler that throws `error(try)` on each try before `succeedOn`, then returns 'ok'. */
function failingUntil(succeedOn: number, error: (attempt: number) => unknown) {
  let attempt = 0
  return {
    async run(this: JobContext) {
      attempt++
      if (attempt < succeedOn) throw error(attempt)
      return 'ok'
    },
  }
}

const view = async (wharf: Wharf, job: JobView): Promise<JobView> => (await wharf.job(job.uuid))!

describe('a handler that returns', () => {
  it('leaves the job done with its result, retry 1 and execTimeMs = doneAt - startedAt', async () => {
    const seenRetry: number[] = []
    const { wharf, clock, model, t0 } = await open({
      async run(this: JobContext, n: number) {
        seenRetry.push(this.job!.retry)
        await this.sleep(1500)
        return { doubled: n * 2 }
      },
    })
    const job = await model.withDelay().run(21)
    await wharf.start()
    expect((await view(wharf, job)).state).toBe('started')

    await clock.advance(1500)
    await wharf.idle()
    expect(await view(wharf, job)).toMatchObject({
      state: 'done', result: { doubled: 42 }, retry: 1, startedAt: t0, doneAt: t0 + 1500, execTimeMs: 1500, excName: null,
    })
    expect(seenRetry).toEqual([1])
  })
})

describe('RetryableJobError', () => {
  it('postpones by 600 s by default: pending, eta = now + delay, result = message, retry kept; runs again at the eta', async () => {
    const { wharf, clock, model, t0 } = await open(failingUntil(2, () => new RetryableJobError('remote busy')))
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    // The try put off keeps when it started (queue_job's set_pending clears it: README,
    // "Differences from queue_job"); explain() tells a retry wait from an eta by it.
    expect(await view(wharf, job)).toMatchObject({ state: 'pending', eta: t0 + DEFAULT_DELAY_MS, result: 'remote busy', retry: 1, excName: null, startedAt: t0 })
    expect((await view(wharf, job)).enqueuedAt).not.toBeNull()

    await clock.advance(DEFAULT_DELAY_MS - 1)
    await wharf.idle()
    expect((await view(wharf, job)).state).toBe('pending')

    await clock.advance(1)
    await wharf.idle()
    expect(await view(wharf, job)).toMatchObject({ state: 'done', result: 'ok', retry: 2, startedAt: t0 + DEFAULT_DELAY_MS })
  })

  it.each([
    [5, 5],
    [0, 0], // Wharf: seconds=0 retries at once (queue_job would apply the pattern)
    [undefined, 60],
  ])('with seconds=%s postpones by %s s under the pattern {1: 60}', async (seconds, expected) => {
    const { wharf, model, delaysSeconds } = await open(
      failingUntil(2, () => new RetryableJobError('later', seconds === undefined ? {} : { seconds })),
      { configure: { retryPattern: { 1: 60 } } },
    )
    await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    expect(delaysSeconds).toEqual([expected])
  })

  it('with seconds=0 and no pattern retries at once (not the default 600 s)', async () => {
    const { wharf, model, delaysSeconds } = await open(failingUntil(2, () => new RetryableJobError('later', { seconds: 0 })))
    await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    expect(delaysSeconds).toEqual([0])
  })
})

/** Start, then move the clock by each postponement as it is decided, `tries` times in all. */
async function runTries(h: { wharf: Wharf; clock: FakeClock; delaysSeconds: number[] }, tries: number): Promise<void> {
  await h.wharf.start()
  await h.wharf.idle()
  for (let i = 1; i < tries; i++) {
    await h.clock.advance(h.delaysSeconds[i - 1]! * 1000)
    await h.wharf.idle()
  }
}

describe('retry patterns (queue_job §1.5)', () => {
  it('{1:60, 2:180, 3:10, 5:300} gives try 1 → 60, 2 → 180, 3 → 10, 4 → 10, 5 → 300', async () => {
    const h = await open(failingUntil(Infinity, () => new RetryableJobError('again')), {
      configure: { retryPattern: { 1: 60, 2: 180, 3: 10, 5: 300 } },
    })
    const job = await h.model.withDelay({ maxRetries: 6 }).run()
    await runTries(h, 6)
    expect(h.delaysSeconds).toEqual([60, 180, 10, 10, 300])
    expect(await view(h.wharf, job)).toMatchObject({ state: 'failed', retry: 6 })
  })

  it('{3:180} gives tries 1 and 2 → 600 and tries 3 and 4 → 180', async () => {
    const h = await open(failingUntil(Infinity, () => new RetryableJobError('again')), { configure: { retryPattern: { 3: 180 } } })
    const job = await h.model.withDelay().run()
    await runTries(h, 5)
    expect(h.delaysSeconds).toEqual([600, 600, 180, 180])
    expect(await view(h.wharf, job)).toMatchObject({ state: 'failed', retry: 5, excMessage: 'Max. retries (5) reached: again' })
  })

  it('an ignoreRetry try is delayed by the step of the tries that count, not its own (queue_job)', async () => {
    // queue_job's perform() takes the try back (retry -= 1) before postpone() looks the pattern up:
    // tries 1 and 2 count (60, then 180), tries 3 and 4 are ignored (retry stays 2: 180 each).
    const h = await open(failingUntil(5, (attempt) => new RetryableJobError('again', { ignoreRetry: attempt > 2 })), {
      configure: { retryPattern: { 1: 60, 2: 180, 3: 10 } },
    })
    const job = await h.model.withDelay().run()
    await runTries(h, 5)
    expect(h.delaysSeconds).toEqual([60, 180, 180, 180])
    expect(await view(h.wharf, job)).toMatchObject({ state: 'done', retry: 3 })
  })

  it.each([
    [() => 0, 10],
    [() => 0.999, 20],
  ])('a [min, max] range draws within its bounds, both included (random %s → %s s)', async (random, expected) => {
    const { wharf, model, delaysSeconds, t0 } = await open(failingUntil(2, () => new RetryableJobError('again')), {
      random,
      configure: { retryPattern: { 1: [10, 20] } },
    })
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    expect(delaysSeconds).toEqual([expected])
    expect((await view(wharf, job)).eta).toBe(t0 + expected * 1000)
  })
})

describe('maxRetries', () => {
  it('maxRetries=3: tries 1 and 2 postpone, try 3 fails with "Max. retries (3) reached"', async () => {
    const h = await open(failingUntil(Infinity, () => new RetryableJobError('boom', { seconds: 1 })))
    const job = await h.model.withDelay({ maxRetries: 3 }).run()
    await h.wharf.start()
    await h.wharf.idle()
    expect(await view(h.wharf, job)).toMatchObject({ state: 'pending', retry: 1 })
    await h.clock.advance(1000)
    await h.wharf.idle()
    expect(await view(h.wharf, job)).toMatchObject({ state: 'pending', retry: 2 })
    await h.clock.advance(1000)
    await h.wharf.idle()
    expect(await view(h.wharf, job)).toMatchObject({
      state: 'failed', retry: 3, excName: 'FailedJobError', excMessage: 'Max. retries (3) reached: boom',
    })
    expect((await view(h.wharf, job)).excInfo).toEqual(expect.any(String))
  })

  it('maxRetries=0 retries forever', async () => {
    const h = await open(failingUntil(13, () => new RetryableJobError('again', { seconds: 1 })))
    const job = await h.model.withDelay({ maxRetries: 0 }).run()
    await runTries(h, 13)
    expect(h.delaysSeconds).toHaveLength(12)
    expect(await view(h.wharf, job)).toMatchObject({ state: 'done', retry: 13 })
  })

  it('ignoreRetry never fails and does not count the try', async () => {
    const h = await open(failingUntil(5, () => new RetryableJobError('not yet', { seconds: 1, ignoreRetry: true })))
    const job = await h.model.withDelay({ maxRetries: 1 }).run()
    await h.wharf.start()
    await h.wharf.idle()
    expect(await view(h.wharf, job)).toMatchObject({ state: 'pending', retry: 0, result: 'not yet' })
    for (let i = 0; i < 4; i++) {
      await h.clock.advance(1000)
      await h.wharf.idle()
    }
    expect(await view(h.wharf, job)).toMatchObject({ state: 'done', retry: 1, result: 'ok' })
  })
})

class QuotaExceeded extends Error {}

describe('errors that fail the job', () => {
  it.each([
    ['FailedJobError', () => new FailedJobError('bad input')],
    ['TypeError', () => new TypeError('bad input')],
    ['QuotaExceeded', () => new QuotaExceeded('bad input')],
  ])('%s → failed with excName = class name, excMessage and excInfo (the stack)', async (name, make) => {
    const { wharf, model } = await open(failingUntil(Infinity, make))
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    const failed = (await view(wharf, job))
    expect(failed).toMatchObject({ state: 'failed', retry: 1, excName: name, excMessage: 'bad input' })
    expect(failed.excInfo).toContain('bad input')
    expect(failed.excInfo).toMatch(/\n\s+at /)
  })

  it('a job whose function has no handler registered is not dispatched: it stays pending (API.md, since 0.2)', async () => {
    const clock = new FakeClock()
    const log = new MemoryLog()
    const writer = await Wharf.open({ clock, log })
    const job = await writer.model('test.gone', { run() { return 'never' } }).withDelay().run()
    await writer.close()

    const reader = await Wharf.open({ clock, log })
    opened.push(reader)
    await reader.start()
    await reader.idle()
    expect(await view(reader, job)).toMatchObject({ state: 'pending', retry: 0, excName: null })
  })
})

describe('NothingToDoJob', () => {
  it.each([
    [undefined, 'Job interrupted and set to Done: nothing to do.'],
    ['already synced', 'already synced'],
  ])('NothingToDoJob(%s) → done with result %j', async (message, expected) => {
    const { wharf, model } = await open(failingUntil(Infinity, () => new NothingToDoJob(message)))
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    expect(await view(wharf, job)).toMatchObject({ state: 'done', result: expected, excName: null })
  })
})

describe('manual recovery', () => {
  it('requeue of a failed job: pending with retry 0, then runs again', async () => {
    const { wharf, model } = await open(failingUntil(2, () => new FailedJobError('first try broke')))
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    expect(await view(wharf, job)).toMatchObject({ state: 'failed', retry: 1 })

    await wharf.stop()
    await wharf.requeue(job.uuid)
    expect(await view(wharf, job)).toMatchObject({ state: 'pending', retry: 0 })

    await wharf.start()
    await wharf.idle()
    expect(await view(wharf, job)).toMatchObject({ state: 'done', retry: 1, result: 'ok' })
  })

  it('a later successful run clears excName and excInfo but keeps excMessage (queue_job)', async () => {
    const { wharf, model } = await open(failingUntil(2, () => new FailedJobError('first try broke')))
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.idle()
    await wharf.requeue(job.uuid)
    await wharf.idle()
    expect(await view(wharf, job)).toMatchObject({ state: 'done', excName: null, excInfo: null, excMessage: 'first try broke' })
  })

  it('a retry between the failure and the success keeps excMessage too (queue_job postpone())', async () => {
    const { wharf, model } = await open(
      failingUntil(3, (attempt) => (attempt === 1 ? new FailedJobError('first try broke') : new RetryableJobError('busy', { seconds: 1 }))),
    )
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.drain()
    await wharf.requeue(job.uuid)
    await wharf.settled()
    expect(await view(wharf, job)).toMatchObject({ state: 'pending', result: 'busy', excName: null, excInfo: null, excMessage: 'first try broke' })
    await wharf.drain()
    expect(await view(wharf, job)).toMatchObject({ state: 'done', result: 'ok', excName: null, excInfo: null, excMessage: 'first try broke' })
  })

  it('a failed parent holds its dependents; setDone on it releases them', async () => {
    const order: string[] = []
    const { wharf, model } = await open({
      async parent() {
        order.push('parent')
        throw new FailedJobError('parent broke')
      },
      async child() {
        order.push('child')
        return 'child ok'
      },
    })
    const parent = model.delayable().parent()
    const child = model.delayable().child()
    await chain(parent, child).delay()
    await wharf.start()
    await wharf.idle()
    expect((await view(wharf, parent.job!)).state).toBe('failed')
    expect((await view(wharf, child.job!)).state).toBe('wait_dependencies')

    await wharf.setDone(parent.job!.uuid)
    await wharf.idle()
    expect((await view(wharf, parent.job!)).state).toBe('done')
    expect(await view(wharf, child.job!)).toMatchObject({ state: 'done', result: 'child ok' })
    expect(order).toEqual(['parent', 'child'])
  })
})

describe('timeoutMs', () => {
  /** A handler that sleeps 5 s without listening to its signal, so it settles after its timeout. */
  function slowHandler(signals: AbortSignal[]) {
    return {
      async run(this: JobContext) {
        const sleeping = this.sleep(5000)
        signals.push(this.signal)
        await sleeping
        return 'late result'
      },
    }
  }

  it('aborts the signal and counts the try as a retryable failure; the late outcome changes nothing', async () => {
    const signals: AbortSignal[] = []
    const { wharf, clock, model, t0 } = await open(slowHandler(signals), { configure: { timeoutMs: 1000 } })
    const job = await model.withDelay().run()
    await wharf.start()

    await clock.advance(1000)
    await wharf.idle()
    expect(signals[0]!.aborted).toBe(true)
    const postponed = (await view(wharf, job))
    expect(postponed).toMatchObject({ state: 'pending', retry: 1, eta: t0 + 1000 + DEFAULT_DELAY_MS })
    expect(String(postponed.result)).toMatch(/timeout/i)

    await clock.advance(4000)
    await wharf.settled()
    expect(await view(wharf, job)).toEqual(postponed)
  })

  it('fails the job once maxRetries timeouts are used up', async () => {
    const signals: AbortSignal[] = []
    const { wharf, clock, model } = await open(slowHandler(signals), { configure: { timeoutMs: 1000 } })
    const job = await model.withDelay({ maxRetries: 1 }).run()
    await wharf.start()

    await clock.advance(1000)
    await wharf.idle()
    const failed = (await view(wharf, job))
    expect(failed).toMatchObject({ state: 'failed', retry: 1, excName: 'FailedJobError' })
    expect(failed.excMessage).toMatch(/^Max\. retries \(1\) reached: .*timeout/i)

    await clock.advance(4000)
    await wharf.settled()
    expect(await view(wharf, job)).toEqual(failed)
  })
})
