// How a try's return or throw becomes its outcome (a `finish` command's HandlerOutcome). The same
// rules run in the main thread for in-process handlers and inside a worker thread for threaded
// ones (thread-entry.ts), where the thrown value still has its class; the outcome computed there
// travels back attached to the error the main thread rethrows (errorOfOutcome), so both kinds of
// handler end a try the same way.

import type { HandlerOutcome } from '../core/commands.js'
import { EXC_MESSAGE_LENGTH_MAX } from '../core/limits.js'
import { NothingToDoJob, RetryableJobError } from '../errors.js'
import { cloneSerializable } from '../../storage/serialize.js'

/** Errors rebuilt from a worker thread's outcome, with that outcome (see errorOfOutcome). */
const computed = new WeakMap<object, HandlerOutcome>()

/** Most handlers return nothing: one shared outcome for them. */
const RETURNED_NOTHING: HandlerOutcome = Object.freeze({ kind: 'returned', result: null })

/** A result is stored like arguments are: one the log cannot hold fails the try, naming where
 * (queue_job would store str(result); a silent string form hides the bug until someone reads it).
 * Whatever else copying it throws (a getter of the result) fails the try too, never the engine. */
export function outcomeOfValue(value: unknown): HandlerOutcome {
  if (value === undefined || value === null) return RETURNED_NOTHING
  try {
    return { kind: 'returned', result: cloneSerializable(value, 'result') }
  } catch (error) {
    return outcomeOfError(error)
  }
}

export function outcomeOfError(error: unknown): HandlerOutcome {
  const fromThread = error instanceof Error ? computed.get(error) : undefined
  if (fromThread !== undefined) return fromThread
  if (error instanceof NothingToDoJob) return { kind: 'nothing_to_do', message: error.message }
  if (error instanceof RetryableJobError) {
    return {
      kind: 'retryable',
      message: error.message,
      seconds: error.seconds,
      ignoreRetry: error.ignoreRetry,
      excName: error.name,
      excInfo: error.stack ?? '',
    }
  }
  if (error instanceof Error) {
    return { kind: 'failed', excName: error.constructor.name || error.name, excMessage: error.message, excInfo: error.stack ?? String(error) }
  }
  // A thrown non-Error is kept: its type as the name, its JSON as the message (bounded).
  const message = jsonOf(error).slice(0, EXC_MESSAGE_LENGTH_MAX)
  return { kind: 'failed', excName: typeof error, excMessage: message, excInfo: message }
}

/**
 * What a threaded try that did not return throws in the main thread: a NothingToDoJob or a
 * RetryableJobError (so a direct call's caller can tell them apart), else an Error named as the
 * thrown value was, with its message and the worker's stack. outcomeOfError() gives back
 * `outcome` itself, exactly as the worker computed it.
 */
export function errorOfOutcome(outcome: Exclude<HandlerOutcome, { kind: 'returned' }>): Error {
  let error: Error
  if (outcome.kind === 'nothing_to_do') error = new NothingToDoJob(outcome.message)
  else if (outcome.kind === 'retryable') {
    error = new RetryableJobError(outcome.message, { seconds: outcome.seconds, ignoreRetry: outcome.ignoreRetry })
    error.stack = outcome.excInfo
  } else {
    error = new Error(outcome.excMessage)
    error.name = outcome.excName
    error.stack = outcome.excInfo
  }
  computed.set(error, outcome)
  return error
}

/** JSON of a thrown value; what JSON cannot write (undefined, a symbol, a bigint, a cycle) as text. */
function jsonOf(value: unknown): string {
  try {
    const json = JSON.stringify(value)
    if (json !== undefined) return json
  } catch {
    // a cycle, a bigint, a throwing toJSON: fall through to the text form
  }
  try {
    return typeof value === 'bigint' ? `${value}n` : String(value)
  } catch {
    return Object.prototype.toString.call(value) // an object without toString (null prototype)
  }
}
