// Proves telemetry and logging: with the OpenTelemetry SDK's in-memory exporters, one span per
// try (name, attributes, outcome, error status and exception, times from the engine's clock) for
// done, failed, retried, timed-out and cancelled tries, outcome counters and wait/run histograms
// by function and channel; with nothing configured, nothing is recorded and no @opentelemetry
// module is imported; a logger gets Wharf's warnings. A FakeClock makes every duration exact.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { FailedJobError, FakeClock, InvalidPropertyError, RetryableJobError, Wharf, type Logger, type OpenOptions } from '../../src/index.js'
import { closedAfterEach, failure, gate } from './helpers.js'

const opened = closedAfterEach()
const T0 = Date.UTC(2026, 10, 30, 6, 0, 0)

const providers: { shutdown(): Promise<void> }[] = []
afterEach(async () => {
  for (const provider of providers.splice(0)) await provider.shutdown()
})

/** A tracer and a meter of the SDK, exporting to memory (a fresh pair per test). */
function sdk() {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  providers.push(tracerProvider, meterProvider)
  return {
    telemetry: { tracer: tracerProvider.getTracer('test'), meter: meterProvider.getMeter('test') },
    spans: () => spans.getFinishedSpans(),
    /** Every data point of the metric `name`, as [attributes, value]. */
    async metric(name: string) {
      metrics.reset()
      await reader.forceFlush()
      const found = metrics.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).filter((m) => m.descriptor.name === name)
      return (found as (SumMetricData | HistogramMetricData)[]).flatMap((m) => m.dataPoints.map((p) => [p.attributes, p.value]))
    },
  }
}

async function setup(options: OpenOptions = {}) {
  const clock = new FakeClock(T0)
  const wharf = await Wharf.open({ clock, channels: 'root:2,root.images:1', ...options })
  opened.push(wharf)
  const held = gate()
  const image = wharf.model('image', {
    async resize(ms: number) {
      await this.sleep(ms)
      return 'resized'
    },
    refuse() {
      throw new FailedJobError('no such image')
    },
    later() {
      throw new RetryableJobError('busy', { seconds: 10 })
    },
    async held() {
      await held.wait
    },
  })
  wharf.configure('image.resize', { channel: 'root.images', timeoutMs: 1000 })
  return { clock, wharf, image, held }
}

const attributesOf = (span: ReadableSpan) => span.attributes
const millis = (time: [number, number]) => time[0] * 1000 + time[1] / 1e6

describe('telemetry', () => {
  it('makes one span per try: a done try, with its attributes and times', async () => {
    const otel = sdk()
    const { clock, wharf, image } = await setup({ telemetry: otel.telemetry })
    const job = await image.browse([1]).withDelay().resize(300)
    await clock.advance(2000) // waits 2 s for start()
    await wharf.start()
    await wharf.drain()
    const [span, ...more] = otel.spans()
    expect(more).toEqual([])
    expect(span!.name).toBe('wharf.job image.resize')
    expect(attributesOf(span!)).toEqual({
      'messaging.system': 'wharf',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'root.images',
      'messaging.message.id': job.uuid,
      'wharf.job.uuid': job.uuid,
      'wharf.job.function': 'image.resize',
      'wharf.job.channel': 'root.images',
      'wharf.job.retry': 1,
      'wharf.job.outcome': 'done',
      'wharf.job.state': 'done',
    })
    expect(span!.status.code).toBe(0) // unset: a success is not marked
    expect([millis(span!.startTime) - T0, millis(span!.endTime) - T0]).toEqual([2000, 2300])
  })

  it('marks failed, retried and timed-out tries as errors with their exception', async () => {
    const otel = sdk()
    const { wharf, image } = await setup({ telemetry: otel.telemetry })
    const refused = await image.withDelay().refuse()
    const later = await image.withDelay({ maxRetries: 2 }).later()
    const slow = await image.withDelay({ maxRetries: 1 }).resize(5000)
    await wharf.start()
    await wharf.drain()
    const tries = otel.spans().map((s) => ({
      uuid: s.attributes['wharf.job.uuid'],
      retry: s.attributes['wharf.job.retry'],
      outcome: s.attributes['wharf.job.outcome'],
      state: s.attributes['wharf.job.state'],
      status: s.status.code,
      exception: s.events.find((e) => e.name === 'exception')?.attributes?.['exception.message'],
      ms: millis(s.endTime) - millis(s.startTime),
    }))
    expect(tries.filter((t) => t.uuid === refused.uuid)).toEqual([{ uuid: refused.uuid, retry: 1, outcome: 'failed', state: 'failed', status: 2, exception: 'no such image', ms: 0 }])
    expect(tries.filter((t) => t.uuid === later.uuid)).toEqual([
      { uuid: later.uuid, retry: 1, outcome: 'retried', state: 'pending', status: 2, exception: 'busy', ms: 0 },
      { uuid: later.uuid, retry: 2, outcome: 'failed', state: 'failed', status: 2, exception: 'Max. retries (2) reached: busy', ms: 0 },
    ])
    expect(tries.filter((t) => t.uuid === slow.uuid)).toEqual([
      { uuid: slow.uuid, retry: 1, outcome: 'timeout', state: 'failed', status: 2, exception: 'Max. retries (1) reached: image.resize ran longer than its timeoutMs (1000 ms)', ms: 1000 },
    ])
  })

  it('ends the span of a running try that is cancelled', async () => {
    const otel = sdk()
    const { wharf, image, held } = await setup({ telemetry: otel.telemetry })
    const job = await image.withDelay().held()
    await wharf.start()
    await wharf.cancel(job.uuid)
    held.open()
    await wharf.drain()
    expect(otel.spans().map((s) => [s.attributes['wharf.job.outcome'], s.attributes['wharf.job.state'], s.status.code])).toEqual([['cancelled', 'cancelled', 0]])
  })

  it('ends the span of a try abandoned by close({ timeoutMs })', async () => {
    const otel = sdk()
    const { clock, wharf, image } = await setup({ telemetry: otel.telemetry })
    await image.withDelay().held()
    await wharf.start()
    await clock.advance(700)
    await wharf.close({ timeoutMs: 0 })
    const [span] = otel.spans()
    expect([span!.attributes['wharf.job.outcome'], span!.attributes['wharf.job.state'], millis(span!.endTime) - T0]).toEqual(['abandoned', 'started', 700])
  })

  it('counts outcomes and measures wait and run time by function and channel', async () => {
    const otel = sdk()
    const { clock, wharf, image } = await setup({ telemetry: otel.telemetry })
    await image.withDelay().resize(200)
    await image.withDelay().resize(400)
    await image.withDelay({ maxRetries: 2 }).later()
    await clock.advance(1000)
    await wharf.start()
    await wharf.drain()
    const resize = { 'wharf.job.function': 'image.resize', 'wharf.job.channel': 'root.images' }
    const later = { 'wharf.job.function': 'image.later', 'wharf.job.channel': 'root' }
    expect(await otel.metric('wharf.job.outcomes')).toEqual(
      expect.arrayContaining([
        [{ ...resize, 'wharf.job.outcome': 'done' }, 2],
        [{ ...later, 'wharf.job.outcome': 'retried' }, 1],
        [{ ...later, 'wharf.job.outcome': 'failed' }, 1],
      ]),
    )
    expect(await otel.metric('wharf.job.outcomes')).toHaveLength(3)
    // root.images runs one at a time: the second resize waits 1 s, then 0.2 s more.
    const waits = await otel.metric('wharf.job.wait.duration')
    expect(waits).toContainEqual([resize, expect.objectContaining({ count: 2, sum: expect.closeTo(2.2, 9), min: 1, max: 1.2 })])
    // The retry waited for its eta (10 s later), not since its creation.
    expect(waits).toContainEqual([later, expect.objectContaining({ count: 2, sum: 1, min: 0, max: 1 })])
    // Buckets in seconds (the SDK's default ones are for milliseconds).
    expect((waits[0]![1] as { buckets: { boundaries: number[] } }).buckets.boundaries).toContain(0.5)
    const runs = await otel.metric('wharf.job.run.duration')
    expect(runs).toContainEqual([{ ...resize, 'wharf.job.outcome': 'done' }, expect.objectContaining({ count: 2, sum: expect.closeTo(0.6, 9), min: 0.2, max: 0.4 })])
  })

  it('records nothing and imports no @opentelemetry module when not configured', async () => {
    // Even with a provider registered globally, Wharf uses only what it is given: here, nothing.
    const global = new InMemorySpanExporter()
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(global)] }))
    try {
      const { wharf, image } = await setup()
      await image.withDelay().resize(10)
      await image.withDelay().refuse()
      await wharf.start()
      await wharf.drain()
      expect(global.getFinishedSpans()).toEqual([])
    } finally {
      trace.disable()
    }
    const src = join(import.meta.dirname, '../../src')
    // What the package ships (the benches, which load the SDK to measure it, are not shipped).
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.startsWith('bench'))
    expect(files.length).toBeGreaterThan(100)
    expect(files.filter((f) => /from ['"]@opentelemetry|import\(['"]@opentelemetry/.test(readFileSync(join(src, f), 'utf8')))).toEqual([])
  })

  it.each([
    [{ telemetry: { tracer: {} } }, 'telemetry.tracer must be an OpenTelemetry Tracer (with startSpan()'],
    [{ telemetry: { meter: { createCounter() {} } } }, 'telemetry.meter must be an OpenTelemetry Meter'],
    [{ telemetry: { trace: {} } }, 'unknown telemetry option "trace"; known: tracer, meter'],
    [{ telemetry: 'otel' }, 'telemetry must be an object'],
    [{ logger: { info() {}, warn() {} } }, 'logger must have the methods debug, info, warn, error'],
  ])('refuses bad telemetry and logger options %#', async (options, message) => {
    const error = await failure(() => Wharf.open(options as OpenOptions))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain(message)
  })
})

describe('logger', () => {
  function recorder() {
    const lines: [string, object, string | undefined][] = []
    const logger: Logger = {
      debug: (fields, message) => lines.push(['debug', fields, message]),
      info: (fields, message) => lines.push(['info', fields, message]),
      warn: (fields, message) => lines.push(['warn', fields, message]),
      error: (fields, message) => lines.push(['error', fields, message]),
    }
    return { logger, lines }
  }

  it("gets Wharf's warnings, which still go to process warnings too", async () => {
    const { logger, lines } = recorder()
    const warned: { code?: string }[] = []
    const onWarning = (warning: Error & { code?: string }) => warned.push({ code: warning.code })
    process.on('warning', onWarning)
    try {
      const { wharf, image } = await setup({ logger })
      wharf.on('transition', () => {
        throw new Error('listener bug')
      })
      const emitted = new Promise((resolve) => process.once('warning', resolve))
      await image.withDelay().resize(1)
      await emitted
      const warning = lines.find(([level]) => level === 'warn')!
      expect(warning[1]).toMatchObject({ code: 'WHARF_LISTENER_ERROR' })
      expect(warning[2]).toContain('listener threw on event 1 (job.created): listener bug')
      expect(warned).toContainEqual({ code: 'WHARF_LISTENER_ERROR' })
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('logs open, each try at debug level, and close', async () => {
    const { logger, lines } = recorder()
    const { wharf, image } = await setup({ logger })
    const job = await image.withDelay().resize(50)
    await wharf.start()
    await wharf.drain()
    await wharf.close()
    expect(lines.map(([level, , message]) => [level, message])).toEqual([
      ['info', 'wharf: opened'],
      ['debug', 'wharf: image.resize done'],
      ['info', 'wharf: closed'],
    ])
    expect(lines[1]![1]).toEqual({ uuid: job.uuid, function: 'image.resize', channel: 'root.images', outcome: 'done', runMs: 50 })
  })
})
