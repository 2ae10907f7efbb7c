// Batches (queue_job_batch): jobs stored together by wharf.batch(), whose progress is counted and
// whose completion can store one more job (onDone). The record of a batch stays in memory while
// any of its jobs exists, in memory or in history, so its counts stay exact though finished jobs
// leave memory: every change of a batch job's state (transition.ts), every removal (remove.ts)
// and every trim of history (batches.trimmed) updates them here.
//
// A batch's state, decided from its counts:
// - 'done' from the event that leaves every job done or cancelled with at least one done, until a
//   job of it is live or failed again (a requeue, a restart): then it is open again. Removing or
//   vacuuming jobs never reopens a done batch.
// - 'failed' when it is not done and nothing of it can run: no job pending, enqueued or started
//   (a job waiting for its parents then waits for a failed or cancelled one: a batch job's parents
//   are all in the batch). So: a job failed and the rest finished or stuck behind it — or every
//   job was cancelled (nothing failed, but nothing can complete it either).
// - 'started' once any job of it has started or finished (failed, done, cancelled), else 'pending'.
// The first time a batch is done, its onDone jobs are stored in the same tick (runTick's
// decideBatchesDone right after the event that completed it); never again after it reopens.

import { fail } from './assert.js'
import { EVENT_FORMAT_VERSION as v, type BatchCreated, type BatchDone, type BatchesTrimmed, type JobSpec, type JobState, type WharfEvent } from './events.js'
import { stateIndex, type JobRecord, type State } from './state.js'
import type { JobView } from './view.js'
import type { Command } from './commands.js'
import type { DecideNote } from './decide.js'
import { enqueueRefusal } from './enqueue-many.js'
import { BATCH_JOBS_MAX, BATCH_ON_DONE_JOBS_MAX } from './limits.js'
import { InvalidGraphError, InvalidPropertyError } from '../errors.js'

export const BATCH_STATES = ['pending', 'started', 'done', 'failed'] as const
export type BatchState = (typeof BATCH_STATES)[number]

/** The public, JSON-safe copy of a batch. */
export interface BatchView {
  uuid: string
  name: string
  state: BatchState
  /** Jobs of the batch that exist (removed and vacuumed jobs leave the counts). */
  total: number
  done: number
  failed: number
  cancelled: number
  createdAt: number
  /** When it last became done; null while it is not done. */
  doneAt: number | null
  /** The uuids of its onDone jobs ([] when none), stored when it is first done. */
  onDone: string[]
  /** Whether its onDone jobs were stored (they are, once, the first time it is done). */
  onDoneStored: boolean
}

const DONE = stateIndex('done')
const CANCELLED = stateIndex('cancelled')
const FAILED = stateIndex('failed')
const PENDING = stateIndex('pending')
const ENQUEUED = stateIndex('enqueued')
const STARTED = stateIndex('started')

export class BatchRecord {
  /** Its jobs per state, indexed by stateIndex(): in memory and in history alike. */
  readonly counts = [0, 0, 0, 0, 0, 0, 0]
  /** A job of it has started or finished. */
  begun = false
  doneAt: number | null = null
  /** The onDone jobs still to store; null when stored, or when there are none. */
  onDone: JobSpec[] | null
  onDoneStored = false

  constructor(
    readonly uuid: string,
    readonly name: string,
    readonly createdAt: number,
    onDone: JobSpec[] | null,
    /** Kept once the onDone jobs are stored (and `onDone` is dropped). */
    readonly onDoneUuids: readonly string[] = onDone === null ? [] : onDone.map((spec) => spec.uuid),
  ) {
    this.onDone = onDone
  }
}

export function batchTotal(b: BatchRecord): number {
  let total = 0
  for (let i = 0; i < b.counts.length; i++) total += b.counts[i]!
  return total
}

/** Every job done or cancelled, at least one done. */
export function isComplete(b: BatchRecord): boolean {
  const done = b.counts[DONE]!
  return done > 0 && done + b.counts[CANCELLED]! === batchTotal(b)
}

export function batchState(b: BatchRecord): BatchState {
  if (b.doneAt !== null) return 'done'
  if (b.counts[PENDING]! + b.counts[ENQUEUED]! + b.counts[STARTED]! === 0) return 'failed'
  return b.begun ? 'started' : 'pending'
}

export function toBatchView(b: BatchRecord): BatchView {
  return {
    uuid: b.uuid,
    name: b.name,
    state: batchState(b),
    total: batchTotal(b),
    done: b.counts[DONE]!,
    failed: b.counts[FAILED]!,
    cancelled: b.counts[CANCELLED]!,
    createdAt: b.createdAt,
    doneAt: b.doneAt,
    onDone: [...b.onDoneUuids],
    onDoneStored: b.onDoneStored,
  }
}

/** Called by transition() for a job of a batch: count the move, reopen or note completion. */
export function batchTransition(state: State, b: BatchRecord, from: JobState, to: JobState): void {
  b.counts[stateIndex(from)]!--
  b.counts[stateIndex(to)]!++
  if (to !== 'wait_dependencies' && to !== 'pending' && to !== 'enqueued') b.begun = true
  if (to !== 'done' && to !== 'cancelled') b.doneAt = null
  else if (b.doneAt === null && isComplete(b)) state.batchesCompleting.add(b)
}

/** A job of a batch is removed for good from memory (remove(), purge()). */
export function leaveBatch(state: State, job: JobRecord): void {
  const b = job.batch
  if (b === null) return
  shrink(state, b, stateIndex(job.state), 1)
}

function shrink(state: State, b: BatchRecord, index: number, n: number): void {
  b.counts[index]! -= n
  if (!(b.counts[index]! >= 0)) fail(`batch ${b.uuid} counts a negative number of jobs`)
  if (batchTotal(b) === 0) {
    // Its last job is gone: the batch goes with it.
    state.batches.delete(b.uuid)
    state.batchesCompleting.delete(b)
    for (const uuid of b.onDoneUuids) state.onDoneUuids.delete(uuid)
  } else if (b.doneAt === null && isComplete(b)) {
    // Its failed jobs were removed and the rest is done.
    state.batchesCompleting.add(b)
  }
}

// ---- evolve ------------------------------------------------------------------------------

export function applyBatchEvent(state: State, event: BatchCreated | BatchDone | BatchesTrimmed): void {
  if (event.type === 'batch.created') applyBatchCreated(state, event)
  else if (event.type === 'batch.done') applyBatchDone(state, event)
  else applyBatchesTrimmed(state, event)
}

function applyBatchCreated(state: State, event: BatchCreated): void {
  if (state.batches.has(event.uuid)) fail(`batch ${event.uuid} created twice`)
  if (event.jobs.length === 0) fail(`batch ${event.uuid} created without jobs`)
  const b = new BatchRecord(event.uuid, event.name, event.at, event.onDone)
  state.batches.set(b.uuid, b)
  for (const uuid of event.jobs) {
    const job = state.jobs.get(uuid) ?? fail(`batch ${b.uuid} names unknown job ${uuid}`)
    if (job.batch !== null) fail(`job ${uuid} is in batch ${job.batch.uuid} and ${b.uuid}`)
    job.batch = b
    b.counts[stateIndex(job.state)]!++
  }
  for (const uuid of b.onDoneUuids) state.onDoneUuids.set(uuid, b)
}

function applyBatchDone(state: State, event: BatchDone): void {
  const b = state.batches.get(event.uuid) ?? fail(`batch.done names unknown batch ${event.uuid}`)
  if (b.doneAt !== null || !isComplete(b)) fail(`batch ${b.uuid} announced done in state ${batchState(b)}`)
  b.doneAt = event.at
  state.batchesCompleting.delete(b)
  if (!event.onDone) return
  if (b.onDone === null || b.onDoneStored) fail(`batch ${b.uuid} stores its onDone jobs twice`)
  b.onDone = null
  b.onDoneStored = true
  for (const uuid of b.onDoneUuids) state.onDoneUuids.delete(uuid)
}

function applyBatchesTrimmed(state: State, event: BatchesTrimmed): void {
  for (const [uuid, done, cancelled] of event.batches) {
    const b = state.batches.get(uuid) ?? fail(`batches.trimmed names unknown batch ${uuid}`)
    if (done > 0) shrink(state, b, DONE, done)
    if (cancelled > 0 && state.batches.has(uuid)) shrink(state, b, CANCELLED, cancelled)
  }
}

/** Link a job that enters memory from history (jobs.restored) to its batch; it is counted there. */
export function batchOfView(state: State, view: JobView): BatchRecord | null {
  const uuid = view.batchUuid ?? null
  if (uuid === null) return null
  return state.batches.get(uuid) ?? fail(`job ${view.uuid} comes back to batch ${uuid}, which does not exist`)
}

// ---- decide ------------------------------------------------------------------------------

/**
 * After the events of a decision are applied: each batch they completed is announced done, and
 * its onDone jobs are stored the first time. A batch a later event of the same decision reopened
 * is not (it is no longer complete).
 */
export function decideBatchesDone(state: State, nowMs: number, out: WharfEvent[]): void {
  for (const b of state.batchesCompleting) {
    state.batchesCompleting.delete(b)
    if (b.doneAt !== null || !isComplete(b) || state.batches.get(b.uuid) !== b) continue
    const onDone = b.onDone !== null && !b.onDoneStored
    out.push({ seq: 0, v, at: nowMs, type: 'batch.done', uuid: b.uuid, onDone })
    if (!onDone) continue
    for (const spec of b.onDone!) out.push({ seq: 0, v, at: nowMs, type: 'job.created', job: { ...spec, createdAt: nowMs } })
  }
}

/** The batches.trimmed event for views that leave history (null when none is in a batch). */
export function trimmedEvent(views: Iterable<JobView>, nowMs: number): BatchesTrimmed | null {
  const per = new Map<string, [string, number, number]>()
  for (const view of views) {
    const uuid = view.batchUuid ?? null
    if (uuid === null) continue
    let entry = per.get(uuid)
    if (entry === undefined) per.set(uuid, (entry = [uuid, 0, 0]))
    if (view.state === 'done') entry[1]++
    else if (view.state === 'cancelled') entry[2]++
    else fail(`job ${view.uuid} leaves history in state ${view.state}`)
  }
  return per.size === 0 ? null : { seq: 0, v, at: nowMs, type: 'batches.trimmed', batches: [...per.values()] }
}

/**
 * Store a batch: its jobs (job.created each, parents first), then batch.created naming them. All
 * or nothing: a refusal names the element (`batch(): delayables[k]`) or the onDone graph.
 */
export function decideBatch(state: State, command: Extract<Command, { type: 'batch' }>, nowMs: number, out: WharfEvent[]): DecideNote {
  const { uuid, jobs, ends, onDone } = command
  if (state.batches.has(uuid)) return { error: new InvalidPropertyError(`batch(): batch uuid ${JSON.stringify(uuid)} is not unique; newId() must return a new id on every call`) }
  if (jobs.length === 0) fail(`batch ${uuid} has no jobs`)
  if (jobs.length + (onDone?.length ?? 0) > BATCH_JOBS_MAX + BATCH_ON_DONE_JOBS_MAX) fail(`batch ${uuid} is larger than its limits`)
  const inHistory = new Set(command.historyUuids ?? [])
  const custom = command.historyUuids !== undefined
  const refusal = enqueueRefusal(state, jobs, custom ? jobs.filter((s) => inHistory.has(s.uuid)).map((s) => s.uuid) : undefined, ends, 'batch()')
  if (refusal !== null) return { error: refusal }
  if (onDone !== null) {
    const ours = new Set(jobs.map((s) => s.uuid))
    // With a custom newId, a job finished earlier in this tick (in the outbox) has its uuid too.
    const taken = onDone.find((s) => ours.has(s.uuid) || inHistory.has(s.uuid) || (custom && state.retired.size > 0 && state.retired.has(s.uuid)))
    if (taken !== undefined) return { error: new InvalidPropertyError(`batch(): onDone: job uuid ${JSON.stringify(taken.uuid)} is not unique: another job already has it; newId() must return a new id on every call`) }
    const refused = enqueueRefusal(state, onDone, undefined, undefined, 'batch()')
    if (refused !== null) {
      refused.message = `batch(): onDone: ${refused.message}`
      return { error: refused }
    }
    // Its parents must be its own: it is stored later, on its own.
    const own = new Set<string>()
    for (const spec of onDone) {
      const parent = spec.dependsOn.find((p) => !own.has(p))
      if (parent !== undefined) return { error: new InvalidGraphError(`batch(): onDone: job ${spec.uuid} depends on ${JSON.stringify(parent)}, which is not earlier in the onDone graph`) }
      own.add(spec.uuid)
    }
  }
  for (let i = 0; i < jobs.length; i++) out.push({ seq: 0, v, at: nowMs, type: 'job.created', job: jobs[i]! })
  out.push({ seq: 0, v, at: nowMs, type: 'batch.created', uuid, name: command.name, jobs: jobs.map((s) => s.uuid), onDone })
  return undefined
}
