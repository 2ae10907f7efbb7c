// Errors as the JSON API answers them: `{ error: { name, code, message } }` with a status. A
// refusal of the HTTP layer (no token, wrong method, cross-site) is an HttpError; a refusal of
// Wharf (a WharfError) keeps its class name and code, with the status its meaning calls for.

import { WharfError } from '../engine/errors.js'

const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
  501: 'NotImplemented',
  503: 'ServiceUnavailable',
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    /** Stable, for scripts: 'TOKEN_MISSING', 'CROSS_SITE', 'READ_ONLY', … */
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Allow on a 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.name = STATUS_NAMES[status] ?? 'HttpError'
  }
}

export interface ErrorBody {
  name: string
  code: string
  message: string
}

/** Status of each WharfError code that is the caller's doing; any other error is a 500. */
const WHARF_STATUS: Record<string, number> = {
  INVALID_PROPERTY: 400,
  INVALID_CHANNEL_CONFIG: 400,
  INVALID_GRAPH: 400,
  NOT_SERIALIZABLE: 400,
  UNKNOWN_JOB: 404,
  UNKNOWN_CHANNEL: 404,
  UNKNOWN_CRON: 404,
  JOB_STATE_CONFLICT: 409,
  WHARF_CLOSED: 503,
}

export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status
  if (error instanceof WharfError) return WHARF_STATUS[error.code] ?? 500
  return 500
}

export function errorBody(error: unknown): ErrorBody {
  if (error instanceof HttpError || error instanceof WharfError) return { name: error.name, code: error.code, message: error.message }
  const message = error instanceof Error ? error.message : String(error)
  return { name: 'InternalError', code: 'INTERNAL', message }
}
