// A try run by the testing helpers (no-delay mode, trapJobs' performEnqueuedJobs()): called
// directly, as direct-run.ts calls it, and held to its function's `timeoutMs` as a stored job's
// try is (runner.ts). Without it a handler that always runs past its timeout — failing every try
// in production — passed under test. Past the deadline (clock time: a FakeClock's sleep reaches it
// as drain() would) the signal aborts with a JobTimeoutError and the call rejects with it, whether
// or not the handler ever settles; a handler that returns after its deadline (it blocked the
// event loop) timed out too.

import { JobTimeoutError } from '../errors.js'
import type { Clock } from './clock.js'
import { callDirectly } from './direct-run.js'
import type { Handler, JobContext } from './runner.js'

export async function callAsTry(handler: Handler, context: JobContext, args: unknown[], clock: Clock, name: string, timeoutMs: number | null): Promise<unknown> {
  if (timeoutMs === null) return callDirectly(handler, context, args, clock)
  const deadlineMs = clock.now() + timeoutMs
  const timedOut = (): JobTimeoutError => new JobTimeoutError(`${name} ran longer than its timeoutMs (${timeoutMs} ms)`)
  // Started before the deadline's timer is set, and the first outcome wins, as in the runner: a
  // handler whose sleep ends at its deadline exactly is done, not timed out. Its own promise
  // tells: callDirectly's resolves only once it stops moving the clock, after the deadline fired.
  let settled = false
  const ended = (): void => {
    settled = true
  }
  const tracked = function (this: JobContext, ...given: unknown[]): unknown {
    const value: unknown = handler.apply(this, given)
    if (value instanceof Promise) value.then(ended, ended)
    else ended()
    return value
  }
  const running = Promise.resolve(callDirectly(tracked, context, args, clock))
  let expire: (error: JobTimeoutError) => void = () => {}
  const expired = new Promise<never>((_resolve, reject) => {
    expire = reject
  })
  const timer = clock.setTimer(deadlineMs, () => {
    if (settled) return
    const error = timedOut()
    context.abort(error)
    expire(error)
  })
  try {
    const returned = await Promise.race([running, expired])
    if (clock.now() > deadlineMs) throw timedOut()
    return returned
  } finally {
    clock.clearTimer(timer)
  }
}
