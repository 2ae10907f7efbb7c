// What goes through a cluster's inbox and reply tables: a follower's call (a core command, and
// the name of the function that turns its decision into the caller's answer — functions do not
// travel, names do: cluster-results.ts in the API layer holds the table), and the scheduler's
// answer or refusal. Values are lossless JSON (tagged-json.ts: Dates, -0, NaN survive), so the
// follower's caller gets what an embedded caller would; a refusal comes back as the same error
// class with the same code, message and fields.

import type { Command } from '../core/commands.js'
import * as errors from '../errors.js'
import { tag, untag } from '../../storage/tagged-json.js'
import type { ResultOf } from './submissions.js'

/** The answer functions a call may name, by name (filled by the API layer, which owns them). */
export type ResultTable = ReadonlyMap<string, ResultOf<unknown>>

/** The name of the function that answers a call without a result (NO_RESULT in submissions.ts). */
export const NO_RESULT_NAME = '-'

/** The name a call posted without a reply travels under (a handler's outcome or progress): the
 * scheduler applies it as one without a result, deletes its row, and writes no answer. */
export const NO_REPLY_NAME = '!'

export interface Call {
  command: Command
  /** A name of the ResultTable, or NO_RESULT_NAME. */
  result: string
}

export type Answer = { ok: true; value: unknown } | { ok: false; error: unknown }

export function encodeCall(call: Call): Uint8Array {
  return Buffer.from(JSON.stringify(tag(call)), 'utf8')
}

export function decodeCall(bytes: Uint8Array): Call {
  const call = untag(JSON.parse(Buffer.from(bytes).toString('utf8'))) as Call
  if (call === null || typeof call !== 'object' || typeof call.result !== 'string' || typeof call.command?.type !== 'string') {
    throw new errors.StorageError(`an inbox row holds no call: ${Buffer.from(bytes).toString('utf8').slice(0, 200)}`)
  }
  return call
}

export function encodeAnswer(answer: Answer): Uint8Array {
  const wire = answer.ok ? { ok: true, value: answer.value } : { ok: false, error: errorToWire(answer.error) }
  return Buffer.from(JSON.stringify(tag(wire)), 'utf8')
}

export function decodeAnswer(bytes: Uint8Array): Answer {
  const wire = untag(JSON.parse(Buffer.from(bytes).toString('utf8'))) as { ok: boolean; value?: unknown; error?: WireError }
  return wire.ok ? { ok: true, value: wire.value } : { ok: false, error: errorFromWire(wire.error!) }
}

interface WireError {
  name: string
  message: string
  /** Own enumerable fields: code, and the class's own (uuid, channel, schema…). */
  fields: Record<string, unknown>
}

/** The error classes an answer may carry, by class name: Wharf's refusals, and JavaScript's own. */
const CLASSES: ReadonlyMap<string, new (...args: never[]) => Error> = new Map<string, new (...args: never[]) => Error>([
  ...Object.entries(errors).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error) as [string, new (...args: never[]) => Error][],
  ['Error', Error],
  ['RangeError', RangeError],
  ['TypeError', TypeError],
])

function errorToWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} }
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) if (key !== 'name' && key !== 'stack' && key !== 'cause') fields[key] = value
  return { name: error.constructor.name, message: error.message, fields }
}

/** The same class (an unknown one becomes an Error of that name), message and fields; the stack
 * is the follower's, from where the answer arrived. */
function errorFromWire(wire: WireError): Error {
  const type = CLASSES.get(wire.name) ?? Error
  const error = Object.create(type.prototype) as Error
  Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true })
  Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true, enumerable: type.prototype instanceof errors.WharfError })
  Object.assign(error, wire.fields)
  Error.captureStackTrace(error, errorFromWire)
  return error
}
