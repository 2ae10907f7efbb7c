// A tick that would only record finished jobs may wait a little for the next call, so that both
// go in one append. On a log whose every append is a round trip and a commit flush on a server
// (PgLog), a job enqueued and awaited by a producer costs two appends otherwise — its enqueue
// (created, enqueued, started: the caller's answer) and its outcome — and each append is also a
// notification that every member of the cluster reads and applies. Recording the outcome with the
// next enqueue halves the appends, the flushes on the scheduler's one ordered chain of commits,
// and the batches every follower applies (BENCH_ONLY=cluster, produce + consume).
//
// Waiting changes nothing that the tick would decide, only when its batch is written: it waits
// only while what it would decide cannot start or answer anything — every command waiting is a
// handler's success, of a job with no children and in no batch (its end frees no job), and no
// job waits for a slot (a slot freed starts nothing) — and at most `lingerMs`.
// Anything else (a call, a timer, start(), a read or snapshot that needs the log) ticks at once,
// with the outcomes, and so does anyone waiting for the engine to settle (idle(), stop()).
//
// The wait is in real time, not the engine's clock: it is about how far apart messages come over
// the network, and a FakeClock that a test never moves would hold the outcome, and whoever waits
// for the job's result, for ever. What the engine decides does not depend on it, only how its
// batches are grouped.

import type { Command } from '../core/commands.js'
import type { State } from '../core/state.js'
import type { Submission } from './submissions.js'

export class TickLinger {
  private timer: ReturnType<typeof setTimeout> | null = null
  /** The wait is over: the next tick goes at once, whatever it holds. */
  private expired = false
  /** How many of the queued outcomes and calls were found quiet while waiting: the queues only
   * grow until the tick, and the jobs they name do not change, so each is looked at once. */
  private quietOutcomes = 0
  private quietCalls = 0

  constructor(
    /** 0: never wait (embedded logs: an append costs no round trip). */
    private readonly lingerMs: number,
    /** Called when the wait ends without a tick: schedule one. */
    private readonly expire: () => void,
  ) {}

  get enabled(): boolean {
    return this.lingerMs > 0
  }

  /**
   * Whether the tick about to be scheduled may wait (arming the wake-up that ends the wait);
   * false clears the wait: the tick goes now.
   */
  waits(state: State, outcomes: readonly Command[], calls: readonly Submission[], urgent: boolean): boolean {
    if (this.lingerMs === 0) return false
    if (urgent || this.expired || outcomes.length + calls.length === 0 || state.readyChannels.size > 0 || !this.allQuiet(state, outcomes, calls)) {
      this.clear()
      return false
    }
    if (this.timer === null) this.timer = setTimeout(this.onExpired, this.lingerMs)
    return true
  }

  /** Every command waiting records a handler's success that frees nothing a tick could start
   * (a worker's outcome comes through the inbox as a call that nobody awaits). */
  private allQuiet(state: State, outcomes: readonly Command[], calls: readonly Submission[]): boolean {
    for (; this.quietOutcomes < outcomes.length; this.quietOutcomes++) if (!quietFinish(state, outcomes[this.quietOutcomes]!)) return false
    for (; this.quietCalls < calls.length; this.quietCalls++) if (!quietFinish(state, calls[this.quietCalls]!.command)) return false
    return true
  }

  /** A tick is running: the next one waits again if it may. */
  ticked(): void {
    this.clear()
    this.expired = false
  }

  /** Someone waits for the engine to settle (idle(), stop()): a tick that waits goes now. */
  hurry(): void {
    if (this.timer === null) return
    this.clear()
    this.expired = true
    this.expire()
  }

  /** The wait ends (the engine closes or fails, or the tick goes): no wake-up is left behind,
   * and the next wait looks at the queues afresh. */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.quietOutcomes = this.quietCalls = 0
  }

  private readonly onExpired = (): void => {
    this.timer = null
    this.expired = true
    this.expire()
  }
}

function quietFinish(state: State, command: Command): boolean {
  if (command.type !== 'finish' || command.outcome.kind !== 'returned') return false
  const job = state.jobs.get(command.uuid)
  return job !== undefined && job.children.length === 0 && job.batch === null
}
