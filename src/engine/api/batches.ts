// The boundary of batch() and batches(): the call checked and laid out (as delayMany lays out its
// list: batch() is one command, one tick, one log record, all or none), the query checked, and
// what their decisions and reads answer. wharf.ts submits them.

import { BATCH_STATES, batchState, toBatchView, type BatchRecord, type BatchState, type BatchView } from '../core/batch.js'
import type { Command } from '../core/commands.js'
import type { JobSpec } from '../core/events.js'
import { elementName as specElementName } from '../core/enqueue-many.js'
import { BATCH_JOBS_MAX, BATCH_NAME_LENGTH_MAX, BATCH_ON_DONE_JOBS_MAX } from '../core/limits.js'
import type { State } from '../core/state.js'
import { toJobView, type JobView } from '../core/view.js'
import { InvalidPropertyError } from '../errors.js'
import type { ResultOf } from '../runtime/engine.js'
import { Delayable, DelayableChain, DelayableGroup, type GraphHost } from './delayable.js'
import { buildManySpecs, planMany, type ManyPlan } from './delay-many.js'
import type { SpecContext } from './job-spec.js'
import { isOptionsObject } from './options-object.js'
import { describe } from './properties.js'
import { JOBS_LIMIT_DEFAULT, JOBS_LIMIT_MAX } from './queries.js'

export type { BatchView, BatchState } from '../core/batch.js'

export interface BatchOptions {
  /** Stored once, the first time every job of the batch is done or cancelled (one done at least). */
  onDone?: Delayable | DelayableChain | DelayableGroup
}

export interface BatchesQuery {
  state?: BatchState
  /** 1 ≤ limit ≤ 10,000; default 1,000. */
  limit?: number
  /** Creation order: 'asc' (oldest first, the default) or 'desc'. */
  order?: 'asc' | 'desc'
  /** Cursor: the last uuid of the previous page; the page starts after it in `order`. */
  after?: string
}

/** A batch() call checked and laid out, before its specs are built. */
export interface BatchPlan {
  name: string
  jobs: ManyPlan
  onDone: ManyPlan | null
}

const CALL = 'batch()'

/** Check name, list and options; throws, naming the bad value, before anything is built. */
export function planBatch(name: unknown, delayables: unknown, options: unknown, host: GraphHost | null = null): BatchPlan {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > BATCH_NAME_LENGTH_MAX) {
    throw new InvalidPropertyError(`${CALL}: name must be a non-blank string of at most ${BATCH_NAME_LENGTH_MAX} characters (BATCH_NAME_LENGTH_MAX), got ${describe(name)}`)
  }
  if (Array.isArray(delayables) && delayables.length === 0) throw new InvalidPropertyError(`${CALL}: delayables is empty; a batch holds at least one job`)
  const jobs = planMany(delayables, CALL, { jobs: BATCH_JOBS_MAX, name: 'BATCH_JOBS_MAX' }, host)
  if (!isOptionsObject(options)) {
    throw new InvalidPropertyError(`${CALL}: options must be an object such as { onDone }, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (key !== 'onDone') throw new InvalidPropertyError(`${CALL}: unknown option ${JSON.stringify(key)}; known: onDone`)
  }
  const onDone = (options as BatchOptions).onDone
  if (onDone === undefined) return { name, jobs, onDone: null }
  if (!(onDone instanceof Delayable || onDone instanceof DelayableChain || onDone instanceof DelayableGroup)) {
    throw new InvalidPropertyError(`${CALL}: onDone must be a delayable, chain or group, got ${describe(onDone)}`)
  }
  // Laid out as a one-element list, so that it gets the same checks (not delayed, has a call…).
  const plan = planMany([onDone], `${CALL}: onDone`, { jobs: BATCH_ON_DONE_JOBS_MAX, name: 'BATCH_ON_DONE_JOBS_MAX' }, host)
  const shared = plan.vertices.find((d) => jobs.vertices.includes(d))
  if (shared !== undefined) throw new InvalidPropertyError(`${CALL}: onDone belongs to the graph of a job of the batch; give it a graph of its own`)
  return { name, jobs, onDone: plan }
}

/** The batch command: its specs built (a bad value throws, naming its element). */
export function buildBatchCommand(plan: BatchPlan, uuid: string, ctx: SpecContext): Extract<Command, { type: 'batch' }> {
  const jobs = buildManySpecs(plan.jobs, ctx)
  refuseIdentityKeys(jobs, (i) => specElementName(plan.jobs.ends, i, CALL))
  const onDone = plan.onDone === null ? null : buildManySpecs(plan.onDone, ctx)
  if (onDone !== null) refuseIdentityKeys(onDone, () => `${CALL}: onDone`)
  return { type: 'batch', uuid, name: plan.name, jobs, ends: plan.jobs.ends, onDone }
}

/** A job of a batch whose identity key matched would not be stored, and the batch would count a
 * job it does not have: batches take jobs without keys. */
function refuseIdentityKeys(specs: readonly JobSpec[], where: (i: number) => string): void {
  const i = specs.findIndex((spec) => spec.identityKey !== null)
  if (i < 0) return
  throw new InvalidPropertyError(`${where(i)}: job ${specs[i]!.uuid} has identity key ${JSON.stringify(specs[i]!.identityKey)}; jobs of a batch cannot have one`)
}

/** What batch() resolves with: the batch, and each job as the call stored it. */
export const storedBatch: ResultOf<{ batch: BatchView; jobs: JobView[] }> = (_note, command, state) => {
  const { uuid, jobs } = command as Extract<Command, { type: 'batch' }>
  return { batch: toBatchView(state.batches.get(uuid)!), jobs: jobs.map((spec) => toJobView(state.jobs.get(spec.uuid)!)) }
}

const QUERY_KEYS = ['state', 'limit', 'order', 'after']

export interface CheckedBatchesQuery {
  state: BatchState | undefined
  limit: number
  desc: boolean
  after: string | undefined
}

export function checkBatchesQuery(query: unknown): CheckedBatchesQuery {
  if (query === undefined) query = {}
  if (!isOptionsObject(query)) throw new InvalidPropertyError(`batches(): the query must be an object, got ${describe(query)}`)
  const q = query as Record<string, unknown>
  for (const key of Object.keys(q)) {
    if (!QUERY_KEYS.includes(key)) throw new InvalidPropertyError(`batches(): unknown query key ${describe(key)}; keys: ${QUERY_KEYS.join(', ')}`)
  }
  if (q.state !== undefined && !(BATCH_STATES as readonly unknown[]).includes(q.state)) {
    throw new InvalidPropertyError(`batches(): unknown state ${describe(q.state)}; states: ${BATCH_STATES.join(', ')}`)
  }
  const limit = q.limit ?? JOBS_LIMIT_DEFAULT
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > JOBS_LIMIT_MAX) {
    throw new InvalidPropertyError(`batches(): limit must be an integer from 1 to ${JOBS_LIMIT_MAX}, got ${describe(q.limit)}`)
  }
  if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') throw new InvalidPropertyError(`batches(): order must be 'asc' or 'desc', got ${describe(q.order)}`)
  if (q.after !== undefined && (typeof q.after !== 'string' || q.after.length === 0)) {
    throw new InvalidPropertyError(`batches(): after must be a non-empty string, got ${describe(q.after)}`)
  }
  return { state: q.state as BatchState | undefined, limit: limit as number, desc: q.order === 'desc', after: q.after as string | undefined }
}

/**
 * One page of batches in creation (uuid) order. Every batch is in memory (a batch lives while one
 * of its jobs does): a scan of the batches, as live jobs are scanned.
 */
export function batchesPage(state: State, q: CheckedBatchesQuery): BatchView[] {
  const hits: BatchRecord[] = []
  for (const b of state.batches.values()) {
    if (q.after !== undefined && (q.desc ? b.uuid >= q.after : b.uuid <= q.after)) continue
    if (q.state === undefined || batchState(b) === q.state) hits.push(b)
  }
  const sign = q.desc ? -1 : 1
  hits.sort((a, b) => (a.uuid < b.uuid ? -sign : a.uuid > b.uuid ? sign : 0))
  if (hits.length > q.limit) hits.length = q.limit
  return hits.map(toBatchView)
}

export function batchOf(state: State, uuid: string): BatchView | undefined {
  const b = state.batches.get(uuid)
  return b === undefined ? undefined : toBatchView(b)
}

/**
 * The batch a trapped or no-delay call answers with: nothing is stored, so no batch exists to
 * look up later. No-delay ran every job (done); a trap holds them (pending).
 */
export function unstoredBatch(uuid: string, name: string, jobs: number, nowMs: number, ran: boolean): BatchView {
  return {
    uuid, name, state: ran ? 'done' : 'pending', total: jobs, done: ran ? jobs : 0, failed: 0, cancelled: 0,
    createdAt: nowMs, doneAt: ran ? nowMs : null, onDone: [], onDoneStored: false,
  }
}
