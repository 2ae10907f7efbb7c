// Every expected refusal is one of these classes, with a stable `code` that callers can switch on.
// A failed assertion (a bug) is an AssertionError from core/assert.ts, never one of these.

import { describe } from './core/describe.js'
import { DELAY_SECONDS_MAX } from './core/limits.js'

export abstract class WharfError extends Error {
  abstract readonly code: string
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** An expected refusal says where it arose, ahead of its message (its class, code and fields
 * stay): the value a check refused is named by the call that checked it, e.g. `args[0]`, and only
 * its caller knows which element or cron that call was about. Anything else passes unchanged. */
export function refusalAt(error: unknown, where: string): unknown {
  if (!(error instanceof WharfError)) return error
  const was = error.message
  error.message = `${where}: ${was}`
  if (error.stack?.includes(was) === true) error.stack = error.stack.replace(was, error.message)
  return error
}

/**
 * Thrown by a handler: postpone the job until maxRetries — by `seconds` when given (0 = retry at
 * once), else by the retry pattern, else 600 s.
 */
export class RetryableJobError extends WharfError {
  readonly code = 'RETRYABLE_JOB'
  readonly seconds: number | undefined
  readonly ignoreRetry: boolean
  constructor(message: string, options: { seconds?: number; ignoreRetry?: boolean } = {}) {
    super(message)
    const seconds = options.seconds
    // Checked here, where the handler's author sees it: the core would compute an eta from it.
    if (seconds !== undefined && !validRetrySeconds(seconds)) throw new InvalidPropertyError(`${retrySecondsRule}, got ${describe(seconds)}`)
    this.seconds = seconds
    this.ignoreRetry = options.ignoreRetry ?? false
  }
}

/** What RetryableJobError's `seconds` may be (checked again on the thrown error: it can be changed). */
export function validRetrySeconds(seconds: unknown): seconds is number {
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 && seconds <= DELAY_SECONDS_MAX
}

export const retrySecondsRule = `RetryableJobError: seconds must be a finite number from 0 (retry at once) to DELAY_SECONDS_MAX (${DELAY_SECONDS_MAX})`

/** Thrown by a handler (or by the engine when retries run out): the job fails. */
export class FailedJobError extends WharfError {
  readonly code = 'FAILED_JOB'
}

/** Thrown by a handler: the job is done, with this message as its result. */
export class NothingToDoJob extends WharfError {
  readonly code = 'NOTHING_TO_DO'
  constructor(message?: string) {
    super(message ?? 'Job interrupted and set to Done: nothing to do.')
  }
}

/**
 * The reason a handler's `signal` aborts when its job was cancelled, requeued or set done while
 * it ran: the job already has its new state, and this try's outcome will be ignored.
 */
export class JobSupersededError extends WharfError {
  readonly code = 'JOB_SUPERSEDED'
}

/** A handler ran longer than its function's `timeoutMs`; treated as retryable. */
export class JobTimeoutError extends WharfError {
  readonly code = 'JOB_TIMEOUT'
}

export class InvalidChannelConfigError extends WharfError {
  readonly code = 'INVALID_CHANNEL_CONFIG'
}

export class InvalidPropertyError extends WharfError {
  readonly code = 'INVALID_PROPERTY'
}

export class NotSerializableError extends WharfError {
  readonly code = 'NOT_SERIALIZABLE'
  /** Where the bad value was, e.g. `args[0].when[2]`. */
  readonly path: string
  constructor(message: string, path: string) {
    super(message)
    this.path = path
  }
}

export class UnknownJobError extends WharfError {
  readonly code = 'UNKNOWN_JOB'
  readonly uuid: string
  /** Why there is no such job, when it is known; null otherwise. */
  readonly detail: string | null
  /** `detail`: what the uuid names instead, when it is known (a batch's onDone job not stored yet). */
  constructor(uuid: string, detail?: string) {
    super(`no job with uuid ${JSON.stringify(uuid)}${detail === undefined ? '' : `: ${detail}`}`)
    this.uuid = uuid
    this.detail = detail ?? null
  }
}

/** A model, method or job function name (or its configuration) that Wharf cannot use. */
export class InvalidJobFunctionError extends WharfError {
  readonly code = 'INVALID_JOB_FUNCTION'
}

/** A delayable graph that cannot be stored: a cycle, a node without a method, too many nodes. */
export class InvalidGraphError extends WharfError {
  readonly code = 'INVALID_GRAPH'
}

/** A manual operation that would break an invariant (e.g. requeue onto a taken identity key). */
export class JobStateConflictError extends WharfError {
  readonly code = 'JOB_STATE_CONFLICT'
}

/** The engine was closed (or is closing) and cannot take this call. */
export class WharfClosedError extends WharfError {
  readonly code = 'WHARF_CLOSED'
}

export class StorageLockedError extends WharfError {
  readonly code = 'STORAGE_LOCKED'
  readonly path: string
  constructor(path: string, options?: { cause?: unknown }) {
    super(`the Wharf data directory ${JSON.stringify(path)} is in use by another process or by a Wharf still open in this one (LevelDB lock held)`, options)
    this.path = path
  }
}

/**
 * Another process holds the PostgreSQL schema (its session advisory lock). One process per schema
 * is what 0.3's first milestone supports; several processes as one cluster come next.
 */
export class SchemaLockedError extends WharfError {
  readonly code = 'SCHEMA_LOCKED'
  readonly schema: string
  constructor(schema: string) {
    super(
      `the PostgreSQL schema ${JSON.stringify(schema)} is in use by another Wharf process (it holds the schema's advisory lock); ` +
        'running several processes on one schema (election and fencing) is the next milestone and not supported yet: close the other process, or give this one its own `schema`',
    )
    this.schema = schema
  }
}

/**
 * Wharf.open() on PostgreSQL with a `node` name that a live member of the schema's cluster holds
 * (its session holds the name's lock). Two processes under one name would share one member row,
 * each overwriting the other's. Refused before anything was written. A dead process's name is
 * free again as soon as its PostgreSQL session has ended.
 */
export class NodeNameInUseError extends WharfError {
  readonly code = 'NODE_NAME_IN_USE'
  readonly schema: string
  readonly node: string
  /** How old the holder's heartbeat was (ms); null when it has written none yet (it is opening). */
  readonly heartbeatAgeMs: number | null
  constructor(schema: string, node: string, heartbeatAgeMs: number | null) {
    const age = heartbeatAgeMs === null ? 'it is opening: no heartbeat yet' : `its last heartbeat is ${(heartbeatAgeMs / 1000).toFixed(1)} s old`
    super(
      `the node name ${JSON.stringify(node)} is in use in the cluster of PostgreSQL schema ${JSON.stringify(schema)}: a live process holds it (${age}); ` +
        'give this process a name of its own (the `node` option), or close the other one (a dead process\'s name is free again once its session has ended)',
    )
    this.schema = schema
    this.node = node
    this.heartbeatAgeMs = heartbeatAgeMs
  }
}

/**
 * This process was the scheduler of a PostgreSQL schema and another process has taken over (a
 * higher term; its session and lock were lost). Nothing of the refused write was stored. A deposed
 * Wharf closes: every later call is refused with this error; open it again to rejoin the cluster
 * as a follower.
 */
export class SchedulerDeposedError extends WharfError {
  readonly code = 'SCHEDULER_DEPOSED'
  readonly schema: string
  constructor(message: string, schema: string) {
    super(message)
    this.schema = schema
  }
}

export class LogCorruptionError extends WharfError {
  readonly code = 'LOG_CORRUPTION'
  readonly seq: number
  constructor(message: string, seq: number, options?: { cause?: unknown }) {
    super(message, options)
    this.seq = seq
  }
}

/** pauseChannel/resumeChannel of a channel that is neither configured nor used by any job. */
export class UnknownChannelError extends WharfError {
  readonly code = 'UNKNOWN_CHANNEL'
  readonly channel: string
  constructor(channel: string) {
    super(`no channel ${JSON.stringify(channel)}: it is neither configured (channels option) nor used by a job; check the name`)
    this.channel = channel
  }
}

/** removeCron/pauseCron/resumeCron of a name no cron has. */
export class UnknownCronError extends WharfError {
  readonly code = 'UNKNOWN_CRON'
  readonly cronName: string
  constructor(name: string) {
    super(`no cron named ${JSON.stringify(name)}; wharf.crons() lists the crons declared`)
    this.cronName = name
  }
}

/** The storage under Wharf cannot be used: a path that is not a Wharf store, an I/O failure. */
export class StorageError extends WharfError {
  readonly code = 'STORAGE'
}

/** wharf.result(): the job failed (its handler's error, or retries ran out, or found dead). */
export class JobFailedError extends WharfError {
  readonly code = 'JOB_FAILED'
  readonly uuid: string
  /** The job's excName and excMessage, as JobView has them. */
  readonly excName: string
  readonly excMessage: string
  constructor(uuid: string, excName: string, excMessage: string) {
    super(`job ${JSON.stringify(uuid)} failed: ${excName}: ${excMessage}`)
    this.uuid = uuid
    this.excName = excName
    this.excMessage = excMessage
  }
}

/** wharf.result(): the job was cancelled (itself, or with a cancelled parent). */
export class JobCancelledError extends WharfError {
  readonly code = 'JOB_CANCELLED'
  readonly uuid: string
  constructor(uuid: string) {
    super(`job ${JSON.stringify(uuid)} was cancelled: it has no result`)
    this.uuid = uuid
  }
}

/** wharf.result(uuid, { timeoutMs }): the job had not finished when timeoutMs of clock time had
 * passed. Only the wait ends: the job goes on. */
export class ResultTimeoutError extends WharfError {
  readonly code = 'RESULT_TIMEOUT'
  readonly uuid: string
  readonly timeoutMs: number
  constructor(uuid: string, timeoutMs: number) {
    super(`result(): job ${JSON.stringify(uuid)} did not finish within timeoutMs (${timeoutMs} ms); it goes on, call result() again to wait longer`)
    this.uuid = uuid
    this.timeoutMs = timeoutMs
  }
}

/** A handler called drain() or close() of its own Wharf (idle() in a cluster), which waits for
 * every handler to end, this one included, which waits for the call: it would never end. */
export class SelfWaitError extends WharfError {
  readonly code = 'SELF_WAIT'
  /** The job whose handler made the call. */
  readonly uuid: string
  constructor(call: string, uuid: string, name: string, instead: string) {
    super(
      `${call} called by the handler of job ${JSON.stringify(uuid)} (${name}) on its own Wharf: it waits for every handler to end, this one included, which waits for it, so it would never end; ${instead}`,
    )
    this.uuid = uuid
  }
}

/** restoreBackup(): the directory is not a whole, undamaged backup written by wharf.backup(). */
export class InvalidBackupError extends WharfError {
  readonly code = 'INVALID_BACKUP'
  readonly path: string
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`restoreBackup(): ${JSON.stringify(path)} is not a whole backup written by wharf.backup(): ${reason}`, options)
    this.path = path
  }
}
