// The engine's one clock timer: it is set for the next instant anything is due (a job's eta, a
// handler's timeout, a retry after a failed append), never one timer per job.

import { fail } from '../core/assert.js'
import { IDLE_DUE_TICKS_MAX } from '../core/limits.js'
import type { Clock, TimerHandle } from './clock.js'

export class WakeTimer {
  private handle: TimerHandle | null = null

  /** `wake` runs when the timer fires; its promise is what a FakeClock awaits after firing. */
  constructor(
    private readonly clock: Clock,
    private readonly wake: () => Promise<void>,
  ) {}

  /** Set the timer for `dueMs` (null: nothing due). Re-arming for the same instant keeps the
   * timer that is set: most ticks do not move the next wake-up. */
  arm(dueMs: number | null): void {
    if (this.handle !== null && dueMs === this.handle.dueMs) return
    this.clear()
    if (dueMs === null) return
    this.handle = this.clock.setTimer(dueMs, this.fire)
  }

  clear(): void {
    if (this.handle !== null) {
      this.clock.clearTimer(this.handle)
      this.handle = null
    }
  }

  // One callback for every arming: a cleared timer never fires, so the one firing is the current.
  private readonly fire = (): Promise<void> => {
    this.handle = null
    return this.wake()
  }
}

/**
 * The bound on the tick loop's re-scheduling: counts the ticks in a row that appended nothing and
 * left the next wake-up already due. Each such tick re-arms the timer for a past instant, which
 * fires at once and ticks again with nothing changed: a spin that would hang a FakeClock (time
 * never moves) and burn a core on the system clock.
 */
export class SpinGuard {
  private idleDueTicks = 0

  /** A tick appended events: the scheduler made progress. */
  progressed(): void {
    this.idleDueTicks = 0
  }

  /** A tick at `nowMs` appended nothing, with `dueMs` the next wake-up. */
  idle(dueMs: number | null, nowMs: number): void {
    if (dueMs === null || dueMs > nowMs) {
      this.idleDueTicks = 0
      return
    }
    if (++this.idleDueTicks > IDLE_DUE_TICKS_MAX) {
      fail(`${this.idleDueTicks} ticks in a row changed nothing while a wake-up was due (at ${dueMs}, now ${nowMs}): the scheduler spins (IDLE_DUE_TICKS_MAX)`)
    }
  }
}

/** The earlier of two instants, either of which may be absent (null). */
export function earliest(a: number | null, b: number | null): number | null {
  return b !== null && (a === null || b < a) ? b : a
}
