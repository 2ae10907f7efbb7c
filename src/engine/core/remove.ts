// remove() and purge(): jobs deleted for good, by one event (jobs.removed) decided here.
//
// What may go: done, cancelled and failed jobs — never one that waits, runs or may still run.
// Graph rule: a job whose parent or child is live (waiting, pending, enqueued, started) and not
// removed with it is refused. Its child would lose a parent it waits for (and start without it),
// its parent a child it will still release; finished parts of a graph may go on their own.
//
// Where they are decides how (a graph is whole in memory or whole in history, retire.ts):
// - in memory (failed jobs, and finished jobs of a graph with unfinished jobs): they leave
//   memory, their edges with them; a graph left with only finished jobs then goes to history;
// - a whole graph (or a lone job) in history: it leaves history; the shell deletes the views it
//   read, in the same batch, as autovacuum's are;
// - part of a graph in history: the graph comes back first (jobs.restored), the named jobs leave
//   memory, and the rest goes back to history with its edges to them trimmed.

import { fail } from './assert.js'
import type { Command, RemovableState } from './commands.js'
import { EVENT_FORMAT_VERSION as v, type JobsRemoved, type WharfEvent } from './events.js'
import { leaveGraph, retiredGraphOf } from './retire.js'
import { leaveBatch, trimmedEvent } from './batch.js'
import { isLive, stateIndex, type JobRecord, type State } from './state.js'
import type { JobView } from './view.js'
import { InvalidGraphError, JobStateConflictError, UnknownJobError, type WharfError } from '../errors.js'

export type RemoveNote = { error: WharfError } | { removed: number; more: boolean }

/** Jobs and views that remove or purge take, sorted by where they are. */
interface Plan {
  /** In memory now, or once `restore` is applied. */
  memory: string[]
  /** Whole graphs (or lone jobs) that leave history as they are. */
  history: string[]
  /** Graphs of history (or of this batch's outbox) that come back first. */
  restore: JobView[]
  /** The views of `history`: their batches count them out. */
  historyViews: JobView[]
}

/** remove(uuids): every named job, or a refusal and nothing. */
export function decideRemove(state: State, command: Extract<Command, { type: 'remove' }>, nowMs: number, out: WharfEvent[]): RemoveNote {
  const named = new Set(command.uuids)
  const inHistory = byMember(command.history)
  const gone = goneFromHistoryIn(out)
  const live: JobRecord[] = []
  const away = new Map<string, { graph: JobView[]; outbox: boolean }>()
  for (const uuid of named) {
    const job = state.jobs.get(uuid)
    if (job !== undefined) {
      if (isLive(job.state)) return { error: liveRefusal(job.uuid, job.state) }
      live.push(job)
      continue
    }
    const retired = state.retired.has(uuid) ? retiredGraphOf(state, uuid) : undefined
    const graph = retired ?? (gone.has(uuid) ? undefined : inHistory.get(uuid))
    if (graph === undefined) return { error: new UnknownJobError(uuid) }
    away.set(graphKey(graph[0]!), { graph, outbox: retired !== undefined })
  }
  for (const job of live) {
    const neighbour = liveNeighbour(job, named)
    if (neighbour !== null) return { error: graphRefusal(job, neighbour) }
  }
  const plan: Plan = { memory: live.map((job) => job.uuid), history: [], restore: [], historyViews: [] }
  for (const { graph, outbox } of away.values()) {
    const take = graph.filter((view) => named.has(view.uuid))
    // Jobs of the outbox are not in history yet: they come back, and never reach it.
    addGraph(plan, graph, take, outbox)
  }
  emit(plan, nowMs, out)
  return { removed: named.size, more: false }
}

/**
 * purge(): jobs in `state` that entered it before `beforeMs`, at most about `limit` (every
 * matching job of each history graph taken). A job held by the graph rule is left, not refused.
 * `more`: there may be more to purge.
 */
export function decidePurge(state: State, command: Extract<Command, { type: 'purge' }>, nowMs: number, out: WharfEvent[]): RemoveNote {
  const { state: wanted, beforeMs, limit } = command
  const plan: Plan = { memory: [], history: [], restore: [], historyViews: [] }
  let more = command.historyMore === true
  for (const job of state.jobs.values()) {
    if (job.state !== wanted || !enteredBefore(job, beforeMs) || liveNeighbour(job, null) !== null) continue
    if (plan.memory.length === limit) {
      more = true
      break
    }
    plan.memory.push(job.uuid)
  }
  const gone = goneFromHistoryIn(out)
  for (const graph of command.history ?? []) {
    // Changed by a command earlier in this tick (brought back, removed): the next batch reads it again.
    if (graph.some((view) => state.jobs.has(view.uuid) || state.retired.has(view.uuid) || gone.has(view.uuid))) {
      more = true
      continue
    }
    const take = graph.filter((view) => view.state === wanted && enteredBefore(view, beforeMs))
    if (take.length > 0) addGraph(plan, graph, take, false)
  }
  // Finished earlier in this batch (a command or a handler's outcome before this purge): in the
  // outbox, so in neither memory nor the history the shell read; taken as remove() takes them.
  if (purgeOutbox(state, wanted, beforeMs, plan, limit)) more = true
  const removed = plan.memory.length + plan.history.length
  if (removed > 0) emit(plan, nowMs, out)
  return { removed, more }
}

/** Add to `plan` the jobs of the outbox in `wanted` (before `beforeMs`), each graph once, while
 * the jobs taken from memory stay under `limit`; true when it stopped there. */
function purgeOutbox(state: State, wanted: RemovableState, beforeMs: number | null, plan: Plan, limit: number): boolean {
  if (state.retired.size === 0) return false
  const seen = new Set<string>()
  for (const job of state.retired.values()) {
    if (job.state !== wanted || !enteredBefore(job, beforeMs)) continue
    const key = job.graphUuid ?? job.uuid
    if (seen.has(key)) continue
    if (plan.memory.length >= limit) return true
    seen.add(key)
    const graph = retiredGraphOf(state, job.uuid)!
    addGraph(plan, graph, graph.filter((view) => view.state === wanted && enteredBefore(view, beforeMs)), true)
  }
  return false
}

/** Take `take` of `graph` (not in memory): as it is when it is all of it and in history, else
 * by bringing the graph back first. */
function addGraph(plan: Plan, graph: readonly JobView[], take: readonly JobView[], outbox: boolean): void {
  if (take.length === graph.length && !outbox) {
    for (const view of take) plan.history.push(view.uuid)
    plan.historyViews.push(...take)
    return
  }
  plan.restore.push(...graph)
  for (const view of take) plan.memory.push(view.uuid)
}

function emit(plan: Plan, nowMs: number, out: WharfEvent[]): void {
  if (plan.restore.length > 0) out.push({ seq: 0, v, at: nowMs, type: 'jobs.restored', jobs: plan.restore })
  out.push({ seq: 0, v, at: nowMs, type: 'jobs.removed', memory: plan.memory, history: plan.history })
  const trimmed = trimmedEvent(plan.historyViews, nowMs)
  if (trimmed !== null) out.push(trimmed)
}

/** When the job entered its state (failed jobs: failedAt; unknown for one that failed before
 * 0.2 kept the time, and then it is not known to be before anything). */
function enteredBefore(job: JobRecord | JobView, beforeMs: number | null): boolean {
  if (beforeMs === null) return true
  const at = job.state === 'done' ? job.doneAt : job.state === 'cancelled' ? job.cancelledAt : 'failedAt' in job ? job.failedAt : null
  return at !== null && at < beforeMs
}

/** A live parent or child of `job` that is not in `named` (null: none). */
function liveNeighbour(job: JobRecord, named: ReadonlySet<string> | null): JobRecord | null {
  for (const other of job.parents) if (isLive(other.state) && named?.has(other.uuid) !== true) return other
  for (const other of job.children) if (isLive(other.state) && named?.has(other.uuid) !== true) return other
  return null
}

function liveRefusal(uuid: string, state: string): JobStateConflictError {
  return new JobStateConflictError(
    `cannot remove job ${uuid}: it is ${state}; only done, cancelled and failed jobs can be removed (cancel it first, or wait for it to finish); nothing was removed`,
  )
}

function graphRefusal(job: JobRecord, neighbour: JobRecord): InvalidGraphError {
  const role = job.parents.includes(neighbour) ? 'parent' : 'child'
  return new InvalidGraphError(
    `cannot remove job ${job.uuid} (${job.state}): its ${role} ${neighbour.uuid} in graph ${job.graphUuid} is ${neighbour.state}, ` +
      `and a job linked to a live job cannot be removed without it; cancel or finish ${neighbour.uuid} first; nothing was removed`,
  )
}

function graphKey(view: JobView): string {
  return view.graphUuid ?? view.uuid
}

/** Each job of the graphs the shell read, to its graph. */
function byMember(graphs: readonly JobView[][] | undefined): Map<string, JobView[]> {
  const map = new Map<string, JobView[]>()
  for (const graph of graphs ?? []) for (const view of graph) map.set(view.uuid, graph)
  return map
}

/**
 * Jobs this batch so far took out of history or memory (vacuumed or removed). History as the
 * shell read it before the tick still holds them: a later command must not take them again.
 */
export function goneFromHistoryIn(batch: readonly WharfEvent[]): Set<string> {
  const gone = new Set<string>()
  for (const event of batch) {
    if (event.type === 'jobs.vacuumed') for (const uuid of event.uuids) gone.add(uuid)
    else if (event.type === 'jobs.removed') {
      for (const uuid of event.memory) gone.add(uuid)
      for (const uuid of event.history) gone.add(uuid)
    }
  }
  return gone
}

/** evolve's part: the jobs leave memory (edges, counts, graph) or, replayed, the outbox. */
export function applyRemoved(state: State, event: JobsRemoved): void {
  const graphs = new Set<string>()
  for (const uuid of event.memory) {
    const job = state.jobs.get(uuid) ?? fail(`job ${uuid} removed but not in memory`)
    if (job.graphUuid !== null) graphs.add(job.graphUuid)
    forget(state, job)
  }
  // Jobs in history are history's to delete; a replay still holds them in its outbox.
  for (const uuid of event.history) state.retired.delete(uuid)
  for (const graphUuid of graphs) {
    const members = state.graphs.get(graphUuid)
    // Nothing unfinished is left: the graph goes to history (retireFinished, end of the event).
    if (members !== undefined && members.unfinished === 0) state.finishing.push(members.jobs[0]!)
  }
}

function forget(state: State, job: JobRecord): void {
  if (isLive(job.state)) fail(`job ${job.uuid} removed in state ${job.state}`)
  for (const parent of job.parents) {
    if (isLive(parent.state)) fail(`job ${job.uuid} removed under its ${parent.state} parent ${parent.uuid}`)
    parent.removeChild(job)
  }
  for (const child of job.children) {
    if (isLive(child.state)) fail(`job ${job.uuid} removed over its ${child.state} child ${child.uuid}`)
    child.removeParent(job)
    if (job.state !== 'done') child.unfinishedParents--
  }
  leaveGraph(state, job)
  leaveBatch(state, job)
  if (job.state === 'failed') job.channel.failedOwn--
  job.channel.counts[stateIndex(job.state)]!--
  state.counts[stateIndex(job.state)]!--
  state.jobs.delete(job.uuid)
}
