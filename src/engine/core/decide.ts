// decide(state, command, nowMs): the decisions of the core, as events (or a typed refusal).
// It reads the state and never changes it; the shell stamps `seq` on the events and applies
// them with evolve before deciding the next command, so each decision sees the one before.

import { assertNever } from './assert.js'
import type { Command, HandlerOutcome } from './commands.js'
import { EVENT_FORMAT_VERSION as v, type JobSpec, type WharfEvent } from './events.js'
import { cascadeOfCancel } from './graph.js'
import { retryDelaySeconds } from './retry.js'
import { BLOCKING_STATES, type JobRecord, type State } from './state.js'
import { JobStateConflictError, UnknownJobError, type WharfError } from '../errors.js'

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

const NOTHING: Decision = Object.freeze({ ok: true, events: [], existing: null }) as Decision

export function decide(state: State, command: Command, nowMs: number): Decision {
  switch (command.type) {
    case 'enqueue':
      return decideEnqueue(state, command.jobs, nowMs)
    case 'start':
      return one({ seq: 0, v, at: nowMs, type: 'job.started', uuid: command.uuid })
    case 'finish': {
      const job = state.jobs.get(command.uuid)
      // The job was set done, cancelled or requeued while its handler ran: that run's
      // outcome no longer decides anything.
      if (job === undefined || job.state !== 'started' || job.runs !== command.run) return NOTHING
      return one(outcomeEvent(job, command.outcome, command.retryPattern, command.entropy, nowMs))
    }
    case 'cancel': {
      const job = state.jobs.get(command.uuid)
      if (job === undefined) return refuse(new UnknownJobError(command.uuid))
      if (job.state === 'cancelled') return NOTHING
      const cascade = cascadeOfCancel(job).map((j) => j.uuid)
      return one({ seq: 0, v, at: nowMs, type: 'job.cancelled', uuid: job.uuid, cascade })
    }
    case 'requeue': {
      const job = state.jobs.get(command.uuid)
      if (job === undefined) return refuse(new UnknownJobError(command.uuid))
      if (job.state === 'wait_dependencies') return NOTHING // queue_job skips these
      const conflict = identityConflict(state, job)
      if (conflict !== null) {
        return refuse(
          new JobStateConflictError(
            `cannot requeue job ${job.uuid}: its identity key ${JSON.stringify(job.identityKey)} ` +
              `is held by job ${conflict.uuid} (${conflict.state}); cancel or finish that one first`,
          ),
        )
      }
      return one({ seq: 0, v, at: nowMs, type: 'job.requeued', uuid: job.uuid })
    }
    case 'setDone': {
      const job = state.jobs.get(command.uuid)
      if (job === undefined) return refuse(new UnknownJobError(command.uuid))
      if (job.state === 'done') return NOTHING
      return one({ seq: 0, v, at: nowMs, type: 'job.done', uuid: job.uuid, result: 'Manually set to done', manual: true })
    }
    case 'pauseChannel': {
      if (state.channels.get(command.channel)?.paused === true) return NOTHING
      return one({ seq: 0, v, at: nowMs, type: 'channel.paused', channel: command.channel })
    }
    case 'resumeChannel': {
      const node = state.channels.get(command.channel)
      if (node === undefined || !node.paused) return NOTHING
      return one({ seq: 0, v, at: nowMs, type: 'channel.resumed', channel: command.channel })
    }
    default:
      return assertNever(command, 'command')
  }
}

function decideEnqueue(state: State, specs: JobSpec[], nowMs: number): Decision {
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
  if (keyed > 0 && matched === keyed) return { ok: true, events: [], existing }
  const events: WharfEvent[] = new Array(specs.length)
  for (let i = 0; i < specs.length; i++) {
    events[i] = { seq: 0, v, at: nowMs, type: 'job.created', job: specs[i]! }
  }
  return { ok: true, events, existing: null }
}

function outcomeEvent(
  job: JobRecord,
  outcome: HandlerOutcome,
  pattern: Parameters<typeof retryDelaySeconds>[0],
  entropy: number,
  nowMs: number,
): WharfEvent {
  const base = { seq: 0, v, at: nowMs, uuid: job.uuid } as const
  switch (outcome.kind) {
    case 'returned':
      return { ...base, type: 'job.done', result: outcome.result, manual: false }
    case 'nothing_to_do':
      return { ...base, type: 'job.done', result: outcome.message, manual: false }
    case 'failed':
      return { ...base, type: 'job.failed', excName: outcome.excName, excMessage: outcome.excMessage, excInfo: outcome.excInfo }
    case 'retryable': {
      // queue_job's perform(): ignoreRetry never fails; maxRetries 0 retries forever; otherwise
      // the try that reaches maxRetries fails with "Max. retries (N) reached".
      const exhausted = !outcome.ignoreRetry && job.maxRetries !== 0 && job.retry >= job.maxRetries
      if (exhausted) {
        return {
          ...base,
          type: 'job.failed',
          excName: 'FailedJobError',
          excMessage: `Max. retries (${job.maxRetries}) reached: ${outcome.message}`,
          excInfo: outcome.excInfo,
        }
      }
      const delaySeconds = retryDelaySeconds(pattern, job.retry, outcome.seconds, entropy)
      return {
        ...base,
        type: 'job.postponed',
        eta: nowMs + delaySeconds * 1000,
        message: outcome.message,
        retryAdjust: outcome.ignoreRetry ? -1 : 0,
      }
    }
    default:
      return assertNever(outcome, 'handler outcome')
  }
}

/** Another job that holds `job`'s identity key, if putting `job` back in a blocking state would duplicate it. */
function identityConflict(state: State, job: JobRecord): JobRecord | null {
  if (job.identityKey === null || BLOCKING_STATES.has(job.state)) return null
  return state.identity.get(job.identityKey)?.[0] ?? null
}

function one(event: WharfEvent): Decision {
  return { ok: true, events: [event], existing: null }
}

function refuse(error: WharfError): Decision {
  return { ok: false, error }
}
