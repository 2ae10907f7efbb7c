// explain: why a job is not running — computed with the functions that dispatch (the gates of
// channels.ts, the candidate of schedule.ts, and, when the next tick has work, that tick itself
// played on a copy: lookahead.ts), so an explanation can never disagree with what the scheduler
// does. An empty list for a pending job means: it can start now, and the next tick starts it.
//
// Which reasons, in which order (each one holds at `nowMs`):
// - started or enqueued: `running`; done, cancelled, failed: `finished` (`atMs` is null only for
//   a job that failed before 0.2 kept the time, restored from an older snapshot).
// - waiting for its parents: `parents` alone, naming those failed or cancelled (nothing makes them
//   done but a requeue or a setDone: without one, the job waits for good); pending behind its
//   eta: `eta`, or `retry-wait` when that eta was set by a retry of its latest try. What the
//   channels would say then depends on that time, so nothing else is said.
// - a ready job (eta passed, parents done): `stopped` first when this Wharf is not dispatching,
//   then everything that holds it back, as the scheduler sees it when it picks — due etas
//   promoted first: `no-handler`; on a cluster, `workers-busy` when live workers registered its
//   function but none of them has a free slot (a dispatch gives it to none: workers.ts); the
//   gates of its channel path, root first (`paused`,
//   `channel-full` for the first full level only, `sequential-blocked` by the oldest failed job of
//   a sequential level, `throttled`), each level in that order; `sequential-blocked` by the eta
//   job that keeps a sequential channel's order; and its place in its own channel: `outranked`
//   with the ready jobs that sort before it (those with a handler — a sequential channel counts
//   them all), or `sequential-blocked` by a head without a handler, which keeps a sequential
//   channel's order. A job without a handler gets no place: it is never picked.
// - a ready job that is its channel's next and finds its whole path open, but that the next tick
//   still does not start: jobs of other channels that sort before it take the last slot of a
//   level they share with it (or open that level's throttle window) first. That is
//   `outranked` { channel: that level, ahead: the jobs the tick starts through it }.

import { fail } from './assert.js'
import { GATE_FAILED, GATE_FULL, GATE_OPEN, GATE_PAUSED, GATE_THROTTLED, gateOf, orderKeeperOf, type Gate } from './channels.js'
import type { JobState } from './events.js'
import { lookahead } from './lookahead.js'
import { candidateOf, hasHandler, pickNext, type RegisteredFunctions } from './schedule.js'
import type { ChannelNode, JobRecord, State } from './state.js'
import type { JobView } from './view.js'
import { WorkerChoice, type Worker } from './workers.js'

export type Reason =
  | { kind: 'eta'; untilMs: number }
  | { kind: 'retry-wait'; untilMs: number; retry: number }
  /** `failed`, `cancelled`: those of `waitingFor` in that state, which are not done until someone
   * acts (requeue, or setDone): the job waits for them for good until then. */
  | { kind: 'parents'; waitingFor: string[]; failed: string[]; cancelled: string[] }
  | { kind: 'channel-full'; channel: string; running: number; capacity: number }
  | { kind: 'paused'; channel: string }
  | { kind: 'throttled'; channel: string; untilMs: number }
  | { kind: 'sequential-blocked'; channel: string; by: string }
  | { kind: 'outranked'; channel: string; ahead: number }
  | { kind: 'no-handler'; function: string }
  | { kind: 'workers-busy'; function: string }
  /** This Wharf is not dispatching (before start(), after stop()): nothing starts until it is. */
  | { kind: 'stopped' }
  | { kind: 'running'; sinceMs: number }
  | { kind: 'finished'; state: 'done' | 'cancelled' | 'failed'; atMs: number | null }

export type ReasonKind = Reason['kind']

export interface Explanation {
  state: JobState
  reasons: Reason[]
}

/**
 * The explanation of a job in memory at `nowMs` (undefined: not in memory — finished, in
 * history, or unknown). `registered`: this process's job functions (see schedule.ts);
 * `dispatching`: whether the shell runs ticks that start jobs; `workers`: a cluster's live workers
 * (null embedded), whose free slots say which registered functions a dispatch may start.
 */
export function explainJob(state: State, uuid: string, nowMs: number, registered: RegisteredFunctions, dispatching: boolean, workers: readonly Worker[] | null = null): Explanation | undefined {
  const job = state.jobs.get(uuid)
  if (job === undefined) return undefined
  return { state: job.state, reasons: reasonsOf(state, job, nowMs, registered, dispatching, workers) }
}

/** The explanation of a finished job read from history (done or cancelled). */
export function explainFinished(view: JobView): Explanation {
  if (view.state === 'done') return { state: 'done', reasons: [{ kind: 'finished', state: 'done', atMs: view.doneAt }] }
  if (view.state === 'cancelled') return { state: 'cancelled', reasons: [{ kind: 'finished', state: 'cancelled', atMs: view.cancelledAt }] }
  return fail(`job ${view.uuid} in history in state ${view.state}`)
}

function reasonsOf(state: State, job: JobRecord, nowMs: number, registered: RegisteredFunctions, dispatching: boolean, workers: readonly Worker[] | null): Reason[] {
  switch (job.state) {
    case 'started':
      return [{ kind: 'running', sinceMs: job.startedAt ?? fail(`started job ${job.uuid} has no startedAt`) }]
    case 'enqueued':
      return [{ kind: 'running', sinceMs: job.enqueuedAt ?? fail(`enqueued job ${job.uuid} has no enqueuedAt`) }]
    case 'done':
      return [{ kind: 'finished', state: 'done', atMs: job.doneAt }]
    case 'cancelled':
      return [{ kind: 'finished', state: 'cancelled', atMs: job.cancelledAt }]
    case 'failed':
      return [{ kind: 'finished', state: 'failed', atMs: job.failedAt }]
    case 'wait_dependencies': {
      const waiting = job.parents.filter((p) => p.state !== 'done')
      if (waiting.length === 0) fail(`job ${job.uuid} waits for its parents, and all of them are done`)
      const uuidsIn = (state: JobState): string[] => waiting.filter((p) => p.state === state).map((p) => p.uuid)
      return [{ kind: 'parents', waitingFor: waiting.map((p) => p.uuid), failed: uuidsIn('failed'), cancelled: uuidsIn('cancelled') }]
    }
    case 'pending': {
      if (job.waitingEta && job.eta! > nowMs) return [etaReason(job)]
      const reasons = readyReasons(state, job, nowMs, registered, waitsForSlot(state, job, workers))
      if (!dispatching) reasons.unshift({ kind: 'stopped' })
      return reasons
    }
  }
}

/**
 * `retry-wait` when the eta was set by the postponement of the job's latest try: a job keeps its
 * startedAt when a try is postponed, and loses it when it is requeued or recovered (which start it
 * afresh: its eta is then its own again). A job never starts before its own eta, so no other
 * pending job with a startedAt can wait for an eta still ahead.
 */
function etaReason(job: JobRecord): Reason {
  const untilMs = job.eta!
  return job.startedAt !== null ? { kind: 'retry-wait', untilMs, retry: job.retry } : { kind: 'eta', untilMs }
}

/** A ready (or due) pending job: what holds it back in the dispatch, [] if the next tick starts it. */
function readyReasons(state: State, job: JobRecord, nowMs: number, registered: RegisteredFunctions, slotless: boolean): Reason[] {
  const failedBy = (node: ChannelNode): string => oldestFailed(state, node.name)
  const next = pickNext(state, nowMs, registered)
  if (next === null || next.type === 'job.enqueued') {
    // No eta to promote first: the state is the one the next tick picks from.
    const reasons = gateReasons(state, job, nowMs, registered, slotless, failedBy)
    if (next === null) {
      if (reasons.length === 0) fail(`job ${job.uuid} is free to start, and the scheduler has nothing to do`)
      return reasons
    }
    // A dispatch only closes gates (it takes slots, opens throttle windows): a job held by one
    // now is not started by it. Only its place in its channel may change as the jobs before it
    // start — the tick played on a copy tells.
    if (reasons.some((r) => r.kind !== 'outranked')) return reasons
  }
  let reasons: Reason[] = []
  const tick = lookahead(state, nowMs, registered, (copy) => {
    reasons = gateReasons(copy, copy.jobs.get(job.uuid)!, nowMs, registered, slotless, failedBy)
  })
  // The copy's dispatch counts no worker's slots: a start only fills them, so a job no worker
  // has a slot for now is started by no tick before a handler ends.
  if (slotless) return reasons
  const copied = tick.state.jobs.get(job.uuid)!
  if (tick.started.includes(copied)) return []
  if (reasons.length > 0) return reasons
  return [outrankedOnPath(copied, nowMs, tick.started)]
}

/** What holds a ready job back in `state` (the engine's, or a copy as a dispatch sees it). */
function gateReasons(state: State, job: JobRecord, nowMs: number, registered: RegisteredFunctions, slotless: boolean, failedBy: (node: ChannelNode) => string): Reason[] {
  if (!(job.state === 'pending' && !job.waitingEta)) fail(`job ${job.uuid} is not ready: ${job.state}`)
  const reasons: Reason[] = []
  // A job no worker has a slot for is not picked (workers.ts): like one without a handler, it
  // takes no place in its channel.
  const handled = hasHandler(registered, job) && !slotless
  if (!hasHandler(registered, job)) reasons.push({ kind: 'no-handler', function: `${job.model}.${job.method}` })
  if (slotless) reasons.push({ kind: 'workers-busy', function: `${job.model}.${job.method}` })
  let full = false
  if (state.dispatchDisabled) {
    // 'root:0': queue_job's switch that turns the runner off, shown as the capacity it is.
    const root = state.root
    reasons.push({ kind: 'channel-full', channel: root.name, running: root.running + root.held, capacity: 0 })
    full = true
  }
  const node = job.channel
  for (let i = node.path.length - 1; i >= 0; i--) {
    const level = node.path[i]!
    for (let gate = gateOf(level, nowMs, GATE_OPEN); gate !== GATE_OPEN; gate = gateOf(level, nowMs, gate)) {
      if (gate === GATE_FULL) {
        if (full) continue
        full = true
      }
      reasons.push(levelReason(level, gate, failedBy))
    }
  }
  const keeper = orderKeeperOf(node)
  if (keeper !== null) reasons.push({ kind: 'sequential-blocked', channel: node.name, by: keeper.uuid })
  if (handled) {
    const place = placeReason(node, job, registered)
    if (place !== null) reasons.push(place)
  }
  return reasons
}

function levelReason(level: ChannelNode, gate: Gate, failedBy: (node: ChannelNode) => string): Reason {
  switch (gate) {
    case GATE_PAUSED:
      return { kind: 'paused', channel: level.name }
    case GATE_FULL:
      return { kind: 'channel-full', channel: level.name, running: level.running + level.held, capacity: level.capacity! }
    case GATE_FAILED:
      return { kind: 'sequential-blocked', channel: level.name, by: failedBy(level) }
    case GATE_THROTTLED:
      return { kind: 'throttled', channel: level.name, untilMs: level.throttleUntil }
    case GATE_OPEN:
      return fail(`level ${level.name} is open`)
  }
}

/** On a cluster: some live worker registered the job's function, and every one of them that did
 * runs as many handlers as its `workers` allows (the dispatch offers the job to none). */
function waitsForSlot(state: State, job: JobRecord, workers: readonly Worker[] | null): boolean {
  if (workers === null || !workers.some((w) => w.functions.get(job.model)?.has(job.method) === true)) return false
  return !hasHandler(new WorkerChoice(state, workers).registered, job)
}

/** Why a job with a handler is not the one its channel offers the pick (null: it is). */
function placeReason(node: ChannelNode, job: JobRecord, registered: RegisteredFunctions): Reason | null {
  const candidate = candidateOf(node, registered)
  if (candidate === job) return null
  if (candidate === undefined) return { kind: 'sequential-blocked', channel: node.name, by: node.ready.peek()!.uuid }
  let ahead = 0
  // The jobs the pick takes before this one: all of a sequential channel's, else those it can run.
  node.ready.firstWhere((other) => {
    if (other === job) return true
    if (node.sequential || hasHandler(registered, other)) ahead++
    return false
  })
  return { kind: 'outranked', channel: node.name, ahead }
}

/**
 * The job was free to start when the dispatch began, and is not started when it ends: jobs it
 * started first closed a level of its path (took the last slot, or opened a throttle window).
 * The first such level, root first, with the number of jobs started through it.
 */
function outrankedOnPath(job: JobRecord, nowMs: number, started: readonly JobRecord[]): Reason {
  const path = job.channel.path
  for (let i = path.length - 1; i >= 0; i--) {
    const level = path[i]!
    if (gateOf(level, nowMs, GATE_OPEN) === GATE_OPEN) continue
    const ahead = started.filter((s) => s.channel.path.includes(level)).length
    if (ahead === 0) fail(`level ${level.name} closed for job ${job.uuid} by no job started before it`)
    return { kind: 'outranked', channel: level.name, ahead }
  }
  return fail(`job ${job.uuid} was free to start and the next tick does not start it, with its path open`)
}

/** The failed job that holds a sequential channel: its oldest (by log position). */
function oldestFailed(state: State, channel: string): string {
  let oldest: JobRecord | undefined
  for (const job of state.jobs.values()) {
    if (job.state === 'failed' && job.channel.name === channel && (oldest === undefined || job.seq < oldest.seq)) oldest = job
  }
  return oldest?.uuid ?? fail(`sequential channel ${channel} counts a failed job, and none is in memory`)
}
