// wharf.explain(uuid): the core's explanation of a job (core/explain.ts), read from committed
// state like job() — a live job from memory, a finished one from history — at the clock's now.

import { toBatchView } from '../core/batch.js'
import { explainFinished, explainJob, type Explanation } from '../core/explain.js'
import type { RegisteredFunctions } from '../core/schedule.js'
import type { State } from '../core/state.js'
import type { Worker } from '../core/workers.js'
import { UnknownJobError } from '../errors.js'
import type { Clock } from '../runtime/clock.js'
import type { Lifecycle } from '../runtime/engine.js'
import { consistent, type ReadSource } from './queries.js'

export type { Explanation, Reason, ReasonKind } from '../core/explain.js'

/** What explaining needs of the engine: committed reads, its clock, whether it dispatches. */
export interface ExplainSource extends ReadSource {
  readonly clock: Clock
  readonly lifecycle: Lifecycle
}

/** Rejects UnknownJobError for a job neither in memory nor in history (saying so when the uuid is
 * a batch's onDone job, stored once its batch is done). */
export function readExplanation(source: ExplainSource, uuid: string, registered: RegisteredFunctions, workers: readonly Worker[] | null): Promise<Explanation> {
  return consistent(
    source,
    (state) => explainJob(state, uuid, source.clock.now(), registered, source.lifecycle === 'running', workers) ?? notStoredYet(state, uuid),
    async (live, history) => {
      if (typeof live === 'object') return live
      const view = await history.get(uuid)
      if (view === undefined) throw new UnknownJobError(uuid, live)
      return explainFinished(view)
    },
  )
}

/** What a uuid reserved by a batch for its onDone job names, for the error; else undefined. */
function notStoredYet(state: State, uuid: string): string | undefined {
  const batch = state.onDoneUuids.get(uuid)
  if (batch === undefined) return undefined
  const view = toBatchView(batch)
  const known = `it is the onDone job of batch ${JSON.stringify(view.name)} (${view.uuid}), stored once that batch is done (${view.done} of ${view.total} jobs done)`
  if (view.state !== 'failed') return known
  // Nothing of a failed batch runs: without someone acting it is never done, nor this job stored.
  return `${known}; the batch is failed (${view.failed} failed, ${view.cancelled} cancelled): nothing of it can run until someone acts on it (requeue or setDone its failed or cancelled jobs, cancel or remove the failed ones)`
}
