// settled(), idle() and drain() of a cluster member (cluster.ts) are about the cluster, as they
// are about the one process embedded: a follower's own calls and handlers are not all they wait
// for, since the jobs they concern start and run wherever the scheduler sends them. They are
// judged on the state the member has (the scheduler's own, or a follower's replica of the batches
// it committed, caught up first with the log's last commit: Cluster.caughtUp) and on the workers
// alive as the member table says at the call (the pool the scheduler dispatches to), by the rules an embedded engine follows: a job that no worker with a free slot
// registered counts as a job without a handler (it waits, pending, and holds nobody back), and a
// cluster where no member takes work (none started, or all stopped) is a stopped engine: nothing
// can start, and drain() does not wait for etas.

import { nextWakeMs, pickNext } from '../core/schedule.js'
import type { State } from '../core/state.js'
import { WorkerChoice, type Worker } from '../core/workers.js'

/** Some job of `state` runs, on any worker: started or enqueued, or a superseded handler that has
 * not settled (each holds a slot on its channel path up to root). */
export function clusterRuns(state: State): boolean {
  return state.root.running > 0 || state.root.held > 0
}

/** The scheduler would start something at `nowMs` (or reach a due eta first): a job of `state`
 * that a worker of `pool` with a free slot registered, and whose channels have room. */
export function clusterCanStart(state: State, pool: readonly Worker[], nowMs: number): boolean {
  if (pool.length === 0) return false
  return pickNext(state, nowMs, new WorkerChoice(state, pool).registered) !== null
}

/** The next instant a job of `state` could start that cannot now (an eta, a throttle's end), for
 * drain(); null when none, or when no member takes work. Crons left out: they never end. */
export function clusterWakeMs(state: State, pool: readonly Worker[], nowMs: number): number | null {
  return pool.length === 0 ? null : nextWakeMs(state, nowMs, false)
}
