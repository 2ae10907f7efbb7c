// A handler's own calls of the waits that wait for every handler (own-handler.ts tells them):
// idle() and stop() leave the caller's run out (it waits for them, and ends after); drain() and
// close() cannot — what drain() waits for may need this run's slot or result, and close() releases
// the store this run's outcome is written to — so they refuse at once, before anything changes.

import { SelfWaitError } from '../errors.js'
import type { HandlerTry } from '../runtime/runner.js'

/** Refuse `call` (SelfWaitError) when a handler of this Wharf made it; `instead` says what to do. */
export function refuseSelfWait(call: string, callers: readonly HandlerTry[], instead: string): void {
  const caller = callers[0]
  if (caller === undefined) return
  throw new SelfWaitError(call, caller.job.uuid, `${caller.job.model}.${caller.job.method}`, instead)
}

/** How a handler waits for the rest instead of drain() or close() (a cluster's idle()). */
export const SELF_WAIT_INSTEAD = {
  drain: 'await idle() there instead (it does not wait for the run that calls it), or drain() from outside the handler',
  close: 'call it outside the handler\'s await chain (setImmediate(() => void wharf.close())): it then waits for this handler to end',
  clusterIdle: 'in a cluster, call idle() from outside the handler',
} as const
