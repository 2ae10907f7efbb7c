// close() without timeoutMs on a FakeClock. close() waits for the running handlers, and a handler
// asleep in `this.sleep` on a FakeClock wakes only when somebody advances that clock: in a test
// that closes without draining first (an afterEach), nobody ever will, and the suite hangs. close()
// does not move the clock itself — it is not drain(): time passing would fire other Wharfs' timers
// on the same clock, and a handler that sleeps in a loop would never end. It aborts them instead,
// as close({ timeoutMs }) does when its time is up: their jobs stay started in the log and the next
// open recovers them. It does so at the point where drain() would have moved the clock for them
// (DrainPace: for handlers asleep in this.sleep, or after a quiet spell for those waiting on the
// clock another way), once nothing has moved for a few turns, and never while somebody advances
// the clock — a test that calls `clock.advance()` after `close()` still lets its handlers finish.
//
// stop() and idle() abort nothing (they are not a shutdown: the test may still advance the clock),
// but at that same point they warn (WHARF_FAKE_CLOCK_WAIT) once, so that a wait that would last
// for ever says why instead of hanging silently.

import { DRAIN_QUIET_TURNS, DrainPace } from './drain-pace.js'
import type { FakeClock } from '../runtime/clock.js'
import type { Engine } from '../runtime/engine.js'

/** Until `done()`, watch the engine's running handlers each event-loop turn; once they can only
 * wake by `clock` moving and nothing has moved it for DRAIN_QUIET_TURNS turns (a drain() of
 * another Wharf on the same clock goes a turn or two between its advances), call `stuck()`
 * (once) and return. */
export async function whenStuck(clock: FakeClock, engine: Engine, done: () => boolean, stuck: () => void): Promise<void> {
  const pace = new DrainPace()
  let seen = ''
  let quiet = 0
  while (!done()) {
    await new Promise<void>((resolve) => setImmediate(resolve))
    if (done()) return
    const { runningHandlers, awakeHandlers, state } = engine
    const next = clock.nextTimerAt()
    // The clock's time too: a test that advances it in steps short of the handler's timer is
    // moving it for that handler all the same (its timer stays the next one meanwhile).
    const moved = `${runningHandlers} ${awakeHandlers} ${state.seq} ${next} ${clock.now()}`
    if (runningHandlers === 0 || next === null || clock.advancing || moved !== seen) {
      seen = moved
      quiet = 0
      continue
    }
    if (++quiet >= DRAIN_QUIET_TURNS && pace.mayJump(awakeHandlers, moved)) {
      stuck()
      return
    }
  }
}

/** Await `waiting` (which waits for the engine's handlers), calling `stuck()` once if they get
 * stuck meanwhile (whenStuck). */
export async function watchedWait(clock: FakeClock, engine: Engine, waiting: Promise<void>, stuck: () => void): Promise<void> {
  let done = false
  // Not awaited: it ends on its next turn once `done`, and the wait keeps its timing.
  void whenStuck(clock, engine, () => done, stuck)
  try {
    await waiting
  } finally {
    done = true
  }
}
