// The engine never reads time or sets timers itself: it gets one Clock, so a FakeClock can drive a
// whole run deterministically (tests, simulations) and SystemClock is the only code touching
// Date.now/setTimeout.

import { IndexedHeap } from '../core/heap.js'
import { describe } from '../core/describe.js'
import { TIME_MS_MAX } from '../core/limits.js'

export interface TimerHandle {
  readonly dueMs: number
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Call `fire` once at or after `dueMs` (clock time). Returns a handle for clearTimer. */
  setTimer(dueMs: number, fire: () => void | Promise<void>): TimerHandle
  /** Cancel a pending timer; a fired, cleared or unknown handle is a no-op. */
  clearTimer(handle: TimerHandle): void
  /** Resolves after `ms` of clock time (for JobContext.sleep). Rejects with signal.reason if the
   * signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** setTimeout silently turns larger delays into 1 ms, so longer waits are re-armed in steps. */
const TIMEOUT_MAX_MS = 2 ** 31 - 1

function assertDueMs(dueMs: number): void {
  if (typeof dueMs !== 'number' || !Number.isFinite(dueMs)) {
    throw new RangeError(`timer due time must be a finite number of ms since the epoch, got ${String(dueMs)}`)
  }
}

/** Told when a sleep starts waiting on its timer and when it stops (fired or aborted). */
export interface SleepWatch {
  asleep(): void
  awake(): void
}

/**
 * sleep in terms of setTimer/clearTimer, so both clocks share the abort handling. `watch` is told
 * synchronously, inside the timer's fire and the abort: a sleep watched must resolve in exactly
 * as many microtask turns as one that is not (a FakeClock run's interleaving depends on it).
 */
export function sleepOn(clock: Clock, ms: number, signal: AbortSignal | undefined, watch: SleepWatch | null = null): Promise<void> {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    return Promise.reject(new RangeError(`sleep needs a finite, non-negative number of ms, got ${describe(ms)}`))
  }
  // No time is past TIME_MS_MAX: a FakeClock could never get there, and drain() would fail.
  if (clock.now() + ms > TIME_MS_MAX) {
    return Promise.reject(new RangeError(`sleep(${ms}) would wake after TIME_MS_MAX (${TIME_MS_MAX}, the end of year 9999)`))
  }
  if (signal?.aborted === true) return Promise.reject(signal.reason)
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimer(handle)
      watch?.awake()
      reject(signal?.reason)
    }
    const handle = clock.setTimer(clock.now() + ms, () => {
      signal?.removeEventListener('abort', onAbort)
      watch?.awake()
      resolve()
    })
    signal?.addEventListener('abort', onAbort, { once: true })
    watch?.asleep()
  })
}

class SystemTimer implements TimerHandle {
  timeout: ReturnType<typeof setTimeout> | null = null
  constructor(readonly dueMs: number, readonly fire: () => void | Promise<void>) {}
}

/** Wall-clock time. Timers stay ref'd on purpose: a pending eta must keep the process alive. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now()
  }

  setTimer(dueMs: number, fire: () => void | Promise<void>): TimerHandle {
    assertDueMs(dueMs)
    const timer = new SystemTimer(dueMs, fire)
    this.arm(timer)
    return timer
  }

  clearTimer(handle: TimerHandle): void {
    if (!(handle instanceof SystemTimer) || handle.timeout === null) return
    clearTimeout(handle.timeout)
    handle.timeout = null
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal)
  }

  /** Re-checks Date.now() on each wake-up: covers delays beyond TIMEOUT_MAX_MS, setTimeout waking
   * a millisecond early and the wall clock being set back, so `fire` never runs before dueMs.
   * Even a past-due timer goes through setTimeout: `fire` must not run inside setTimer. */
  private arm(timer: SystemTimer): void {
    const delayMs = Math.min(Math.max(timer.dueMs - Date.now(), 0), TIMEOUT_MAX_MS)
    timer.timeout = setTimeout(() => {
      if (Date.now() < timer.dueMs) {
        this.arm(timer)
        return
      }
      timer.timeout = null
      // A rejection is left unhandled on purpose: a failing wake-up is an engine bug.
      void timer.fire()
    }, delayMs)
  }
}

class FakeTimer implements TimerHandle {
  /** Index in the owner's heap; -1 once fired or cleared. */
  heapIndex = -1
  constructor(
    readonly owner: FakeClock,
    readonly dueMs: number,
    readonly seq: number,
    readonly fire: () => void | Promise<void>,
  ) {}
}

/** Orders timers by (dueMs, seq): equal deadlines fire in insertion order. */
function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq)
}

/** Manual time for tests and simulations. Time only moves in advance/advanceTo. */
export class FakeClock implements Clock {
  private nowMs: number
  private seq = 0
  private readonly timers = new IndexedHeap<FakeTimer>(before)
  private readonly settlers = new Set<{ settle: () => Promise<void> }>()
  private advancingNow = false

  /** Default start is 2026-01-01T00:00:00Z so that dates in failures look sane. */
  constructor(startMs: number = Date.UTC(2026, 0, 1)) {
    // Whole ms from the epoch on, as Date.now() gives: a job's ULID cannot hold a fraction or a
    // time before 1970 (every delay would fail, or store a garbled uuid).
    if (!Number.isSafeInteger(startMs) || startMs < 0 || startMs > TIME_MS_MAX) {
      throw new RangeError(`FakeClock start must be a whole number of ms from 0 (1970) to TIME_MS_MAX (${TIME_MS_MAX}, year 9999), got ${describe(startMs)}`)
    }
    this.nowMs = startMs
  }

  now(): number {
    return this.nowMs
  }

  setTimer(dueMs: number, fire: () => void | Promise<void>): TimerHandle {
    assertDueMs(dueMs)
    // Time moves in whole ms (as Date.now() does, and advanceTo requires): a timer due within a
    // ms (a sleep(0.5)) fires at the next whole one, never before its due time.
    const timer = new FakeTimer(this, Math.ceil(dueMs), this.seq++, fire)
    this.timers.push(timer)
    return timer
  }

  clearTimer(handle: TimerHandle): void {
    if (!(handle instanceof FakeTimer) || handle.owner !== this) return
    this.timers.remove(handle)
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal)
  }

  /** Move time forward by ms, firing every timer due on the way; see advanceTo. */
  advance(ms: number): Promise<void> {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      return Promise.reject(new RangeError(`advance needs a whole, non-negative number of ms, got ${describe(ms)}`))
    }
    return this.advanceTo(this.nowMs + ms)
  }

  /** Fire every timer due at or before targetMs in (dueMs, insertion) order, with now() equal to
   * its dueMs (never moving backwards). After each fire, awaits its promise and then every
   * attached settler, so work a timer triggers — including new timers inside the window — is
   * finished before the next one. Finally sets now to targetMs and runs the settlers once more. */
  async advanceTo(targetMs: number): Promise<void> {
    if (!Number.isSafeInteger(targetMs)) {
      throw new RangeError(`advanceTo needs a whole time in ms, got ${describe(targetMs)}`)
    }
    if (targetMs < this.nowMs) {
      throw new RangeError(`cannot move the clock back: advanceTo(${targetMs}) is before now (${this.nowMs})`)
    }
    // Past it, a new job's ULID cannot hold the time, and no eta is stored there (limits.ts).
    if (targetMs > TIME_MS_MAX) throw new RangeError(`advanceTo(${targetMs}) is after TIME_MS_MAX (${TIME_MS_MAX}, the end of year 9999)`)
    // Two interleaved advances would fire timers out of order; make the mistake loud.
    if (this.advancingNow) throw new Error('FakeClock.advance is already running; await it before advancing again')
    this.advancingNow = true
    try {
      // Let work already queued at the current instant finish first (a handler that just
      // failed, a command just made): it happens now, not at the target.
      await this.settle()
      for (;;) {
        const next = this.timers.peek()
        if (next !== undefined && next.dueMs <= targetMs) {
          this.timers.pop()
          this.nowMs = Math.max(this.nowMs, next.dueMs)
          await next.fire()
          await this.settle()
          continue
        }
        this.nowMs = targetMs
        await this.settle()
        // Settlers may have set timers due now; fire them before returning.
        const due = this.timers.peek()
        if (due === undefined || due.dueMs > targetMs) break
      }
    } finally {
      this.advancingNow = false
    }
  }

  /** An advance() or advanceTo() is running: another must wait for it. */
  get advancing(): boolean {
    return this.advancingNow
  }

  /** Due time of the earliest pending timer, or null. */
  nextTimerAt(): number | null {
    return this.timers.peek()?.dueMs ?? null
  }

  /** Number of pending timers. */
  pendingTimers(): number {
    return this.timers.size
  }

  /** Register something to await after each fired timer (the engine attaches its settled());
   * returns a detach function. */
  attach(settle: () => Promise<void>): () => void {
    const entry = { settle }
    this.settlers.add(entry)
    return () => {
      this.settlers.delete(entry)
    }
  }

  /** Settlers run one after another, in attach order, for a deterministic interleaving. */
  private async settle(): Promise<void> {
    for (const entry of [...this.settlers]) await entry.settle()
  }
}
