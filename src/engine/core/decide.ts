// decide(state, command, nowMs): the decisions of the core, as events (or a typed refusal).
// It reads the state and never changes it; runTick (tick.ts) stamps `seq` on the events and
// applies them with evolve before deciding the next command, so each decision sees the one before.

import { assertNever, fail } from './assert.js'
import type { Command, GraphJoin, HandlerOutcome } from './commands.js'
import { EVENT_FORMAT_VERSION as v, type JobSpec, type JobState, type WharfEvent } from './events.js'
import { cascadeOfCancel } from './graph.js'
import { retiredGraphOf } from './retire.js'
import { retryDelaySeconds } from './retry.js'
import { isBlocking, isFinished, isRunning, type JobRecord, type State } from './state.js'
import { InvalidGraphError, JobStateConflictError, UnknownChannelError, UnknownJobError, type WharfError } from '../errors.js'
import { decideEnqueueMany, enqueueRefusal } from './enqueue-many.js'
import { decidePurge, decideRemove, goneFromHistoryIn } from './remove.js'
import type { JobView } from './view.js'
import { decideCron, type CronClock } from './cron.js'
import { decideBatch, trimmedEvent } from './batch.js'
import { TIME_MS_MAX } from './limits.js'

export type Decision =
  | {
      ok: true
      events: WharfEvent[]
      /**
       * enqueue only: when identity keys matched and nothing was stored, the uuid of the existing
       * job for each spec that had a key (null for the others); otherwise null.
       */
      existing: (string | null)[] | null
    }
  | { ok: false; error: WharfError }

/** What decideInto says besides its events: nothing (undefined), a refusal, or identity matches. */
export type DecideNote =
  | undefined
  | { error: WharfError }
  /** enqueue: for each spec, the job its identity key matched where its graph was skipped
   * (null elsewhere); with `ends`, the graphs of a delayMany are skipped or stored one by one. */
  | { existing: (string | null)[] }
  | { removed: number }
  /** remove, purge: jobs removed; purge: whether there may be more. */
  | { removed: number; more: boolean }
  | { requeued: number; foundDead: number }
  /** cancel, requeue or setDone of a started job: the shell aborts that run's handler. */
  | { superseded: { uuid: string; run: number } }

export function decide(state: State, command: Command, nowMs: number): Decision {
  const events: WharfEvent[] = []
  const note = decideInto(state, command, nowMs, events)
  if (note !== undefined && 'error' in note) return { ok: false, error: note.error }
  return { ok: true, events, existing: note !== undefined && 'existing' in note ? note.existing : null }
}

/**
 * decide, for the tick's hot path: appends the events to `out` (the tick's batch) instead of
 * allocating a Decision per command. Events get seq 0; runTick stamps and applies them.
 */
export function decideInto(state: State, command: Command, nowMs: number, out: WharfEvent[], cronNext?: CronClock | null): DecideNote {
  switch (command.type) {
    case 'enqueue':
      return decideEnqueue(state, command.jobs, command.joins, command.historyUuids, command.ends, nowMs, out)
    case 'batch':
      return decideBatch(state, command, nowMs, out)
    case 'start':
      out.push(command.node === undefined ? { seq: 0, v, at: nowMs, type: 'job.started', uuid: command.uuid } : { seq: 0, v, at: nowMs, type: 'job.started', uuid: command.uuid, node: command.node })
      return undefined
    case 'finish':
      return decideFinish(state, command, nowMs, out)
    case 'progress':
      return decideProgress(state, command, nowMs, out)
    case 'defineCron':
    case 'removeCron':
    case 'pauseCron':
    case 'resumeCron':
    case 'fireCron':
      return decideCron(state, command, nowMs, out, cronNext)
    case 'cancel':
    case 'requeue':
    case 'setDone':
      return decideManagement(state, command, nowMs, out)
    case 'recover':
      return decideRecover(state, command.limit, command.keep, nowMs, out)
    case 'vacuum':
      return decideVacuum(state, command.jobs, nowMs, out)
    case 'remove':
      return decideRemove(state, command, nowMs, out)
    case 'purge':
      return decidePurge(state, command, nowMs, out)
    case 'pauseChannel':
      // Refused rather than auto-created: a typo would otherwise pause a channel no job uses.
      if (!state.channels.has(command.channel)) return { error: new UnknownChannelError(command.channel) }
      if (state.channels.get(command.channel)!.paused !== true) {
        out.push({ seq: 0, v, at: nowMs, type: 'channel.paused', channel: command.channel })
      }
      return undefined
    case 'resumeChannel':
      if (!state.channels.has(command.channel)) return { error: new UnknownChannelError(command.channel) }
      if (state.channels.get(command.channel)!.paused === true) {
        out.push({ seq: 0, v, at: nowMs, type: 'channel.resumed', channel: command.channel })
      }
      return undefined
    default:
      return assertNever(command, 'command')
  }
}

/** A handler's outcome. If the job was set done, cancelled or requeued while its handler ran,
 * that run's outcome no longer decides anything, but its settling frees the slots it held. */
function decideFinish(state: State, command: Extract<Command, { type: 'finish' }>, nowMs: number, out: WharfEvent[]): DecideNote {
  const job = state.jobs.get(command.uuid)
  if (job === undefined || job.state !== 'started' || job.runs !== command.run) {
    if (state.superseded.get(command.uuid)?.some((r) => r.run === command.run) === true) {
      out.push({ seq: 0, v, at: nowMs, type: 'job.run_released', uuid: command.uuid, run: command.run })
    }
    return undefined
  }
  const event = outcomeEvent(job, command.outcome, command.retryPattern, command.entropy, nowMs)
  out.push(event)
  if (event.type === 'job.postponed') cancelIfOrphaned(job, nowMs, out, null)
  return undefined
}

/**
 * A job that a retry or a recovery sends back to waiting, when every one of its parents is
 * cancelled, is cancelled in the same decision, with its cascade: a cancel cascades only to the
 * jobs waiting at that moment, so a child that ran then would otherwise wait for ever (nothing
 * releases parents that are all cancelled). `gone`: jobs cancelled earlier in this decision, not
 * applied yet (a recovery's). A requeue is left waiting: an operator requeues the parents next.
 */
function cancelIfOrphaned(job: JobRecord, nowMs: number, out: WharfEvent[], gone: Set<JobRecord> | null): void {
  const parents = job.parents
  if (parents.length === 0) return
  for (let i = 0; i < parents.length; i++) if (parents[i]!.state !== 'cancelled' && gone?.has(parents[i]!) !== true) return
  // Jobs this decision cancelled already are cancelled to the cascade too (their events are not
  // applied yet): a child of two parents cancelled here goes with the second.
  const cascade = cascadeOfCancel(job, gone ?? undefined)
  out.push({ seq: 0, v, at: nowMs, type: 'job.cancelled', uuid: job.uuid, cascade: cascade.map((j) => j.uuid) })
  if (gone === null) return
  gone.add(job)
  for (const j of cascade) gone.add(j)
}

/** `job` and those of its ancestors that `take` accepts and `seen` does not hold, ancestors
 * first (an explicit stack: no recursion however deep the graph); adds them to `seen`. */
function parentsFirst(job: JobRecord, take: (job: JobRecord) => boolean, seen: Set<JobRecord>): JobRecord[] {
  const order: JobRecord[] = []
  const stack: [JobRecord, number][] = [[job, 0]]
  seen.add(job)
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    const [current, next] = top
    if (next < current.parents.length) {
      top[1]++
      const parent = current.parents[next]!
      if (!seen.has(parent) && take(parent)) {
        seen.add(parent)
        stack.push([parent, 0])
      }
      continue
    }
    stack.pop()
    order.push(current)
  }
  return order
}

/** On open: release what the dead process's superseded runs held, and recover up to `limit` of
 * the jobs it left enqueued or started. In a cluster, the dead are every worker but `keep`'s
 * (the same rule, for a takeover and for a worker found dead). */
function decideRecover(state: State, limit: number, keep: readonly string[] | undefined, nowMs: number, out: WharfEvent[]): DecideNote {
  let requeued = 0
  let foundDead = 0
  const alive = (node: string | null): boolean => keep !== undefined && node !== null && keep.includes(node)
  let gone: Set<JobRecord> | undefined
  // A new process runs no handler yet: slots held by superseded runs of the dead one are free.
  for (const [uuid, runs] of state.superseded) {
    for (const r of runs) if (!alive(r.worker)) out.push({ seq: 0, v, at: nowMs, type: 'job.run_released', uuid, run: r.run })
  }
  const recoverable = (job: JobRecord): boolean => isRunning(job.state) && !alive(job.worker)
  let seen: Set<JobRecord> | undefined
  for (const job of state.jobs.values()) {
    if (requeued + foundDead >= limit) break
    if (!recoverable(job) || seen?.has(job) === true) continue
    // Parents first: a parent cancelled here (its own parents all cancelled) takes its waiting
    // descendants with it, not a child running too; that child, recovered after it, sees it gone
    // and is cancelled in turn. A child may come before its parent in the map (a parent requeued
    // from history is put back after it).
    for (const next of parentsFirst(job, recoverable, (seen ??= new Set()))) {
      if (requeued + foundDead >= limit) break
      // queue_job's dead-job rule: past maxRetries (0 = infinite) the job fails as found dead.
      const dead = next.maxRetries !== 0 && next.retry > next.maxRetries
      if (dead) foundDead++
      else requeued++
      out.push({ seq: 0, v, at: nowMs, type: 'job.recovered', uuid: next.uuid, dead })
      if (!dead) cancelIfOrphaned(next, nowMs, out, (gone ??= new Set()))
    }
  }
  return { requeued, foundDead }
}

/** A handler's progress, unless its run no longer owns the job: then, as for a stale outcome,
 * there is nothing to report into. */
function decideProgress(state: State, command: Extract<Command, { type: 'progress' }>, nowMs: number, out: WharfEvent[]): DecideNote {
  const job = state.jobs.get(command.uuid)
  if (job === undefined || job.state !== 'started' || job.runs !== command.run) return undefined
  out.push({ seq: 0, v, at: nowMs, type: 'job.progressed', uuid: job.uuid, run: command.run, fraction: command.fraction, message: command.message })
  return undefined
}

/**
 * Remove from history the jobs the shell picked that it still holds. Not a graph restored to
 * memory since the shell read history (it is live again), nor a job a vacuum earlier in this
 * batch removed: two vacuums may both read history before either is decided, and deleting a job
 * twice would count it out of history twice.
 */
function decideVacuum(state: State, jobs: readonly JobView[], nowMs: number, out: WharfEvent[]): DecideNote {
  const gone = vacuumedIn(out)
  const taken: JobView[] = []
  for (const job of jobs) {
    if (state.jobs.has(job.uuid) || state.retired.has(job.uuid) || gone.has(job.uuid) || (job.graphUuid !== null && state.graphs.has(job.graphUuid))) continue
    gone.add(job.uuid) // named twice by the shell: removed once
    taken.push(job)
  }
  if (taken.length > 0) {
    out.push({ seq: 0, v, at: nowMs, type: 'jobs.vacuumed', uuids: taken.map((job) => job.uuid) })
    // Their batches count them out (the event names jobs, not batches).
    const trimmed = trimmedEvent(taken, nowMs)
    if (trimmed !== null) out.push(trimmed)
  }
  return { removed: taken.length }
}

/** Jobs the vacuums and removals of this batch so far took away (history, read by the shell
 * before the tick, still holds them). */
const vacuumedIn = goneFromHistoryIn

function decideEnqueue(
  state: State,
  specs: JobSpec[],
  joins: GraphJoin[] | undefined,
  historyUuids: string[] | undefined,
  ends: number[] | undefined,
  nowMs: number,
  out: WharfEvent[],
): DecideNote {
  // Joins first: a finished job made a parent (`a.onDone(d).delay()` after `a` ran) is not in
  // the state, and enqueueRefusal would call it "neither stored nor earlier in its graph".
  if (joins !== undefined) {
    for (const join of joins) {
      const refused = joinRefusal(state, join)
      if (refused !== null) return { error: new InvalidGraphError(`job ${join.uuid} cannot be re-stored into graph ${join.graphUuid}: ${refused}`) }
    }
  }
  const refusal = enqueueRefusal(state, specs, historyUuids, ends, 'delayMany()')
  if (refusal !== null) return { error: refusal }
  if (ends !== undefined) return decideEnqueueMany(state, specs, ends, joins, nowMs, out)
  if (specs.length === 1 && specs[0]!.identityKey === null && joins === undefined) {
    out.push({ seq: 0, v, at: nowMs, type: 'job.created', job: specs[0]! })
    return undefined
  }
  // queue_job: the graph is skipped only when every job that has an identity key matches an
  // existing job in a blocking state; then nothing at all is stored.
  let keyed = 0
  let matched = 0
  const existing: (string | null)[] = []
  for (const spec of specs) {
    if (spec.identityKey === null) {
      existing.push(null)
      continue
    }
    keyed++
    const holder = state.identity.get(spec.identityKey)?.[0]
    if (holder !== undefined) matched++
    existing.push(holder?.uuid ?? null)
  }
  if (keyed > 0 && matched === keyed) return { existing }
  for (let i = 0; i < specs.length; i++) out.push({ seq: 0, v, at: nowMs, type: 'job.created', job: specs[i]! })
  // After every new job: a joined job's parents may be among them.
  if (joins !== undefined) {
    for (const join of joins) {
      out.push({ seq: 0, v, at: nowMs, type: 'job.joined_graph', uuid: join.uuid, graphUuid: join.graphUuid, dependsOn: join.dependsOn })
    }
  }
  return undefined
}

/** Why a stored job cannot join a graph now (null: it can). Only a job delayed alone and still
 * pending can (queue_job re-stores it): one that ran, or waits in another graph, has a history. */
function joinRefusal(state: State, join: GraphJoin): string | null {
  const job = state.jobs.get(join.uuid)
  if (job === undefined) {
    // In history as the shell read it before the tick, or finished earlier in this tick (outbox).
    const finished = join.finished ?? state.retired.get(join.uuid)?.state
    return finished === undefined ? 'it is not stored any more' : `it is ${finished}, and only a job still pending can be`
  }
  if (job.state !== 'pending') return `it is ${job.state}, and only a job still pending can be`
  if (job.graphUuid !== null) return `it is already part of graph ${job.graphUuid}`
  // Its parents would be outside its batch: the batch's state assumes they never are.
  if (job.batch !== null) return `it is a job of batch ${job.batch.uuid}`
  return null
}

function outcomeEvent(
  job: JobRecord,
  outcome: HandlerOutcome,
  pattern: Parameters<typeof retryDelaySeconds>[0],
  entropy: number,
  nowMs: number,
): WharfEvent {
  // Plain literals, not spreads of a shared base: this runs once per finished job.
  const uuid = job.uuid
  switch (outcome.kind) {
    case 'returned':
      return { seq: 0, v, at: nowMs, type: 'job.done', uuid, result: outcome.result, manual: false }
    case 'nothing_to_do':
      return { seq: 0, v, at: nowMs, type: 'job.done', uuid, result: outcome.message, manual: false }
    case 'failed':
      return { seq: 0, v, at: nowMs, type: 'job.failed', uuid, excName: outcome.excName, excMessage: outcome.excMessage, excInfo: outcome.excInfo }
    case 'retryable': {
      // queue_job's perform(): ignoreRetry never fails; maxRetries 0 retries forever; otherwise
      // the try that reaches maxRetries fails with "Max. retries (N) reached".
      const exhausted = !outcome.ignoreRetry && job.maxRetries !== 0 && job.retry >= job.maxRetries
      if (exhausted) {
        return {
          seq: 0,
          v,
          at: nowMs,
          type: 'job.failed',
          uuid,
          excName: 'FailedJobError',
          excMessage: `Max. retries (${job.maxRetries}) reached: ${outcome.message}`,
          excInfo: outcome.excInfo,
        }
      }
      // queue_job's perform() takes an ignored try back (retry -= 1) before postpone() looks the
      // pattern up: the step is that of the tries that count.
      const delaySeconds = retryDelaySeconds(pattern, job.retry + (outcome.ignoreRetry ? -1 : 0), outcome.seconds, entropy)
      return {
        seq: 0,
        v,
        at: nowMs,
        type: 'job.postponed',
        uuid,
        // Bounded delays (DELAY_SECONDS_MAX) from a clock late in year 9999 could still pass it.
        // Whole ms, as an eta property is (a jittered `seconds` has a fraction of a ms).
        eta: Math.min(nowMs + Math.round(delaySeconds * 1000), TIME_MS_MAX),
        message: outcome.message,
        retryAdjust: outcome.ignoreRetry ? -1 : 0,
      }
    }
    default:
      return assertNever(outcome, 'handler outcome')
  }
}

/** Decided on `job` before its event is applied: a started job's handler must be aborted. */
function supersededNote(job: JobRecord): DecideNote {
  return job.state === 'started' ? { superseded: { uuid: job.uuid, run: job.runs } } : undefined
}

/** cancel, requeue or setDone of a job: in memory here, else from history (decideFinished). */
function decideManagement(
  state: State,
  command: Extract<Command, { type: 'cancel' | 'requeue' | 'setDone' }>,
  nowMs: number,
  out: WharfEvent[],
): DecideNote {
  const job = state.jobs.get(command.uuid)
  if (job === undefined) return decideFinished(state, command, nowMs, out)
  const refused = notFrom(command, job)
  if (refused !== null) return { error: refused }
  switch (command.type) {
    case 'cancel': {
      if (job.state === 'cancelled') return undefined
      const cascade = cascadeOfCancel(job).map((j) => j.uuid)
      out.push({ seq: 0, v, at: nowMs, type: 'job.cancelled', uuid: job.uuid, cascade })
      return supersededNote(job)
    }
    case 'requeue': {
      if (job.state === 'wait_dependencies') return undefined // queue_job skips these
      const conflict = identityConflict(state, job)
      if (conflict !== null) return { error: keyConflict(job, conflict) }
      out.push({ seq: 0, v, at: nowMs, type: 'job.requeued', uuid: job.uuid })
      return supersededNote(job)
    }
    case 'setDone':
      if (job.state === 'done') return undefined
      out.push({ seq: 0, v, at: nowMs, type: 'job.done', uuid: job.uuid, result: 'Manually set to done', manual: true })
      return supersededNote(job)
    default:
      return assertNever(command, 'management command')
  }
}

/**
 * cancel, requeue or setDone of a job not in memory: a finished job, brought back from history
 * (the graph the shell read, or this batch's outbox) when the command changes it. A cancelled
 * job's cascade is empty: every job of its graph is finished, so none is waiting.
 */
function decideFinished(
  state: State,
  command: Extract<Command, { type: 'cancel' | 'requeue' | 'setDone' }>,
  nowMs: number,
  out: WharfEvent[],
): DecideNote {
  // This batch's outbox first: a command before this one in the tick may have changed the graph
  // since the shell read it from history, or vacuumed it (then it is gone, as if never read).
  const graph = retiredGraphOf(state, command.uuid) ?? (vacuumedIn(out).has(command.uuid) ? undefined : command.restore)
  const job = graph?.find((j) => j.uuid === command.uuid)
  if (graph === undefined || job === undefined) return { error: new UnknownJobError(command.uuid) }
  if (!isFinished(job.state)) fail(`job ${job.uuid} is ${job.state} in history`)
  const refused = notFrom(command, job)
  if (refused !== null) return { error: refused }
  const uuid = job.uuid
  switch (command.type) {
    case 'cancel':
      if (job.state === 'cancelled') return undefined
      out.push({ seq: 0, v, at: nowMs, type: 'jobs.restored', jobs: graph })
      out.push({ seq: 0, v, at: nowMs, type: 'job.cancelled', uuid, cascade: [] })
      return undefined
    case 'setDone':
      if (job.state === 'done') return undefined
      out.push({ seq: 0, v, at: nowMs, type: 'jobs.restored', jobs: graph })
      out.push({ seq: 0, v, at: nowMs, type: 'job.done', uuid, result: 'Manually set to done', manual: true })
      return undefined
    case 'requeue': {
      const holder = job.identityKey === null ? undefined : state.identity.get(job.identityKey)?.[0]
      if (holder !== undefined) return { error: keyConflict(job, holder) }
      out.push({ seq: 0, v, at: nowMs, type: 'jobs.restored', jobs: graph })
      out.push({ seq: 0, v, at: nowMs, type: 'job.requeued', uuid })
      return undefined
    }
  }
}

const ACTION_WORDS = { cancel: 'cancel', requeue: 'requeue', setDone: 'set done' } as const

/** The refusal of a management command whose `from` does not hold the job's state (null: none). */
function notFrom(command: Extract<Command, { type: 'cancel' | 'requeue' | 'setDone' }>, job: { uuid: string; state: JobState }): JobStateConflictError | null {
  if (command.from === undefined || command.from.includes(job.state)) return null
  const states = command.from.map((s) => s.replace('_', ' ')).join(', ')
  return new JobStateConflictError(
    `job ${job.uuid} is ${job.state.replace('_', ' ')}: ${ACTION_WORDS[command.type]} acts only on jobs that are ${states}; it was left as it is`,
  )
}

function keyConflict(job: { uuid: string; identityKey: string | null }, holder: JobRecord): JobStateConflictError {
  return new JobStateConflictError(
    `cannot requeue job ${job.uuid}: its identity key ${JSON.stringify(job.identityKey)} ` +
      `is held by job ${holder.uuid} (${holder.state}); cancel or finish that one first`,
  )
}

/** Another job that holds `job`'s identity key, if putting `job` back in a blocking state would duplicate it. */
function identityConflict(state: State, job: JobRecord): JobRecord | null {
  if (job.identityKey === null || isBlocking(job.state)) return null
  return state.identity.get(job.identityKey)?.[0] ?? null
}
