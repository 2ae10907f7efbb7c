// Trapped (trapJobs) or in no-delay mode, a delayed call stores nothing, yet it resolves with a
// JobView whose uuid looks like any other. A test that then asks the Wharf about it (result(),
// explain(), cancel()…) got a bare "no job with uuid …", as if the job had been lost: say why.

import { UnknownJobError } from '../errors.js'

export type StoreMode = 'trapped' | 'no-delay' | 'stored'

const WHY: Record<Exclude<StoreMode, 'stored'>, string> = {
  trapped: 'this Wharf is trapped (trapJobs()), and a delayed call is recorded by the trap, not stored; look at trap.enqueuedJobs, or restore() the trap before delaying jobs meant to be stored',
  'no-delay': 'this Wharf runs in no-delay mode, where a delayed call runs at once and stores nothing; the JobView the call resolved with holds its result',
}

/** `work`, with an UnknownJobError that gives no reason of its own explained by `mode`. */
export async function hintUnstored<T>(mode: StoreMode, work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (mode === 'stored' || !(error instanceof UnknownJobError) || error.detail !== null) throw error
    throw new UnknownJobError(error.uuid, WHY[mode])
  }
}
