// wharf.result(uuid): a job's outcome, from committed state only. A caller's waiter is registered
// before the job is read, so an outcome committed between the two reaches it as an event; the
// read answers at once for a job already finished (live or in history), and the committed event
// stream (the engine's on('transition') listeners, in log order) answers the others. Nothing is
// kept per job nobody waits for: waiters live in a Map by uuid while they wait, and the engine is
// listened to only while the Map is not empty.
//
// A job that fails rejects its waiters at once, as queue_job treats a failed job: final until a
// person requeues it (a later requeue and success is seen by a new call). A retry (postponed) is
// not an outcome: result() waits through it.
//
// A batch's onDone uuid (batch() returns it) names a job stored only when the batch is done: it
// is waited for like any job not finished yet, and refused as unknown only if its batch goes
// without storing it (every job of the batch removed).

import { FOUND_DEAD, type WharfEvent } from '../core/events.js'
import type { JobView } from '../core/view.js'
import { JobCancelledError, JobFailedError, ResultTimeoutError, UnknownJobError } from '../errors.js'
import type { Clock, TimerHandle } from '../runtime/clock.js'
import { readJob, type ReadSource } from './queries.js'

/** What waiting for results needs of the engine. */
export interface ResultSource extends ReadSource {
  readonly clock: Clock
  onEvent(listener: (event: WharfEvent) => void): () => void
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

class Waiter {
  settled = false
  /** The first read of the job has answered. */
  read = false
  /** timeoutMs passed before the first read answered: that read decides (see expire). */
  expired = false
  /** The uuid is a batch's onDone job, not stored yet. */
  reserved = false
  timer: TimerHandle | null = null
  constructor(
    readonly uuid: string,
    readonly timeoutMs: number | null,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

export class ResultWaiters {
  private readonly waiting = new Map<string, Waiter[]>()
  private stopListening: (() => void) | null = null

  constructor(private readonly source: ResultSource) {}

  /** How many callers wait (tests: nothing is left behind once they are answered). */
  get size(): number {
    let n = 0
    for (const waiters of this.waiting.values()) n += waiters.length
    return n
  }

  /** The job's result once it is done; rejects once it failed or was cancelled, or `timeoutMs`
   * of clock time passed first (null: no limit). */
  wait(uuid: string, timeoutMs: number | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const waiter = new Waiter(uuid, timeoutMs, resolve, reject)
      this.add(waiter)
      const clock = this.source.clock
      if (timeoutMs !== null) waiter.timer = clock.setTimer(clock.now() + timeoutMs, () => this.expire(waiter))
      readJob(this.source, uuid).then(
        (view) => (view === undefined ? this.readUnstored(waiter) : this.answerRead(waiter, view)),
        (error: unknown) => this.settle(waiter, { ok: false, error }),
      )
    })
  }

  /** Refuse every waiter (the engine closed or failed): nothing will finish their jobs now. */
  refuseAll(error: unknown): void {
    for (const waiters of [...this.waiting.values()]) for (const waiter of [...waiters]) this.settle(waiter, { ok: false, error })
  }

  /** A job the read did not find: a batch's onDone job not stored yet is waited for. */
  private readUnstored(waiter: Waiter): void {
    this.stillAwaited(waiter.uuid).then(
      (awaited) => {
        waiter.reserved = awaited
        this.answerRead(waiter, awaited ? null : undefined)
      },
      (error: unknown) => this.settle(waiter, { ok: false, error }),
    )
  }

  /** Reserved by a batch for its onDone jobs, or stored since the job was read (in memory now:
   * its outcome comes as an event; finished and gone to history since, that event has come
   * already, since waiters are registered before they read). */
  private stillAwaited(uuid: string): Promise<boolean> {
    return this.source.read((state) => state.onDoneUuids.has(uuid) || state.jobs.has(uuid))
  }

  /** `view` null: not stored yet, awaited; undefined: unknown. */
  private answerRead(waiter: Waiter, view: JobView | null | undefined): void {
    waiter.read = true
    if (waiter.settled) return
    if (view === undefined) return this.settle(waiter, { ok: false, error: new UnknownJobError(waiter.uuid) })
    const outcome = view === null ? null : outcomeOfView(view)
    if (outcome !== null) this.settle(waiter, outcome)
    else if (waiter.expired) this.settle(waiter, timedOut(waiter))
  }

  /** timeoutMs passed. Before the first read answered, a job already finished must still win
   * (the read of history can outlast a short timeout), so that read decides. */
  private expire(waiter: Waiter): void {
    waiter.timer = null
    if (waiter.settled) return
    if (waiter.read) this.settle(waiter, timedOut(waiter))
    else waiter.expired = true
  }

  private add(waiter: Waiter): void {
    const waiters = this.waiting.get(waiter.uuid)
    if (waiters === undefined) this.waiting.set(waiter.uuid, [waiter])
    else waiters.push(waiter)
    this.stopListening ??= this.source.onEvent(this.onEvent)
  }

  private settle(waiter: Waiter, outcome: Outcome): void {
    if (waiter.settled) return
    waiter.settled = true
    if (waiter.timer !== null) this.source.clock.clearTimer(waiter.timer)
    waiter.timer = null
    const waiters = this.waiting.get(waiter.uuid)!
    waiters.splice(waiters.indexOf(waiter), 1)
    if (waiters.length === 0) this.waiting.delete(waiter.uuid)
    if (this.waiting.size === 0 && this.stopListening !== null) {
      this.stopListening()
      this.stopListening = null
    }
    if (outcome.ok) waiter.resolve(outcome.value)
    else waiter.reject(outcome.error)
  }

  /** Each committed event that ends a job, for whoever waits for that job. */
  private readonly onEvent = (event: WharfEvent): void => {
    switch (event.type) {
      case 'job.done':
        if (this.waiting.has(event.uuid)) this.settleAll(event.uuid, { ok: true, value: event.result })
        break
      case 'job.failed':
        if (this.waiting.has(event.uuid)) this.settleAll(event.uuid, { ok: false, error: new JobFailedError(event.uuid, event.excName, event.excMessage) })
        break
      case 'job.recovered':
        if (event.dead && this.waiting.has(event.uuid)) {
          this.settleAll(event.uuid, { ok: false, error: new JobFailedError(event.uuid, FOUND_DEAD.excName, FOUND_DEAD.excMessage) })
        }
        break
      case 'job.cancelled':
        for (const uuid of [event.uuid, ...event.cascade]) {
          if (this.waiting.has(uuid)) this.settleAll(uuid, { ok: false, error: new JobCancelledError(uuid) })
        }
        break
      case 'jobs.removed':
      case 'jobs.vacuumed':
      case 'batches.trimmed':
        this.recheckReserved() // a batch whose every job went takes its onDone jobs with it
        break
      default:
        break // no other event ends a job
    }
  }

  /** Waiters for onDone jobs whose batch went without storing them: unknown now. */
  private recheckReserved(): void {
    for (const waiters of this.waiting.values()) {
      for (const waiter of waiters) {
        if (!waiter.reserved || waiter.settled) continue
        // Each event checks again, even with a check in flight: that one may have read before it.
        this.stillAwaited(waiter.uuid).then(
          (awaited) => (awaited ? undefined : this.settle(waiter, { ok: false, error: new UnknownJobError(waiter.uuid) })),
          (error: unknown) => this.settle(waiter, { ok: false, error }),
        )
      }
    }
  }

  private settleAll(uuid: string, outcome: Outcome): void {
    for (const waiter of [...this.waiting.get(uuid)!]) this.settle(waiter, outcome)
  }
}

/** A finished job's outcome; null while it may still finish. */
function outcomeOfView(view: JobView): Outcome | null {
  switch (view.state) {
    case 'done':
      return { ok: true, value: view.result }
    case 'failed':
      return { ok: false, error: new JobFailedError(view.uuid, view.excName ?? 'Error', view.excMessage ?? '') }
    case 'cancelled':
      return { ok: false, error: new JobCancelledError(view.uuid) }
    default:
      return null
  }
}

function timedOut(waiter: Waiter): Outcome {
  return { ok: false, error: new ResultTimeoutError(waiter.uuid, waiter.timeoutMs!) }
}
