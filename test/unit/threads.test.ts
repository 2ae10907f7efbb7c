// Proves threaded models (wharf.model(name, { module, threads })): a module's exported functions
// run in worker threads and end each try exactly as the same functions do in-process (results,
// errors, retries, progress); a try past its timeoutMs, or cancelled while it runs, has its
// thread terminated (a busy loop included) and the next job runs on a fresh one; close() ends
// running threads. Real threads and the system clock: every wait is on an event, never a sleep.
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InvalidJobFunctionError, RetryableJobError, Wharf, WharfClosedError, type JobView, type OpenOptions, type WharfEvent } from '../../src/index.js'
import * as jobs from '../fixtures/threads/jobs.js'
import { closedAfterEach, failure, tempLevelLogs } from './helpers.js'

const temp = tempLevelLogs('wharf-threads-')
const opened = closedAfterEach()
const MODULE = new URL('../fixtures/threads/jobs.ts', import.meta.url)

async function open(options: OpenOptions = {}, threads = 2) {
  const wharf = await Wharf.open({ channels: 'root:4', ...options })
  opened.push(wharf)
  const image = await wharf.model<typeof jobs>('image', { module: MODULE, threads })
  return { wharf, image }
}

/** Resolves with the first committed event that `match` accepts. */
function nextEvent(wharf: Wharf, match: (event: WharfEvent) => boolean): Promise<WharfEvent> {
  return new Promise((resolve) => {
    const off = wharf.on('transition', (event) => {
      if (match(event)) {
        off()
        resolve(event)
      }
    })
  })
}

/** What a try's outcome stored, without what differs by nature (ids, times, stacks). */
function outcome(view: JobView | undefined) {
  const { state, result, excName, excMessage, retry, progress } = view!
  return { state, result, excName, excMessage, retry, progress }
}

describe('a threaded model', () => {
  it('has the module exports as methods, registered like an in-process model', async () => {
    const { wharf, image } = await open()
    const names = wharf.functionList().map((f) => [f.name, f.registered])
    expect(names).toContainEqual(['image.square', true])
    expect(names).toContainEqual(['image.reportThenSpin', true])
    expect(names.filter(([name]) => String(name).startsWith('image.'))).toHaveLength(Object.keys(jobs).length)
    expect(typeof image.browse([1]).withDelay().fib).toBe('function')
  })

  it('ends every kind of try as the same functions do in-process', async () => {
    const { wharf, image } = await open()
    const local = wharf.model('local', { ...jobs })
    const calls: [string, unknown[]][] = [
      ['square', [7]],
      ['fib', [20]],
      ['fail', ['bad pixel']],
      ['throwPlain', []],
      ['retry', [0]],
      ['nothing', []],
      ['unserializable', []],
      ['aDate', []],
      ['badProgress', []],
      ['report', []],
      ['sleepFor', [-5]],
      ['sleepFor', ['soon']],
    ]
    const pairs: [string, string, string][] = []
    type Calls = Record<string, (...a: unknown[]) => Promise<JobView>>
    for (const [method, args] of calls) {
      const threaded = await (image.browse([1]).withDelay({ maxRetries: 2 }) as unknown as Calls)[method]!(...args)
      const inProcess = await (local.browse([1]).withDelay({ maxRetries: 2 }) as unknown as Calls)[method]!(...args)
      pairs.push([method, threaded.uuid, inProcess.uuid])
    }
    await wharf.start()
    await wharf.drain()
    for (const [method, threaded, inProcess] of pairs) {
      const expected = outcome(await wharf.job(inProcess))
      expect({ method, ...outcome(await wharf.job(threaded)) }).toEqual({ method, ...expected })
    }
    // The cases that matter, spelled out: the comparison above must not pass by both being wrong.
    const by = async (method: string) => outcome(await wharf.job(pairs.find(([m]) => m === method)![1]))
    expect(await by('square')).toMatchObject({ state: 'done', result: 49 })
    expect(await by('fail')).toMatchObject({ state: 'failed', excName: 'ImageError', excMessage: 'bad pixel' })
    expect(await by('throwPlain')).toMatchObject({ state: 'failed', excName: 'object', excMessage: '{"code":42,"why":"plain"}' })
    expect(await by('retry')).toMatchObject({ state: 'failed', retry: 2, excName: 'FailedJobError', excMessage: 'Max. retries (2) reached: try later' })
    expect(await by('nothing')).toMatchObject({ state: 'done', result: 'nothing to do here' })
    expect(await by('unserializable')).toMatchObject({ state: 'failed', excName: 'NotSerializableError' })
    expect((await by('unserializable')).excMessage).toContain('result.f')
    expect(await by('aDate')).toMatchObject({ state: 'done', result: new Date(Date.UTC(2026, 0, 2)) })
    expect(await by('badProgress')).toMatchObject({ state: 'failed', excName: 'InvalidPropertyError' })
    expect(await by('report')).toMatchObject({ state: 'done', result: 'reported', progress: { fraction: 1, message: 'all' } })
    expect(await by('sleepFor')).toMatchObject({ state: 'failed', excName: 'RangeError' })
  })

  it('gives a handler its records, context and job', async () => {
    const { wharf, image } = await open({ contextKeys: ['lang'] })
    const job = await image.browse([3, 4]).withContext({ lang: 'fr' }).withDelay().about()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.job(job.uuid))!.result).toEqual({ records: [3, 4], context: { lang: 'fr', jobUuid: job.uuid }, uuid: job.uuid, retry: 1 })
  })

  it('runs a direct call in a thread: its result, or its error rebuilt', async () => {
    const { image } = await open()
    expect(await image.browse([1]).square(9)).toBe(81)
    const retrying = await failure(() => image.retry(5))
    expect(retrying).toBeInstanceOf(RetryableJobError)
    expect((retrying as RetryableJobError).seconds).toBe(5)
    const failed = (await failure(() => image.fail('broken'))) as Error
    expect([failed.name, failed.message]).toEqual(['ImageError', 'broken'])
  })

  it('runs in a thread in no-delay mode too', async () => {
    const { image } = await open({ noDelay: true })
    const view = await image.browse([2]).withDelay().report()
    expect([view.state, view.result, view.progress]).toEqual(['done', 'reported', { fraction: 1, message: 'all' }])
  })

  it('sends progress to the main thread while the thread is busy', async () => {
    const { wharf, image } = await open()
    const job = await image.withDelay().reportThenSpin()
    const progressed = nextEvent(wharf, (e) => e.type === 'job.progressed' && e.uuid === job.uuid)
    await wharf.start()
    expect(await progressed).toMatchObject({ fraction: 0.5, message: 'half way' })
    expect((await wharf.job(job.uuid))!.state).toBe('started')
    await wharf.cancel(job.uuid)
    await wharf.idle() // the spinning thread was terminated: its handler settled
  })

  it('times out a busy loop by terminating its thread; the next job runs on a new one', async () => {
    const { wharf, image } = await open({}, 1)
    wharf.configure('image.spin', { timeoutMs: 300 })
    const spinning = await image.withDelay({ maxRetries: 1 }).spin()
    const after = await image.withDelay().square(12)
    await wharf.start()
    await wharf.drain()
    const timedOut = outcome(await wharf.job(spinning.uuid))
    expect(timedOut).toMatchObject({ state: 'failed', retry: 1, excName: 'FailedJobError' })
    expect(timedOut.excMessage).toBe('Max. retries (1) reached: image.spin ran longer than its timeoutMs (300 ms)')
    expect(outcome(await wharf.job(after.uuid))).toMatchObject({ state: 'done', result: 144 })
  })

  it('stops a running try that is cancelled, and keeps its slot until the thread is gone', async () => {
    const { wharf, image } = await open({ channels: 'root:1' }, 2)
    const spinning = await image.withDelay().spin()
    const next = await image.withDelay().square(5)
    const started = nextEvent(wharf, (e) => e.type === 'job.started' && e.uuid === spinning.uuid)
    await wharf.start()
    await started
    expect((await wharf.explain(next.uuid)).reasons.map((r) => r.kind)).toContain('channel-full')
    await wharf.cancel(spinning.uuid)
    await wharf.drain()
    expect((await wharf.job(spinning.uuid))!.state).toBe('cancelled')
    expect(outcome(await wharf.job(next.uuid))).toMatchObject({ state: 'done', result: 25 })
  })

  it('retries a try whose thread ended under it (an error nothing caught), warning, rather than failing it with that error', async () => {
    const { wharf, image } = await open({}, 1)
    const warned: string[] = []
    const onWarning = (warning: Error & { code?: string }) => warning.code === 'WHARF_THREAD_ERROR' && warned.push(warning.message)
    process.on('warning', onWarning)
    try {
      const mark = join(await temp.path(), 'mark')
      await mkdir(dirname(mark), { recursive: true })
      const job = await image.withDelay({ maxRetries: 3 }).endsThreadOnce(mark)
      await wharf.start()
      expect(await wharf.result(job.uuid)).toBe('ran again')
      expect(outcome(await wharf.job(job.uuid))).toMatchObject({ state: 'done', retry: 2 }) // two tries
      await expect.poll(() => warned.join('\n')).toMatch(/ended: Error: stray timer; its try is retried/)
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('counts threaded tries against channel capacity like in-process ones', async () => {
    const { wharf, image } = await open({ channels: 'root:2' }, 4)
    const spinning = [await image.withDelay().spin(), await image.withDelay().spin(), await image.withDelay().spin()]
    await wharf.start()
    await wharf.settled()
    const root = wharf.stats().channels.find((c) => c.name === 'root')!
    expect([root.running, root.started, root.pending]).toEqual([2, 2, 1])
    for (const job of spinning) await wharf.cancel(job.uuid)
    await wharf.idle()
  })

  it('close({ timeoutMs }) terminates running threads; the next open recovers their jobs', async () => {
    const path = await temp.path()
    const first = await Wharf.open({ path })
    const image = await first.model<typeof jobs>('image', { module: MODULE, threads: 1 })
    const job = await image.withDelay().spin()
    const started = nextEvent(first, (e) => e.type === 'job.started')
    await first.start()
    await started
    await first.close({ timeoutMs: 0 })
    const second = await Wharf.open({ path })
    opened.push(second)
    expect(second.openReport.requeued).toBe(1)
    expect((await second.job(job.uuid))!.state).toBe('pending')
  })

  it('close() waits for a threaded try to finish', async () => {
    const { wharf, image } = await open()
    const job = await image.withDelay().fib(25)
    const started = nextEvent(wharf, (e) => e.type === 'job.started')
    await wharf.start()
    await started
    const done = nextEvent(wharf, (e) => e.type === 'job.done' && e.uuid === job.uuid)
    await wharf.close()
    expect(await done).toMatchObject({ result: jobs.fib(25) })
  })

  it('refuses a direct call after close() with WharfClosedError, instead of starting a thread again', async () => {
    const { wharf, image } = await open()
    expect(await image.square(3)).toBe(9)
    await wharf.close()
    expect(await failure(() => image.square(3))).toBeInstanceOf(WharfClosedError)
  })

  it('rejects a direct call still running when close() ends the threads with WharfClosedError', async () => {
    const { wharf, image } = await open()
    const calling = failure(() => image.spin())
    await wharf.close()
    // Before the fix: piscina's own Error('Terminating worker thread').
    const error = await calling
    expect(error).toBeInstanceOf(WharfClosedError)
    expect((error as Error).message).toContain('spin')
  })

  it.each([
    [{ module: MODULE, threads: 0 }, 'threads must be an integer from 1 to 64, got 0'],
    [{ module: MODULE, threads: 1.5 }, 'got 1.5'],
    [{ module: MODULE, threads: 65 }, 'got 65'],
    [{ module: MODULE, threads: '2' }, 'got "2"'],
    [{ module: './jobs.js', threads: 1 }, 'module must be a file URL'],
    [{ module: new URL('https://example.com/jobs.js'), threads: 1 }, 'https://example.com/jobs.js'],
    [{ module: MODULE, threads: 1, thread: 2 }, 'unknown option "thread"'],
  ])('refuses bad options %#', async (options, message) => {
    const wharf = await Wharf.open()
    opened.push(wharf)
    const error = await failure(() => wharf.model('image', options as never))
    expect(error).toBeInstanceOf(InvalidJobFunctionError)
    expect((error as Error).message).toContain(message)
  })

  it('close() ends a model() whose module never finishes loading: it rejects, no thread is left', async () => {
    const wharf = await Wharf.open()
    opened.push(wharf)
    const hanging = new URL('../fixtures/threads/hangs-at-import.mjs', import.meta.url)
    const loading = failure(() => wharf.model('stuck', { module: hanging, threads: 1 }))
    await wharf.close()
    // Bounded: before the fix the load was never ended, so model() never settled (nor did the process exit).
    let bound: ReturnType<typeof setTimeout> | undefined
    const hung = new Promise((resolve) => (bound = setTimeout(() => resolve('still loading'), 10_000)))
    const error = await Promise.race([loading, hung])
    clearTimeout(bound)
    expect(error).toBeInstanceOf(WharfClosedError)
    expect((error as Error).message).toContain(hanging.href)
  })

  it('refuses a model defined again from another module, registering none of its functions', async () => {
    const { wharf } = await open()
    const before = wharf.functionList().map((f) => f.name)
    const other = new URL('../fixtures/threads/more-jobs.mjs', import.meta.url)
    const error = await failure(() => wharf.model('image', { module: other, threads: 1 }))
    expect(error).toBeInstanceOf(InvalidJobFunctionError)
    expect((error as Error).message).toContain('image')
    // Before the fix image.cube (sorted before square) was registered, bound to the refused
    // module's destroyed pool: its jobs started, and failed with WharfClosedError.
    expect(wharf.functionList().map((f) => f.name)).toEqual(before)
  })

  it('refuses a module that cannot load, naming it', async () => {
    const wharf = await Wharf.open()
    opened.push(wharf)
    const missing = new URL('../fixtures/threads/missing.js', import.meta.url)
    const error = await failure(() => wharf.model('image', { module: missing, threads: 1 }))
    expect(error).toBeInstanceOf(InvalidJobFunctionError)
    expect((error as Error).message).toContain(`cannot load ${missing.href}`)
    expect(wharf.functionList()).toEqual([])
  })
})
