// Memory follows live work: a finished job leaves the state for the history store in the event
// that finishes it — alone, or, for a job of a graph, together with the rest of its graph once
// every job of that graph is done or cancelled (so the parent and child counters of live jobs
// only ever point at jobs in memory). A command that must change a finished job brings its whole
// graph back first (jobs.restored). Both directions go through the state's outbox (`retired`,
// `restored`), which the shell writes to history in the same atomic batch as the events.

import { fail } from './assert.js'
import { emptyKeepingRoom } from './arrays.js'
import { ensureChannel } from './channels.js'
import type { JobSpec } from './events.js'
import { JobRecord, isFinished, stateIndex, type State } from './state.js'
import { admit, linkParents } from './transition.js'
import { frozenProgress, toJobView, type JobView } from './view.js'
import { batchOfView } from './batch.js'

/** A job entered memory: count it in its graph. */
export function joinGraph(state: State, job: JobRecord): void {
  if (job.graphUuid === null) return
  let members = state.graphs.get(job.graphUuid)
  if (members === undefined) state.graphs.set(job.graphUuid, (members = { jobs: [], unfinished: 0 }))
  members.jobs.push(job)
  if (!isFinished(job.state)) members.unfinished++
}

/** A job left memory without finishing normally (0.1 vacuum of a job still in memory). */
export function leaveGraph(state: State, job: JobRecord): void {
  if (job.graphUuid === null) return
  const members = state.graphs.get(job.graphUuid) ?? fail(`job ${job.uuid} is missing from its graph ${job.graphUuid}`)
  const i = members.jobs.indexOf(job)
  if (!(i >= 0)) fail(`job ${job.uuid} is missing from its graph ${job.graphUuid}`)
  members.jobs.splice(i, 1)
  if (!isFinished(job.state)) members.unfinished--
  if (members.jobs.length === 0) state.graphs.delete(job.graphUuid)
}

/** Called by transition() on every state change: keeps graph counts, notes jobs that finished. */
export function noteFinishing(state: State, job: JobRecord, from: JobRecord['state'], to: JobRecord['state']): void {
  const was = isFinished(from)
  const is = isFinished(to)
  if (job.graphUuid !== null && was !== is) state.graphs.get(job.graphUuid)!.unfinished += is ? -1 : 1
  if (is) state.finishing.push(job)
}

/** End of an event: every job that finished in it leaves memory, with its graph if it is complete. */
export function retireFinished(state: State): void {
  const finishing = state.finishing
  for (let i = 0; i < finishing.length; i++) {
    const job = finishing[i]!
    if (state.jobs.get(job.uuid) !== job || !isFinished(job.state)) continue
    if (job.graphUuid === null) {
      if (job.parents.length > 0 || job.children.length > 0) fail(`job ${job.uuid} has edges but no graph`)
      retire(state, job)
      continue
    }
    const members = state.graphs.get(job.graphUuid) ?? fail(`job ${job.uuid} is missing from its graph ${job.graphUuid}`)
    if (members.unfinished > 0) continue
    for (const member of members.jobs) retire(state, member)
    state.graphs.delete(job.graphUuid)
  }
  emptyKeepingRoom(finishing)
}

function retire(state: State, job: JobRecord): void {
  if (!isFinished(job.state)) fail(`job ${job.uuid} retired in state ${job.state}`)
  state.jobs.delete(job.uuid)
  job.channel.counts[stateIndex(job.state)]!--
  state.counts[stateIndex(job.state)]!--
  state.retired.add(job)
  // History may keep this very record (storage/history.ts): from here on it is read, never changed.
  job.freeze()
}

/**
 * Bring finished jobs back into memory, as history (or this batch's outbox) held them: a whole
 * graph, or one job outside any graph. They stay until the command that needed them has changed
 * one of them; finishing again sends them back.
 */
export function restoreJobs(state: State, views: readonly JobView[], seq: number): void {
  const records: JobRecord[] = []
  for (const view of views) {
    if (state.jobs.has(view.uuid)) fail(`job ${view.uuid} restored while in memory`)
    if (!isFinished(view.state)) fail(`job ${view.uuid} restored in state ${view.state}`)
    const spec: JobSpec = {
      uuid: view.uuid, graphUuid: view.graphUuid, model: view.model, method: view.method, records: view.records,
      args: view.args, context: view.context, priority: view.priority, eta: view.eta, maxRetries: view.maxRetries,
      description: view.description, channel: view.channel, identityKey: view.identityKey, dependsOn: view.dependsOn,
      createdAt: view.createdAt,
    }
    const job = new JobRecord(spec, ensureChannel(state.channels, view.channel), seq)
    job.state = view.state
    job.retry = view.retry
    // Greater than any run number this job was ever started with (each start is one event), so
    // the late outcome of a handler from before it left memory can never pass for a new run's.
    job.runs = seq
    job.result = view.result
    job.excName = view.excName
    job.excMessage = view.excMessage
    job.excInfo = view.excInfo
    job.enqueuedAt = view.enqueuedAt
    job.startedAt = view.startedAt
    job.doneAt = view.doneAt
    job.cancelledAt = view.cancelledAt
    // A view in a jobs.restored written before progress existed has none: null, as it was then.
    job.progress = view.progress === undefined || view.progress === null ? null : frozenProgress(view.progress.fraction, view.progress.message)
    // Where its latest try ran (null in a view written before clusters kept it, as it was then).
    job.node = view.node ?? null
    // Still counted in its batch: it only comes back to memory.
    job.batch = batchOfView(state, view)
    state.jobs.set(job.uuid, job)
    admit(state, job, false)
    records.push(job)
    // Retired earlier in this batch: history never saw it leave, so there is nothing to delete.
    if (!state.retired.delete(job.uuid) && !state.restored.has(job.uuid)) state.restored.set(job.uuid, view)
  }
  for (let i = 0; i < records.length; i++) {
    const job = records[i]!
    linkParents(job, views[i]!.dependsOn.map((uuid) => state.jobs.get(uuid) ?? fail(`restored job ${job.uuid} depends on ${uuid}, which was not restored with it`)))
  }
}

/**
 * The graph of a job that left memory in the batch being formed (not yet in history): what a
 * command on it restores. undefined when the job is not in this batch's outbox.
 */
export function retiredGraphOf(state: State, uuid: string): JobView[] | undefined {
  const job = state.retired.get(uuid)
  if (job === undefined) return undefined
  if (job.graphUuid === null) return [toJobView(job)]
  const views: JobView[] = []
  for (const member of state.retired.values()) if (member.graphUuid === job.graphUuid) views.push(toJobView(member))
  return views
}
