// When a tick's callers get their answers: once its batch is acknowledged. With most logs that is
// as soon as the batch is durable. With a two-step log (EventLog.appendDurable: LevelLog's synced
// end-of-log mark in 'fsync' mode) it is once the extra write settles, which the tick's handlers
// and the next batch's write overlap instead of waiting for it. Answers keep the ticks' order: a
// tick with nothing more to wait for is still answered after the ticks before it.

import type { Pending } from './appends.js'
import type { CallQueue } from './submissions.js'

export class TickAnswers {
  /** Settles once the newest deferred tick is answered; null when none waits. */
  private tail: Promise<void> | null = null
  private deferred = 0

  constructor(
    private readonly queue: CallQueue,
    /** The last deferred tick was answered (the engine may have become settled). */
    private readonly drained: () => void,
  ) {}

  /** Ticks committed whose callers still wait for the acknowledgement. */
  get waiting(): number {
    return this.deferred
  }

  /** `tick` is committed: answer its callers now, or once it (and every tick before it) is
   * acknowledged. */
  answer(tick: Pending): void {
    const acknowledged = tick.acknowledged
    if (acknowledged === null && this.deferred === 0) return this.queue.answerTaken(tick.calls, tick.out.notes)
    // Not the calls being decided any more: a failure meanwhile must not refuse them, they are
    // durable and get their answer.
    this.queue.release(tick.calls)
    this.deferred++
    // After the ticks before it (tail), and after its own acknowledgement when it has one.
    const before = this.tail
    const ready = before === null ? acknowledged! : acknowledged === null ? before : before.then(() => acknowledged)
    this.tail = ready.then(() => {
      this.queue.answerTaken(tick.calls, tick.out.notes)
      if (--this.deferred === 0) {
        this.tail = null
        this.drained()
      }
    })
  }
}
