// evolve(state, event): the only reducer. Live operation and replay both run exactly this code,
// so `fold(log)` is the live state by construction (test/property checks it anyway). It mutates
// `state` in place for speed; nothing else may.

import { assertNever, fail } from './assert.js'
import { ensureChannel } from './channels.js'
import { FOUND_DEAD, type WharfEvent } from './events.js'
import { JobRecord, countRunOn, isRunning, stateIndex, type State, type SupersededRun } from './state.js'
import { joinGraph, leaveGraph, restoreJobs, retiredGraphOf, retireFinished } from './retire.js'
import { enterInitial, linkParents, promoteEta, transition } from './transition.js'
import { frozenProgress } from './view.js'
import { nodeOfWorker } from './workers.js'
import { applyRemoved } from './remove.js'
import { applyCron, isCronEvent } from './cron.js'
import { applyBatchEvent, leaveBatch } from './batch.js'

type Ev<T extends WharfEvent['type']> = Extract<WharfEvent, { type: T }>

export function evolve(state: State, event: WharfEvent): State {
  if (!(event.seq === state.seq + 1)) fail(`event seq ${event.seq} does not follow ${state.seq}`)
  state.seq = event.seq
  switch (event.type) {
    case 'job.created':
      created(state, event)
      break
    case 'job.eta_reached':
      promoteEta(state, jobOf(state, event.uuid))
      break
    case 'job.enqueued':
      enqueued(state, event)
      break
    case 'job.started':
      started(state, event)
      break
    case 'job.done':
      done(state, event)
      break
    case 'job.postponed':
      postponed(state, event)
      break
    case 'job.failed':
      failed(state, event)
      break
    case 'job.cancelled':
      cancelled(state, event)
      break
    case 'job.requeued':
      requeued(state, event)
      break
    case 'job.joined_graph':
      joinedGraph(state, event)
      break
    case 'job.recovered':
      recovered(state, event)
      break
    case 'job.run_released':
      release(state, event.uuid, event.run)
      break
    case 'jobs.restored':
      restoreJobs(state, event.jobs, event.seq)
      break
    case 'jobs.vacuumed':
      vacuumed(state, event)
      break
    case 'jobs.removed':
      applyRemoved(state, event)
      break
    case 'channel.paused':
      channelPaused(state, event)
      break
    case 'channel.resumed':
      channelResumed(state, event)
      break
    case 'job.progressed':
      progressed(state, event)
      break
    default:
      // Crons' and batches' events (core/cron.ts, core/batch.ts); anything else is unknown here.
      if (isCronEvent(event)) applyCron(state, event)
      else if (event.type === 'batch.created' || event.type === 'batch.done' || event.type === 'batches.trimmed') applyBatchEvent(state, event)
      else assertNever(event, 'event')
  }
  if (state.finishing.length > 0) retireFinished(state)
  return state
}

function vacuumed(state: State, event: Ev<'jobs.vacuumed'>): void {
  // Jobs in history are history's to delete; only a 0.1 log names jobs still in memory.
  for (const uuid of event.uuids) {
    const job = state.jobs.get(uuid)
    if (job !== undefined) removeJob(state, job)
    else state.retired.delete(uuid) // a 0.1 log replayed: it never reaches history
  }
}

function created(state: State, event: Ev<'job.created'>): void {
  const spec = event.job
  const job = new JobRecord(spec, ensureChannel(state.channels, spec.channel), event.seq)
  if (spec.dependsOn.length > 0) {
    linkParents(job, spec.dependsOn.map((uuid) => state.jobs.get(uuid) ?? fail(`job ${spec.uuid} depends on unknown job ${uuid}`)))
  }
  job.state = job.unfinishedParents > 0 ? 'wait_dependencies' : 'pending'
  // One hash lookup, not two (has, then set): a set that does not grow the map found the uuid
  // taken: a bug (enqueueRefusal refuses a taken uuid before any event), so the core fails.
  const size = state.jobs.size
  state.jobs.set(job.uuid, job)
  if (state.jobs.size === size) fail(`job ${spec.uuid} created twice`)
  enterInitial(state, job, event.at)
}

function enqueued(state: State, event: Ev<'job.enqueued'>): void {
  const job = jobOf(state, event.uuid)
  if (!(job.state === 'pending' && !job.waitingEta)) fail(`job ${job.uuid} enqueued from ${job.state}`)
  transition(state, job, 'enqueued', event.at)
  job.enqueuedAt = event.at
  const path = job.channel.path
  for (let i = 0; i < path.length; i++) path[i]!.lastDispatchAt = event.at
}

function started(state: State, event: Ev<'job.started'>): void {
  const job = jobOf(state, event.uuid)
  if (!(job.state === 'enqueued')) fail(`job ${job.uuid} started from ${job.state}`)
  transition(state, job, 'started', event.at)
  job.startedAt = event.at
  job.retry++
  job.runs++
  if (event.node !== undefined) {
    job.worker = event.node
    countRunOn(state, event.node, 1)
  }
  // JobView.node names this try's member from now on, even after the try ended (job-record.ts).
  job.node = event.node === undefined ? null : nodeOfWorker(event.node)
  // Each try reports its own progress: the last try's would say how far this one got.
  job.progress = null
}

function progressed(state: State, event: Ev<'job.progressed'>): void {
  const job = jobOf(state, event.uuid)
  if (!(job.state === 'started' && job.runs === event.run)) fail(`progress of run ${event.run} of job ${job.uuid}, which is ${job.state} at run ${job.runs}`)
  if (!(event.fraction >= 0 && event.fraction <= 1)) fail(`progress fraction ${event.fraction} of job ${job.uuid} is outside 0..1`)
  job.progress = frozenProgress(event.fraction, event.message)
}

function done(state: State, event: Ev<'job.done'>): void {
  const job = jobOf(state, event.uuid)
  if (event.manual ? job.state === 'done' : job.state !== 'started') fail(`job ${job.uuid} ${event.manual ? 'set' : 'finished'} done from ${job.state}`)
  if (event.manual) supersede(state, job)
  transition(state, job, 'done', event.at)
  job.doneAt = event.at
  job.result = event.result
  // queue_job clears exc_name and exc_info on success but keeps exc_message.
  job.excName = null
  job.excInfo = null
}

function postponed(state: State, event: Ev<'job.postponed'>): void {
  const job = jobOf(state, event.uuid)
  if (job.state !== 'started') fail(`job ${job.uuid} postponed from ${job.state}`)
  job.eta = event.eta
  job.result = event.message
  // queue_job's postpone() clears exc_name and exc_info but keeps exc_message, as set_done does:
  // a job that failed, was requeued, retried and then succeeded still says what broke it.
  job.excName = null
  job.excInfo = null
  job.retry += event.retryAdjust
  transition(state, job, job.unfinishedParents > 0 ? 'wait_dependencies' : 'pending', event.at)
}

function failed(state: State, event: Ev<'job.failed'>): void {
  const job = jobOf(state, event.uuid)
  if (job.state !== 'started') fail(`job ${job.uuid} failed from ${job.state}`)
  transition(state, job, 'failed', event.at)
  job.failedAt = event.at
  job.excName = event.excName
  job.excMessage = event.excMessage
  job.excInfo = event.excInfo
}

function cancelled(state: State, event: Ev<'job.cancelled'>): void {
  const job = jobOf(state, event.uuid)
  if (job.state === 'cancelled') fail(`job ${job.uuid} cancelled twice`)
  // Only the job named can be running: a cascade takes waiting descendants only.
  supersede(state, job)
  cancel(state, job, event.at)
  job.result = 'Cancelled'
  for (const uuid of event.cascade) {
    const descendant = jobOf(state, uuid)
    if (descendant.state !== 'wait_dependencies' && descendant.state !== 'pending') fail(`job ${uuid} cancelled by cascade from ${descendant.state}`)
    cancel(state, descendant, event.at)
  }
}

function requeued(state: State, event: Ev<'job.requeued'>): void {
  const job = jobOf(state, event.uuid)
  if (job.state === 'wait_dependencies') fail(`job ${job.uuid} requeued while waiting for its parents`)
  supersede(state, job)
  job.retry = 0
  job.node = null
  job.enqueuedAt = null
  job.startedAt = null
  job.doneAt = null
  job.cancelledAt = null
  job.failedAt = null
  transition(state, job, job.unfinishedParents > 0 ? 'wait_dependencies' : 'pending', event.at)
}

function joinedGraph(state: State, event: Ev<'job.joined_graph'>): void {
  const job = jobOf(state, event.uuid)
  if (!(job.state === 'pending' && job.graphUuid === null && job.parents.length === 0)) {
    fail(`job ${job.uuid} joined graph ${event.graphUuid} from ${job.state} in graph ${job.graphUuid}`)
  }
  job.graphUuid = event.graphUuid
  joinGraph(state, job)
  linkParents(job, event.dependsOn.map((uuid) => jobOf(state, uuid)))
  if (job.unfinishedParents > 0) transition(state, job, 'wait_dependencies', event.at)
}

function recovered(state: State, event: Ev<'job.recovered'>): void {
  const job = jobOf(state, event.uuid)
  if (!isRunning(job.state)) fail(`job ${job.uuid} recovered from ${job.state}`)
  job.enqueuedAt = null
  job.startedAt = null
  if (event.dead) {
    transition(state, job, 'failed', event.at)
    job.failedAt = event.at
    job.excName = FOUND_DEAD.excName
    job.excMessage = FOUND_DEAD.excMessage
    job.excInfo = `the process running try ${job.retry} of ${job.model}.${job.method} stopped before it finished`
  } else {
    transition(state, job, job.unfinishedParents > 0 ? 'wait_dependencies' : 'pending', event.at)
  }
}

// A pause or a resume is a fact of the log: from then on the channel was paused, or was not.
// decide writes one only when it changes the channel, but a fold does not always start from the
// state decide saw: a store reopened under a channels option that added or dropped `paused` (or
// by the CLI, with no option at all) starts that channel from the new option, and the event must
// still apply. So it sets the state; it does not assert the one before it.
function channelPaused(state: State, event: Ev<'channel.paused'>): void {
  ensureChannel(state.channels, event.channel).paused = true
}

function channelResumed(state: State, event: Ev<'channel.resumed'>): void {
  ensureChannel(state.channels, event.channel).paused = false
}

export function fold(state: State, events: Iterable<WharfEvent>): State {
  for (const event of events) evolve(state, event)
  return state
}

/** Forget a vacuumed job. decide only names done or cancelled jobs whose children go first. */
function removeJob(state: State, job: JobRecord): void {
  if (job.state !== 'done' && job.state !== 'cancelled') fail(`job ${job.uuid} vacuumed in state ${job.state}`)
  if (job.children.length > 0) fail(`job ${job.uuid} vacuumed before its children`)
  for (const parent of job.parents) parent.removeChild(job)
  leaveGraph(state, job)
  leaveBatch(state, job)
  job.channel.counts[stateIndex(job.state)]!--
  state.counts[stateIndex(job.state)]!--
  state.jobs.delete(job.uuid)
}

/**
 * A started job is about to leave `started` by a user's decision, not by its handler: that
 * handler still runs, so the slots it holds on its path move from `running` to `held` until a
 * job.run_released says it settled. (Capacity counts running handlers, not states.)
 */
function supersede(state: State, job: JobRecord): void {
  if (job.state !== 'started') return
  const runs = state.superseded.get(job.uuid)
  // The worker goes on running it: it stays counted there, as the superseded run's.
  const run: SupersededRun = { run: job.runs, channel: job.channel, worker: job.worker }
  job.worker = null
  if (runs === undefined) state.superseded.set(job.uuid, [run])
  else runs.push(run)
  const path = job.channel.path
  for (let i = 0; i < path.length; i++) path[i]!.held++
}

function release(state: State, uuid: string, run: number): void {
  const runs = state.superseded.get(uuid)
  const i = runs === undefined ? -1 : runs.findIndex((r) => r.run === run)
  if (!(i >= 0)) fail(`run ${run} of job ${uuid} released but not superseded`)
  const path = runs![i]!.channel.path
  const worker = runs![i]!.worker
  if (worker !== null) countRunOn(state, worker, -1)
  for (let j = 0; j < path.length; j++) {
    path[j]!.held--
    if (!(path[j]!.held >= 0)) fail(`channel ${path[j]!.name} holds a negative number of slots`)
  }
  runs!.splice(i, 1)
  if (runs!.length === 0) state.superseded.delete(uuid)
}

function cancel(state: State, job: JobRecord, atMs: number): void {
  transition(state, job, 'cancelled', atMs)
  job.cancelledAt = atMs
}

function jobOf(state: State, uuid: string): JobRecord {
  const job = state.jobs.get(uuid) ?? restoreImplicitly(state, uuid)
  if (job === undefined) fail(`event names unknown job ${uuid}`)
  return job
}

/**
 * A log written by 0.1 changes finished jobs without a jobs.restored before (0.1 kept them in
 * memory). Replay keeps the jobs that left memory in the outbox until it ends, so such an event
 * finds its job there and brings its graph back first, as jobs.restored would have. Live ticks
 * always write jobs.restored, so this never runs for them.
 */
function restoreImplicitly(state: State, uuid: string): JobRecord | undefined {
  const graph = retiredGraphOf(state, uuid)
  if (graph === undefined) return undefined
  restoreJobs(state, graph, state.seq)
  return state.jobs.get(uuid)
}
