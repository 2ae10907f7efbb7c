// Telemetry: one OpenTelemetry span per try, counters of how tries ended, histograms of wait and
// run time — read from the committed event stream (the same events on('transition') sees), so
// what it reports is what the log holds, and nothing runs per job unless it is configured. The
// application passes its own tracer and meter: Wharf never imports @opentelemetry; the types
// below are the few methods it calls, which @opentelemetry/api's Tracer and Meter have.

import type { WharfEvent } from '../core/events.js'
import type { State } from '../core/state.js'
import type { Logger, Warn } from './warnings.js'

export type AttributeValue = string | number | boolean
export type Attributes = Record<string, AttributeValue>

/** What Wharf calls on an @opentelemetry/api Span. */
export interface SpanLike {
  setAttribute(key: string, value: AttributeValue): unknown
  setStatus(status: { code: number; message?: string }): unknown
  recordException(exception: { name?: string; message: string; stack?: string }, time?: number): unknown
  end(endTime?: number): unknown
}
/** What Wharf calls on an @opentelemetry/api Tracer. */
export interface TracerLike {
  startSpan(name: string, options?: { kind?: number; attributes?: Attributes; startTime?: number }): SpanLike
}
/** What Wharf calls on an @opentelemetry/api Meter. */
export interface MeterLike {
  createCounter(name: string, options?: { description?: string; unit?: string }): { add(value: number, attributes?: Attributes): unknown }
  createHistogram(name: string, options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } }): { record(value: number, attributes?: Attributes): unknown }
}

export interface TelemetryOptions {
  tracer?: TracerLike
  meter?: MeterLike
}

/** How a try ended, as the span's `wharf.job.outcome` and the counter's attribute say it. */
export type TryOutcome = 'done' | 'failed' | 'retried' | 'timeout' | 'cancelled' | 'requeued' | 'set_done' | 'abandoned'

/** Bucket boundaries in seconds, from 5 ms to an hour (an SDK's defaults are for milliseconds). */
const SECONDS = { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] }

// @opentelemetry/api's values, fixed by its specification.
const SPAN_KIND_CONSUMER = 4
const SPAN_STATUS_ERROR = 2

/** A try that started and has not ended yet. */
interface OpenTry {
  fn: string
  channel: string
  startedMs: number
  span: SpanLike | null
  timedOut: boolean
}

type Instruments = {
  outcomes: ReturnType<MeterLike['createCounter']>
  waitS: ReturnType<MeterLike['createHistogram']>
  runS: ReturnType<MeterLike['createHistogram']>
}

type TelemetryPart = 'tracer' | 'meter' | 'logger'

/** What a thrown value says, whatever it is (String() itself can throw). */
function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error)
  } catch {
    return Object.prototype.toString.call(error)
  }
}

export class Telemetry {
  private readonly tries = new Map<string, OpenTry>()
  /** Parts that threw once: reported then, not again. */
  private readonly failing = new Set<TelemetryPart>()
  private readonly tracer: TracerLike | null
  private readonly instruments: Instruments | null

  constructor(
    options: TelemetryOptions,
    private readonly logger: Logger | null,
    /** The engine's state after the event's batch was applied (a started job is in it). */
    private readonly state: () => State,
    private readonly warn: Warn,
  ) {
    this.tracer = options.tracer ?? null
    const meter = options.meter
    // Guarded too: a meter that cannot make its instruments costs the metrics, not open().
    this.instruments =
      meter === undefined
        ? null
        : (this.guard('meter', () => ({
            outcomes: meter.createCounter('wharf.job.outcomes', { description: 'Tries of jobs, by how they ended (wharf.job.outcome)', unit: '{try}' }),
            waitS: meter.createHistogram('wharf.job.wait.duration', { description: 'From when a job could run (created, or its eta) to its start', unit: 's', advice: SECONDS }),
            runS: meter.createHistogram('wharf.job.run.duration', { description: 'From the start of a try to its end', unit: 's', advice: SECONDS }),
          })) ?? null)
  }

  /** A committed event (registered with the engine's listeners). */
  onEvent(event: WharfEvent): void {
    switch (event.type) {
      case 'job.started':
        return this.started(event.uuid, event.at)
      case 'job.done':
        return this.ended(event.uuid, event.manual ? 'set_done' : 'done', 'done', event.at, null)
      case 'job.postponed':
        return this.ended(event.uuid, 'retried', 'pending', event.at, { message: event.message })
      case 'job.failed':
        return this.ended(event.uuid, 'failed', 'failed', event.at, { name: event.excName, message: event.excMessage, stack: event.excInfo })
      case 'job.requeued':
        return this.ended(event.uuid, 'requeued', 'pending', event.at, null)
      case 'job.cancelled':
        for (const uuid of [event.uuid, ...event.cascade]) this.ended(uuid, 'cancelled', 'cancelled', event.at, null)
        return
      default:
        return
    }
  }

  /** A line for the logger (open, close), which, as every call into it, must not throw here. */
  log(level: keyof Logger, fields: object, message: string): void {
    const logger = this.logger
    if (logger !== null) this.guard('logger', () => logger[level](fields, message))
  }

  /** The runner timed this try out: its end (retried or failed) is counted as a timeout. */
  timedOut(uuid: string): void {
    const open = this.tries.get(uuid)
    if (open !== undefined) open.timedOut = true
  }

  /** The engine closed (or failed) with tries still running (close({ timeoutMs }) gave up on
   * them; their jobs are recovered on the next open): their spans end as abandoned. */
  closed(atMs: number): void {
    for (const uuid of [...this.tries.keys()]) this.ended(uuid, 'abandoned', 'started', atMs, null)
  }

  private started(uuid: string, atMs: number): void {
    // A later batch, decided while this one was written, may already have finished the job.
    const job = this.state().jobs.get(uuid)
    if (job === undefined) return
    const fn = `${job.model}.${job.method}`
    const channel = job.channel.name
    const readyMs = Math.max(job.createdAt, job.eta ?? job.createdAt)
    const instruments = this.instruments
    if (instruments !== null) this.guard('meter', () => instruments.waitS.record(Math.max(0, atMs - readyMs) / 1000, { 'wharf.job.function': fn, 'wharf.job.channel': channel }))
    const span = this.guard('tracer', () =>
      this.tracer?.startSpan(`wharf.job ${fn}`, {
        kind: SPAN_KIND_CONSUMER,
        startTime: atMs,
        attributes: {
          'messaging.system': 'wharf',
          'messaging.operation.type': 'process',
          'messaging.destination.name': channel,
          'messaging.message.id': uuid,
          'wharf.job.uuid': uuid,
          'wharf.job.function': fn,
          'wharf.job.channel': channel,
          'wharf.job.retry': job.retry,
        },
      }),
    ) ?? null
    const stale = this.tries.get(uuid)?.span
    if (stale) this.guard('tracer', () => stale.end(atMs)) // never expected: a job starts again only after its try ended
    this.tries.set(uuid, { fn, channel, startedMs: atMs, span, timedOut: false })
  }

  private ended(uuid: string, outcome: TryOutcome, stateAfter: string, atMs: number, exception: { name?: string; message: string; stack?: string } | null): void {
    const open = this.tries.get(uuid)
    if (open === undefined) return // not a running job's event (a cancel of a pending job…)
    this.tries.delete(uuid)
    const ended: TryOutcome = open.timedOut && (outcome === 'retried' || outcome === 'failed') ? 'timeout' : outcome
    const runMs = Math.max(0, atMs - open.startedMs)
    const instruments = this.instruments
    if (instruments !== null) {
      const attributes = { 'wharf.job.function': open.fn, 'wharf.job.channel': open.channel, 'wharf.job.outcome': ended }
      this.guard('meter', () => {
        instruments.outcomes.add(1, attributes)
        instruments.runS.record(runMs / 1000, attributes)
      })
    }
    const span = open.span
    if (span !== null) {
      this.guard('tracer', () => {
        span.setAttribute('wharf.job.outcome', ended)
        span.setAttribute('wharf.job.state', stateAfter)
        if (exception !== null) {
          span.recordException(exception, atMs)
          span.setStatus({ code: SPAN_STATUS_ERROR, message: exception.message })
        }
        span.end(atMs)
      })
    }
    const logger = this.logger
    if (logger !== null) this.guard('logger', () => logger.debug({ uuid, function: open.fn, channel: open.channel, outcome: ended, runMs }, `wharf: ${open.fn} ${ended}`))
  }

  /**
   * Run one call into the application's tracer, meter or logger: one that throws costs its own
   * part only (a failing tracer must not lose the try's metrics), and is reported as the
   * telemetry's, once per part (a broken exporter would otherwise warn on every try).
   */
  private guard<T>(part: TelemetryPart, call: () => T): T | undefined {
    try {
      return call()
    } catch (error) {
      if (!this.failing.has(part)) {
        this.failing.add(part)
        this.warn(`wharf: telemetry: the ${part} threw: ${messageOf(error)} (its later failures are not reported)`, 'WHARF_TELEMETRY_ERROR', error instanceof Error ? error.stack : undefined)
      }
      return undefined
    }
  }
}
