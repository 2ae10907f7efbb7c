// How a try's return or throw becomes its outcome (a `finish` command's HandlerOutcome). The same
// rules run in the main thread for in-process handlers and inside a worker thread for threaded
// ones (thread-entry.ts), where the thrown value still has its class; the outcome computed there
// travels back attached to the error the main thread rethrows (errorOfOutcome), so both kinds of
// handler end a try the same way.

import type { HandlerOutcome } from '../core/commands.js'
import { cutText } from '../core/cut-text.js'
import { EXC_MESSAGE_LENGTH_MAX, EXC_NAME_LENGTH_MAX, EXC_TEXT_LENGTH_MAX } from '../core/limits.js'
import { describe } from '../core/describe.js'
import { InvalidPropertyError, NothingToDoJob, RetryableJobError, retrySecondsRule, validRetrySeconds } from '../errors.js'
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

/**
 * The outcome of a thrown value. Total: the value is the handler's, so anything it does when read
 * (a getter of its message or stack that throws, a message that is a number, a `seconds` set to
 * NaN after the check in RetryableJobError's constructor) ends the try, never the engine, and the
 * outcome holds strings where JobView has them.
 */
export function outcomeOfError(error: unknown): HandlerOutcome {
  try {
    return outcomeOf(error)
  } catch (failure) {
    // Reading the value threw before its fields could each be read safely (a Proxy's traps).
    const message = `the thrown value could not be read: ${textOf(() => (failure as Error).message, () => String(failure))}`
    return { kind: 'failed', excName: 'Error', excMessage: message, excInfo: message }
  }
}

function outcomeOf(error: unknown): HandlerOutcome {
  const fromThread = error instanceof Error ? computed.get(error) : undefined
  if (fromThread !== undefined) return fromThread
  if (error instanceof NothingToDoJob) return { kind: 'nothing_to_do', message: cutText(textOf(() => error.message, () => ''), EXC_TEXT_LENGTH_MAX) }
  if (error instanceof Error) {
    const excName = nameOf(error)
    const excMessage = cutText(textOf(() => error.message, () => ''), EXC_TEXT_LENGTH_MAX)
    const excInfo = cutText(textOf(() => error.stack, () => (excMessage === '' ? excName : `${excName}: ${excMessage}`)), EXC_TEXT_LENGTH_MAX)
    if (!(error instanceof RetryableJobError)) return { kind: 'failed', excName, excMessage, excInfo }
    const seconds = read(() => error.seconds)
    if (seconds !== undefined && !validRetrySeconds(seconds)) {
      const refused = new InvalidPropertyError(`${retrySecondsRule}, got ${describe(seconds)} (set on the error after it was made)`)
      return { kind: 'failed', excName: refused.name, excMessage: refused.message, excInfo: excInfo }
    }
    return { kind: 'retryable', message: excMessage, seconds, ignoreRetry: Boolean(read(() => error.ignoreRetry)), excName, excInfo }
  }
  // A thrown non-Error is kept: its type as the name, its JSON as the message (bounded).
  const message = cutText(jsonOf(error), EXC_MESSAGE_LENGTH_MAX)
  return { kind: 'failed', excName: typeof error, excMessage: message, excInfo: message }
}

/** The class name of a thrown Error (excName), else its `name`, else 'Error'; cut at
 * EXC_NAME_LENGTH_MAX (a class may be named at runtime, and the name is stored with each try). */
function nameOf(error: Error): string {
  const name = read(() => (error.constructor as { name?: unknown } | undefined)?.name)
  if (typeof name === 'string' && name !== '') return cutText(name, EXC_NAME_LENGTH_MAX)
  return cutText(textOf(() => error.name, () => 'Error'), EXC_NAME_LENGTH_MAX)
}

/** What `get` reads, or undefined when it throws. */
function read(get: () => unknown): unknown {
  try {
    return get()
  } catch {
    return undefined
  }
}

/** A field of a thrown value as text: a string as is; undefined, null, or a getter that throws
 * gives `fallback()`; anything else its JSON (a message set to 42 is '42'). */
function textOf(get: () => unknown, fallback: () => string): string {
  const value = read(get)
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return fallback()
  return cutText(jsonOf(value), EXC_MESSAGE_LENGTH_MAX)
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
