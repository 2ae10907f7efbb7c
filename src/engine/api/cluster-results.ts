// The answer functions a follower's call may name (runtime/cluster-wire.ts): every ResultOf the
// API submits with. A call whose function is missing here cannot go through the inbox, and says
// so; the cluster test submits every public call from a follower.

import type { ResultOf } from '../runtime/engine.js'
import type { ResultTable } from '../runtime/cluster-wire.js'
import { storedBatch } from './batches.js'
import { viewsOfMany } from './delay-many.js'
import { viewOfEnqueued, viewsOfEnqueued, viewsOfGraph } from './enqueue-results.js'
import { removedAndMore } from './removal.js'

export const CLUSTER_RESULTS: ResultTable = new Map<string, ResultOf<unknown>>([
  ['viewOfEnqueued', viewOfEnqueued],
  ['viewsOfEnqueued', viewsOfEnqueued],
  ['viewsOfGraph', viewsOfGraph],
  ['viewsOfMany', viewsOfMany],
  ['removedAndMore', removedAndMore],
  ['storedBatch', storedBatch],
])
