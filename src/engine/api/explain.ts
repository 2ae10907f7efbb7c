// wharf.explain(uuid): the core's explanation of a job (core/explain.ts), read from committed
// state like job() — a live job from memory, a finished one from history — at the clock's now.

import { explainFinished, explainJob, type Explanation } from '../core/explain.js'
import type { RegisteredFunctions } from '../core/schedule.js'
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

/** Rejects UnknownJobError for a job neither in memory nor in history. */
export function readExplanation(source: ExplainSource, uuid: string, registered: RegisteredFunctions): Promise<Explanation> {
  return consistent(
    source,
    (state) => explainJob(state, uuid, source.clock.now(), registered, source.lifecycle === 'running'),
    async (live) => {
      if (live !== undefined) return live
      const view = await source.history.get(uuid)
      if (view === undefined) throw new UnknownJobError(uuid)
      return explainFinished(view)
    },
  )
}
