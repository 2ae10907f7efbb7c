// close() without timeoutMs on a FakeClock. close() waits for the running handlers, and a handler
// asleep in `this.sleep` on a FakeClock wakes only when somebody advances that clock: in a test
// that closes without draining first (an afterEach), nobody ever will, and the suite hangs. close()
// does not move the clock itself — it is not drain(): time passing would fire other Wharfs' timers
// on the same clock, and a handler that sleeps in a loop would never end. It aborts them instead,
// as close({ timeoutMs }) does when its time is up: their jobs stay started in the log and the next
// open recovers them. It does so at the point where drain() would have moved the clock for them
// (DrainPace: at once for handlers asleep in this.sleep, after a quiet spell for those waiting on
// the clock another way), and never while somebody advances the clock — a test that calls
// `clock.advance()` after `close()` still lets its handlers finish.

import { DrainPace } from './drain-pace.js'
import type { FakeClock } from '../runtime/clock.js'
import type { Engine } from '../runtime/engine.js'

/** Until `done()`, watch the engine's running handlers each event-loop turn; once they can only
 * wake by `clock` moving and nothing moves it, call `abandon()` (once) and return. */
export async function abandonWhenStuck(clock: FakeClock, engine: Engine, done: () => boolean, abandon: () => void): Promise<void> {
  const pace = new DrainPace()
  while (!done()) {
    const next = clock.nextTimerAt()
    await new Promise<void>((resolve) => setImmediate(resolve))
    if (done() || engine.runningHandlers === 0 || next === null || next !== clock.nextTimerAt() || clock.advancing) continue
    const { runningHandlers, awakeHandlers, state } = engine
    if (pace.mayJump(awakeHandlers, `${runningHandlers} ${awakeHandlers} ${state.seq}`)) {
      abandon()
      return
    }
  }
}
