// Handlers called directly rather than through the engine: by the testing helpers (no-delay
// mode, trapJobs' performEnqueuedJobs()) and as a recordset's method. The caller awaits such a
// handler, and no drain() watches it, so nobody would advance a FakeClock while it sleeps in
// `this.sleep()`: the test would hang. Here the clock is moved for it as drain() moves it for a stored job's try
// (drain-pace.ts): after one event-loop turn in which the handler is asleep on the clock and the
// next timer did not change, time jumps to that timer. A handler doing anything else (I/O, a
// wait on something other than this.sleep) is never overtaken.

import { FakeClock, type Clock, type SleepWatch } from './clock.js'
import type { Handler, JobContext } from './runner.js'

/** Counts the sleeps of one directly called handler that wait on their timer. */
class SleepCount implements SleepWatch {
  sleeping = 0
  asleep(): void {
    this.sleeping++
  }
  awake(): void {
    this.sleeping--
  }
}

/** Call `handler` with `context` and give what it returns, moving a FakeClock on while the
 * promise it returned waits only on the clock. A synchronous handler's value or throw comes back
 * as is, at once (a recordset's direct call returns it so). */
export function callDirectly(handler: Handler, context: JobContext, args: unknown[], clock: Clock): unknown {
  if (!(clock instanceof FakeClock)) return handler.apply(context, args)
  const sleeps = new SleepCount()
  context.sleepWatch = sleeps
  const value: unknown = handler.apply(context, args)
  if (!(value instanceof Promise)) return value // synchronous (or a thenable: awaited as is)
  return whileAsleep(clock, value, sleeps)
}

async function whileAsleep(clock: FakeClock, returned: Promise<unknown>, sleeps: SleepCount): Promise<unknown> {
  let settled = false
  const ended = (): void => {
    settled = true
  }
  returned.then(ended, ended)
  while (!settled) {
    const next = clock.nextTimerAt()
    await new Promise<void>((resolve) => setImmediate(resolve))
    // An advance already running (the test's own, a drain()'s) fires what is due on its way;
    // the sleep waits for it rather than make a second, interleaved one (which FakeClock refuses).
    if (settled || sleeps.sleeping === 0 || next === null || next !== clock.nextTimerAt() || clock.advancing) continue
    await clock.advanceTo(Math.max(next, clock.now()))
  }
  return returned
}
