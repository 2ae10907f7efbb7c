// Proves a tracer, meter or logger that throws costs only its own part of the telemetry: a tracer
// failing at startSpan() no longer drops the try's metrics and log line, and the failure is
// reported as the telemetry's (WHARF_TELEMETRY_ERROR, once per part), not as an on('transition')
// listener's — the application may have none.
import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { FakeClock, Wharf, type OpenOptions } from '../../src/index.js'
import { closedAfterEach } from './helpers.js'

const opened = closedAfterEach()
afterEach(() => {
  vi.restoreAllMocks()
})

/** The process warnings spied on were one WHARF_TELEMETRY_ERROR, its message matching `what`. */
function expectOneTelemetryWarning(warn: MockInstance<typeof process.emitWarning>, what: RegExp): void {
  const codes = warn.mock.calls.map(([, options]) => (options as { code?: string } | undefined)?.code)
  expect(codes).toEqual(['WHARF_TELEMETRY_ERROR'])
  expect(String(warn.mock.calls[0]![0])).toMatch(what)
}

/** A Wharf opened with `options` (on a FakeClock) that ran one job to done, still open. */
async function ranOneJob(options: OpenOptions): Promise<Wharf> {
  const wharf = await Wharf.open({ clock: new FakeClock(), ...options })
  opened.push(wharf)
  const mail = wharf.model('mail', { send: () => 'sent' })
  const job = await mail.withDelay().send()
  await wharf.start()
  await wharf.drain()
  expect((await wharf.job(job.uuid))!.state).toBe('done')
  return wharf
}

describe('telemetry whose tracer throws', () => {
  it('still counts each try, logs it, and warns once as a telemetry failure', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const added: unknown[] = []
    const meter = {
      createCounter: () => ({ add: (_: number, attributes: unknown) => void added.push(attributes) }),
      createHistogram: () => ({ record: () => undefined }),
    }
    const tracer = {
      startSpan(): never {
        throw new Error('exporter down')
      },
    }
    const logged: string[] = []
    const logger = { debug: (_: object, message?: string) => void logged.push(message ?? ''), info() {}, warn() {}, error() {} }
    const wharf = await Wharf.open({ clock: new FakeClock(), telemetry: { tracer, meter }, logger })
    opened.push(wharf)
    const mail = wharf.model('mail', { send: () => 'sent' })
    await mail.withDelay().send()
    await mail.withDelay().send()
    await wharf.start()
    await wharf.drain()
    expect(added).toEqual([
      { 'wharf.job.function': 'mail.send', 'wharf.job.channel': 'root', 'wharf.job.outcome': 'done' },
      { 'wharf.job.function': 'mail.send', 'wharf.job.channel': 'root', 'wharf.job.outcome': 'done' },
    ])
    expect(logged).toEqual(['wharf: mail.send done', 'wharf: mail.send done'])
    expectOneTelemetryWarning(warn, /tracer.*exporter down/)
  })

  it('opens, runs and closes with a logger whose info() and error() throw, warning once', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const down = (): never => {
      throw new Error('log shipper down')
    }
    const logged: string[] = []
    const logger = { debug: (_: object, message?: string) => void logged.push(message ?? ''), info: down, warn() {}, error: down }
    // Before the fix, open() threw 'log shipper down' (its 'wharf: opened' line), with the store
    // left open; and close() threw it too (its 'wharf: closed' line), pools not yet destroyed.
    const wharf = await ranOneJob({ logger })
    await wharf.close()
    expect(logged).toEqual(['wharf: mail.send done'])
    expectOneTelemetryWarning(warn, /logger.*log shipper down/)
  })

  it('opens with a meter whose createHistogram() throws: no metrics, spans still, one warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const meter = {
      createCounter: () => ({ add: () => undefined }),
      createHistogram(): never {
        throw new Error('no histograms here')
      },
    }
    const ended: string[] = []
    const span = { setAttribute: () => undefined, setStatus: () => undefined, recordException: () => undefined, end: () => void ended.push('span') }
    const tracer = { startSpan: () => span }
    // Before the fix, open() threw 'no histograms here', with the store left open.
    await ranOneJob({ telemetry: { tracer, meter } })
    expect(ended).toEqual(['span'])
    expectOneTelemetryWarning(warn, /meter.*no histograms here/)
  })
})
