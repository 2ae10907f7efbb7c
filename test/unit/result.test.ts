// Proves wharf.result(uuid): it resolves with a done job's result (waiting, or at once for a job
// already done in memory or in history), rejects for failed, cancelled and unknown jobs, bad
// arguments and a timeout on the engine's clock, and answers only from committed events. A
// FakeClock drives every wait; handlers wait on gates the tests open.
import { describe, expect, it } from 'vitest'
import {
  chain,
  FakeClock,
  InvalidPropertyError,
  JobCancelledError,
  JobFailedError,
  MemoryLog,
  ResultTimeoutError,
  RetryableJobError,
  UnknownJobError,
  Wharf,
  WharfClosedError,
  type OpenOptions,
} from '../../src/index.js'
import { closedAfterEach, failure, FlakyLog, gate, tempLevelLogs } from './helpers.js'

// Registered in this order so that each test's Wharfs close before their directories go.
const temp = tempLevelLogs('wharf-result-')
const opened = closedAfterEach()

/** A Wharf whose `work(kind)` handler returns `result:<kind>`, fails on 'fail', retries once on
 * 'retry', and waits for `gates[kind]` first when there is one. */
async function setup(options: OpenOptions = {}) {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ clock, ...options })
  opened.push(wharf)
  const gates: Record<string, { wait: Promise<void>; open: () => void }> = {}
  const m = wharf.model('test.result', {
    async work(kind: string) {
      await gates[kind]?.wait
      if (kind === 'fail') throw new TypeError('bad input')
      if (kind === 'retry' && this.job!.retry === 1) throw new RetryableJobError('busy', { seconds: 60 })
      return `result:${kind}`
    },
  })
  return { clock, wharf, m, gates }
}

/** Whether `promise` has settled, as seen after the engine has had its turns. */
function watch(promise: Promise<unknown>): { settled: () => boolean } {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  return { settled: () => settled }
}

const waiting = (wharf: Wharf): number => wharf['results'].size

/** A started job held on its gate, and a result() waiting for it. */
async function waitingForSlow(options: OpenOptions = {}) {
  const rig = await setup(options)
  rig.gates.slow = gate()
  const job = await rig.m.withDelay().work('slow')
  await rig.wharf.start()
  const result = rig.wharf.result(job.uuid)
  const seen = watch(result)
  await rig.wharf.settled()
  return { ...rig, job, result, seen, open: rig.gates.slow.open }
}

describe('result() of a job that finishes later', () => {
  it('resolves with the result once the job is done, not before, and keeps no waiter after', async () => {
    const { wharf, result, seen, open } = await waitingForSlow()
    expect(seen.settled()).toBe(false)
    expect(waiting(wharf)).toBe(1)
    open()
    expect(await result).toBe('result:slow')
    expect(waiting(wharf)).toBe(0)
  })

  it('waits through a retry, and resolves with the try that succeeds', async () => {
    const { wharf, m } = await setup()
    const job = await m.withDelay().work('retry')
    const result = wharf.result(job.uuid)
    await wharf.start()
    await wharf.drain()
    expect(await result).toBe('result:retry')
    expect((await wharf.job(job.uuid))!.retry).toBe(2)
  })

  it('rejects JobFailedError with the excName and excMessage of the failure', async () => {
    const { wharf, m } = await setup()
    const job = await m.withDelay().work('fail')
    const result = failure(() => wharf.result(job.uuid))
    await wharf.start()
    await wharf.idle()
    const error = (await result) as JobFailedError
    expect(error).toBeInstanceOf(JobFailedError)
    expect([error.code, error.uuid, error.excName, error.excMessage]).toEqual(['JOB_FAILED', job.uuid, 'TypeError', 'bad input'])
    expect(error.message).toContain('TypeError: bad input')
  })

  it('rejects JobCancelledError for the job cancelled, and for a child cancelled with it', async () => {
    const { wharf, m } = await setup()
    const parent = m.delayable({ eta: 3600 }).work('parent')
    const child = m.delayable().work('child')
    await chain(parent, child).delay()
    const results = [parent, child].map((d) => failure(() => wharf.result(d.job!.uuid)))
    await wharf.cancel(parent.job!.uuid)
    const errors = (await Promise.all(results)) as JobCancelledError[]
    expect(errors.map((e) => [e.constructor, e.code, e.uuid])).toEqual([
      [JobCancelledError, 'JOB_CANCELLED', parent.job!.uuid],
      [JobCancelledError, 'JOB_CANCELLED', child.job!.uuid],
    ])
    expect(waiting(wharf)).toBe(0)
  })

  it('resolves with the result setDone gives', async () => {
    const { wharf, m } = await setup()
    const job = await m.withDelay({ eta: 3600 }).work('later')
    const result = wharf.result(job.uuid)
    await wharf.setDone(job.uuid)
    expect(await result).toBe('Manually set to done')
  })
})

describe("result() of a batch's onDone job, named before the batch stores it", () => {
  it('waits until the batch is done and its onDone job has run, and resolves with that result', async () => {
    const { wharf, m, gates } = await setup()
    gates.member = gate()
    const batch = await wharf.batch('import', [m.delayable().work('member')], { onDone: m.delayable().work('after') })
    const [onDone] = batch.onDone
    expect(await wharf.job(onDone!)).toBeUndefined() // not stored yet
    const result = wharf.result(onDone!)
    const seen = watch(result)
    await wharf.start()
    await wharf.settled()
    expect(seen.settled()).toBe(false)
    expect(waiting(wharf)).toBe(1)
    gates.member.open()
    expect(await result).toBe('result:after')
    expect(waiting(wharf)).toBe(0)
  })

  it('rejects UnknownJobError once its batch goes without storing it (every job of the batch removed)', async () => {
    const { wharf, m } = await setup()
    const member = m.delayable().work('fail')
    const batch = await wharf.batch('doomed', [member], { onDone: m.delayable().work('after') })
    const [onDone] = batch.onDone
    const result = failure(() => wharf.result(onDone!))
    await wharf.start()
    await wharf.idle()
    expect((await wharf.job(member.job!.uuid))!.state).toBe('failed')
    expect(waiting(wharf)).toBe(1) // a failed batch may still complete once requeued
    await wharf.remove([member.job!.uuid])
    const error = (await result) as UnknownJobError
    expect([error.constructor, error.uuid]).toEqual([UnknownJobError, onDone])
    expect(waiting(wharf)).toBe(0)
  })

  it('times out on timeoutMs like any job not finished', async () => {
    const { clock, wharf, m, gates } = await setup()
    gates.member = gate()
    const batch = await wharf.batch('slow', [m.delayable().work('member')], { onDone: m.delayable().work('after') })
    const result = failure(() => wharf.result(batch.onDone[0]!, { timeoutMs: 1_000 }))
    await wharf.settled()
    await clock.advance(1_000)
    expect(await result).toBeInstanceOf(ResultTimeoutError)
  })
})

describe('result() of a job already finished', () => {
  it('answers at once: done in memory (its graph still runs), done in history, failed, cancelled', async () => {
    const { wharf, m, gates } = await setup({ channels: 'root:4' })
    gates.held = gate()
    const first = m.delayable().work('first')
    await chain(first, m.delayable().work('held')).delay()
    const alone = await m.withDelay().work('alone')
    const failed = await m.withDelay().work('fail')
    const cancelled = await m.withDelay({ eta: 3600 }).work('never')
    await wharf.cancel(cancelled.uuid)
    await wharf.start()
    await wharf.settled()
    // `first` is done but stays in memory with its graph; `alone` went to history.
    expect(wharf.stats().states.done).toBe(2)
    expect(await wharf.result(first.job!.uuid)).toBe('result:first')
    expect(await wharf.result(alone.uuid)).toBe('result:alone')
    expect(await failure(() => wharf.result(failed.uuid))).toBeInstanceOf(JobFailedError)
    expect(await failure(() => wharf.result(cancelled.uuid))).toBeInstanceOf(JobCancelledError)
    // A failed job is final until someone requeues it: result() does not wait for a requeue.
    expect(waiting(wharf)).toBe(0)
    gates.held.open()
  })

  it('answers from the history of a reopened store on disk', async () => {
    const path = await temp.path()
    const before = await setup({ path })
    const job = await before.m.withDelay().work('kept')
    await before.wharf.start()
    await before.wharf.idle()
    await before.wharf.close()
    const after = await setup({ path })
    expect(await after.wharf.result(job.uuid, { timeoutMs: 0 })).toBe('result:kept')
  })
})

describe('result() refuses', () => {
  it('an unknown uuid with UnknownJobError, and bad arguments with InvalidPropertyError naming them', async () => {
    const { wharf } = await setup()
    const unknown = (await failure(() => wharf.result('no-such-job'))) as UnknownJobError
    expect([unknown.constructor, unknown.uuid]).toEqual([UnknownJobError, 'no-such-job'])
    const bad: [() => Promise<unknown>, RegExp][] = [
      [() => wharf.result(''), /result\(\): uuid must be a non-empty string, got ""/],
      [() => wharf.result(42 as unknown as string), /uuid must be a non-empty string, got 42/],
      [() => wharf.result('u', { timeoutMs: -1 }), /result\(\): timeoutMs must be an integer number of ms from 0 to \d+, got -1/],
      [() => wharf.result('u', { timeoutMs: 1.5 }), /got 1\.5/],
      [() => wharf.result('u', { timeout: 5 } as never), /result\(\): unknown option "timeout"; known: timeoutMs/],
      [() => wharf.result('u', null as never), /result\(\): options must be an object, got null/],
    ]
    for (const [call, message] of bad) {
      const error = await failure(call)
      expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message).toMatch(message)
    }
    expect(waiting(wharf)).toBe(0)
  })

  it('with ResultTimeoutError once timeoutMs of clock time passed; the job goes on', async () => {
    const { clock, wharf, m, gates } = await setup()
    gates.slow = gate()
    const job = await m.withDelay().work('slow')
    await wharf.start()
    const timers = clock.pendingTimers()
    const result = failure(() => wharf.result(job.uuid, { timeoutMs: 1000 }))
    const seen = watch(result)
    await clock.advance(999)
    expect(seen.settled()).toBe(false)
    await clock.advance(1)
    const error = (await result) as ResultTimeoutError
    expect([error.constructor, error.code, error.uuid, error.timeoutMs]).toEqual([ResultTimeoutError, 'RESULT_TIMEOUT', job.uuid, 1000])
    expect(error.message).toContain('did not finish within timeoutMs (1000 ms)')
    expect(clock.pendingTimers()).toBe(timers)
    expect(waiting(wharf)).toBe(0)
    expect((await wharf.job(job.uuid))!.state).toBe('started')
    // A wait that ends in time leaves no timer behind either.
    const again = wharf.result(job.uuid, { timeoutMs: 60_000 })
    gates.slow.open()
    expect(await again).toBe('result:slow')
    expect(clock.pendingTimers()).toBe(timers)
  })

  it('with timeoutMs 0: a finished job still answers, an unfinished one times out at once', async () => {
    const { clock, wharf, m } = await setup()
    const later = await m.withDelay({ eta: 3600 }).work('later')
    const result = failure(() => wharf.result(later.uuid, { timeoutMs: 0 }))
    await clock.advance(0)
    expect(await result).toBeInstanceOf(ResultTimeoutError)
    await wharf.setDone(later.uuid)
    expect(await wharf.result(later.uuid, { timeoutMs: 0 })).toBe('Manually set to done')
  })

  it('with WharfClosedError when the Wharf closes first, and every call after close', async () => {
    const { wharf, m } = await setup()
    const job = await m.withDelay({ eta: 3600 }).work('later')
    const result = failure(() => wharf.result(job.uuid))
    await wharf.settled()
    await wharf.close()
    expect(await result).toBeInstanceOf(WharfClosedError)
    expect(await failure(() => wharf.result(job.uuid))).toBeInstanceOf(WharfClosedError)
  })
})

describe('result() answers from committed events only', () => {
  it('a done the log lost resolves nothing; the outcome written again later does', async () => {
    const log = new FlakyLog(new MemoryLog())
    const { clock, wharf, job, result, seen, open } = await waitingForSlow({ log })
    const held = log.hold()
    open()
    await held.entered // the batch with job.done is being written
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(seen.settled()).toBe(false)
    held.release(new Error('disk gone'))
    await wharf.settled()
    expect(seen.settled()).toBe(false)
    expect((await wharf.job(job.uuid))!.state).toBe('started')
    // The parked outcome is decided again after APPEND_RETRY_MS.
    await clock.advance(1000)
    expect(await result).toBe('result:slow')
  })
})
