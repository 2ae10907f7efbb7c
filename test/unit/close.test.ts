// Proves the lifecycle rules of API.md 0.2: after close() every call is refused with
// WharfClosedError; close({ timeoutMs }) abandons hung handlers (recovered on the next open); and
// a throwing transition listener is reported as a WHARF_LISTENER_ERROR warning, engine unharmed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeClock, Wharf, WharfClosedError, type JobContext, type WharfEvent } from '../../src/index.js'
import { failure } from './helpers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-close-'))
})
afterEach(() => {
  vi.restoreAllMocks()
  rmSync(dir, { recursive: true, force: true })
})

const methods = {
  run(this: JobContext) {
    return 'ok'
  },
}

describe('after close()', () => {
  it('every call throws or rejects with WharfClosedError', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    const model = wharf.model('test.job', methods)
    const job = await model.withDelay().run()
    await wharf.close()
    const calls: [string, () => unknown][] = [
      ['model', () => wharf.model('test.other', methods)],
      ['configure', () => wharf.configure('test.job.run', { channel: 'root' })],
      ['on', () => wharf.on('transition', () => {})],
      ['start', () => wharf.start()],
      ['stop', () => wharf.stop()],
      ['drain', () => wharf.drain()],
      ['settled', () => wharf.settled()],
      ['idle', () => wharf.idle()],
      ['withDelay', () => model.withDelay().run()],
      ['delay', () => model.delayable().run().delay()],
      ['requeue', () => wharf.requeue(job.uuid)],
      ['cancel', () => wharf.cancel(job.uuid)],
      ['setDone', () => wharf.setDone(job.uuid)],
      ['pauseChannel', () => wharf.pauseChannel('root')],
      ['resumeChannel', () => wharf.resumeChannel('root')],
      ['snapshot', () => wharf.snapshot()],
      ['stats', () => wharf.stats()],
      ['job', () => wharf.job(job.uuid)],
      ['jobs', () => wharf.jobs()],
      ['graph', () => wharf.graph(job.uuid)],
      ['explain', () => wharf.explain(job.uuid)],
      ['result', () => wharf.result(job.uuid)],
      ['remove', () => wharf.remove([job.uuid])],
      ['purge', () => wharf.purge({ state: 'done' })],
      ['cron', () => wharf.cron('nightly', '0 2 * * *', model.delayable().run())],
      ['crons', () => wharf.crons()],
      ['removeCron', () => wharf.removeCron('nightly')],
      ['pauseCron', () => wharf.pauseCron('nightly')],
      ['resumeCron', () => wharf.resumeCron('nightly')],
      ['delayMany', () => wharf.delayMany([model.delayable().run()])],
      ['batch', () => wharf.batch('b', [model.delayable().run()])],
      ['batches', () => wharf.batches()],
      ['functionList', () => wharf.functionList()],
      ['relatedAction', () => wharf.relatedAction(job.uuid)],
      ['backup', () => wharf.backup('/nonexistent/wharf-closed-backup')],
      ['cluster', () => wharf.cluster()],
    ]
    for (const [name, call] of calls) {
      const error = await failure(call)
      expect(error, name).toBeInstanceOf(WharfClosedError)
    }
    // The one exception: what the history scrub found can still be asked once closed.
    expect((await wharf.integrity()).status).toBe('off')
  })

  it('close() again does nothing', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    await wharf.close()
    await wharf.close()
    expect(await failure(() => wharf.drain())).toBeInstanceOf(WharfClosedError)
  })
})

/** A handler that hangs until its signal aborts, recording the abort reason. */
function hangingModel(wharf: Wharf, reasons: unknown[]) {
  return wharf.model('test.hang', {
    run(this: JobContext) {
      return new Promise((_resolve, reject) => {
        this.signal.addEventListener('abort', () => {
          reasons.push(this.signal.reason)
          reject(this.signal.reason)
        })
      })
    },
  })
}

describe('close({ timeoutMs })', () => {
  it('aborts a hung handler once timeoutMs passes, closes, and the next open recovers its job', async () => {
    const path = join(dir, 'jobs')
    const clock = new FakeClock()
    const wharf = await Wharf.open({ path, clock })
    const reasons: unknown[] = []
    const job = await hangingModel(wharf, reasons).withDelay().run()
    await wharf.start()
    expect((await wharf.job(job.uuid))?.state).toBe('started')
    let closed = false
    const closing = wharf.close({ timeoutMs: 60_000 }).then(() => (closed = true))
    await clock.advance(59_999)
    expect([closed, reasons.length]).toEqual([false, 0])
    await clock.advance(1)
    await closing
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).toBeInstanceOf(WharfClosedError)

    const reopened = await Wharf.open({ path, clock })
    expect(reopened.openReport.requeued).toBe(1)
    expect((await reopened.job(job.uuid))?.state).toBe('pending')
    reopened.model('test.hang', methods)
    await reopened.start()
    await reopened.drain()
    expect((await reopened.job(job.uuid))?.state).toBe('done')
    await reopened.close()
  })

  it('does not hang on a FakeClock that nobody advances', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    const reasons: unknown[] = []
    await hangingModel(wharf, reasons).withDelay().run()
    await wharf.start()
    await wharf.close({ timeoutMs: 1 })
    expect(reasons).toHaveLength(1)
  })

  it('waits for a handler that finishes in time: its job is done, nothing is aborted', async () => {
    const path = join(dir, 'jobs')
    const clock = new FakeClock()
    const wharf = await Wharf.open({ path, clock })
    let aborted = false
    const model = wharf.model('test.job', {
      async run(this: JobContext) {
        this.signal.addEventListener('abort', () => (aborted = true))
        await this.sleep(1000)
        return 'slept'
      },
    })
    const job = await model.withDelay().run()
    await wharf.start()
    const closing = wharf.close({ timeoutMs: 60_000 })
    await clock.advance(1000)
    await closing
    expect(aborted).toBe(false)
    const reopened = await Wharf.open({ path, clock })
    expect(await reopened.job(job.uuid)).toMatchObject({ state: 'done', result: 'slept' })
    await reopened.close()
  })

  it.each([-1, 1.5, Number.NaN, '10'])('refuses timeoutMs %j with InvalidPropertyError, still open', async (timeoutMs) => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    expect(await failure(() => wharf.close({ timeoutMs: timeoutMs as number }))).toMatchObject({ code: 'INVALID_PROPERTY' })
    await wharf.settled()
    await wharf.close()
  })
})

describe('a transition listener that throws', () => {
  it('is reported with process.emitWarning (WHARF_LISTENER_ERROR); other listeners and jobs go on', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const wharf = await Wharf.open({ clock: new FakeClock() })
    const model = wharf.model('test.job', methods)
    wharf.on('transition', () => {
      throw new Error('listener bug')
    })
    const seen: WharfEvent['type'][] = []
    wharf.on('transition', (event) => seen.push(event.type))
    const job = await model.withDelay().run()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.job(job.uuid))?.state).toBe('done')
    expect(seen).toEqual(['job.created', 'job.enqueued', 'job.started', 'job.done'])
    const listenerWarnings = warn.mock.calls.filter(([, options]) => (options as { code?: string } | undefined)?.code === 'WHARF_LISTENER_ERROR')
    expect(listenerWarnings).toHaveLength(seen.length)
    expect(String(listenerWarnings[0]![0])).toContain('listener bug')
    await wharf.close()
  })
})
