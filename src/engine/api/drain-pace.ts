// When drain() may move a FakeClock on while handlers still run. A handler asleep on the clock
// (JobContext.sleep) needs the jump, and gets it after one event-loop turn. One doing real I/O
// needs real time instead: a jump would fire its timeout, or another job's eta, in the middle of
// its reads. A handler that waits on the clock some other way (its own FakeClock timer, the
// result() of a job with an eta) cannot be told apart from one waiting on a socket, so drain()
// moves the clock for it only when nothing has moved for DRAIN_QUIET_TURNS turns and
// DRAIN_QUIET_MS of real time, and never while an I/O request of this process is in flight, nor
// while a task of a threaded model is in a thread (a FakeClock does not reach threads: such a try
// computes in real time, and a jump would only fire its timeout mid-computation).
//
// A handler counts as asleep while any of its sleeps waits: one that sleeps and reads a file in
// parallel (Promise.all) is taken as waiting on the clock.
//
// Why turns *and* no request in flight, not real time alone: a run of handlers that sleep, or
// wait a few turns, then jumps at the same points whatever the machine's load, so a seeded run
// replays; and a file read that takes long on a busy machine is still waited for.

import { threadTasksInFlight } from '../runtime/thread-tasks.js'

/** Event-loop turns with nothing moving before awake handlers are taken to wait on the clock. */
export const DRAIN_QUIET_TURNS = 10
/** And real milliseconds, at least: a reply on a socket shows no request in flight meanwhile. */
export const DRAIN_QUIET_MS = 20

/** Node's names for its I/O requests in flight (a file operation, a connect, a write, a DNS
 * query), as process.getActiveResourcesInfo() lists them beside handles and timers. */
const REQUEST = /Req|ConnectWrap|WriteWrap|ShutdownWrap|SendWrap/

/** True while this process has an I/O request in flight. */
export function ioInFlight(): boolean {
  return process.getActiveResourcesInfo().some((name) => REQUEST.test(name))
}

export class DrainPace {
  private turns = 0
  private sinceMs: number | null = null
  private seen = ''

  /**
   * drain() saw a turn pass with handlers running and its next timer unchanged: may it jump?
   * `awake`: handlers not asleep on the clock; `moved`: what the engine and its handlers did so
   * far, as a string that changes when anything moved (a settled handler, a committed event).
   */
  mayJump(awake: number, moved: string): boolean {
    if (awake === 0) return this.restart(moved)
    if (moved !== this.seen || ioInFlight() || threadTasksInFlight()) {
      this.restart(moved)
      return false
    }
    const nowMs = performance.now()
    this.sinceMs ??= nowMs
    if (++this.turns < DRAIN_QUIET_TURNS || nowMs - this.sinceMs < DRAIN_QUIET_MS) return false
    return this.restart(moved)
  }

  private restart(moved: string): true {
    this.turns = 0
    this.sinceMs = null
    this.seen = moved
    return true
  }
}
