// Query strings and path parameters, checked before anything is read: an unknown key, a
// repeated one or a malformed value is a 400 naming it, never silently ignored.

import type { BatchesQuery, JobsQuery } from '../engine/api/wharf.js'
import { CUSTOM_ID_LENGTH_MAX } from '../engine/api/open-options.js'
import { describe, NOT_IN_IDS } from '../engine/api/properties.js'
import { InvalidPropertyError } from '../engine/errors.js'
import { isOutline } from './job-outline.js'

/** Jobs per page when the query gives no limit, and the most one page may ask for. */
export const API_JOBS_LIMIT_DEFAULT = 50
export const API_JOBS_LIMIT_MAX = 1000

export const JOBS_QUERY_KEYS = ['state', 'channel', 'function', 'model', 'method', 'graphUuid', 'identityKey', 'batchUuid', 'limit', 'order', 'after', 'view'] as const
export const BATCHES_QUERY_KEYS = ['state', 'limit', 'order', 'after'] as const
export const GRAPH_QUERY_KEYS = ['view', 'max'] as const

/** GET /api/graphs/:uuid's query: `view=outline` (each job's outline, job-outline.ts) and `max` (a
 * graph of more jobs answers its size only). */
export interface GraphQuery {
  outline: boolean
  max: number | null
}

export function graphQueryOf(query: URLSearchParams): GraphQuery {
  const where = 'GET /api/graphs/:uuid'
  const values = queryValues(query, GRAPH_QUERY_KEYS, where)
  const max = values.get('max')
  if (max !== undefined && (!/^\d{1,7}$/.test(max) || Number(max) < 1)) throw new InvalidPropertyError(`${where}: max must be a positive integer, got ${describe(max)}`)
  return { outline: isOutline(values.get('view'), where), max: max === undefined ? null : Number(max) }
}

/** Each allowed key at most once; an empty value counts as absent (an HTML form's "any"). */
export function queryValues(query: URLSearchParams, allowed: readonly string[], where: string): Map<string, string> {
  const values = new Map<string, string>()
  for (const [key, value] of query) {
    if (!allowed.includes(key)) {
      const known = allowed.length === 0 ? 'this route takes no query' : `keys: ${allowed.join(', ')}`
      throw new InvalidPropertyError(`${where}: unknown query key ${JSON.stringify(key)}; ${known}`)
    }
    if (values.has(key)) throw new InvalidPropertyError(`${where}: query key ${JSON.stringify(key)} given more than once`)
    values.set(key, value)
  }
  for (const [key, value] of values) if (value === '') values.delete(key)
  return values
}

/** GET /api/jobs's query as a wharf.jobs() query (which checks the values it knows itself). */
export function jobsQueryOf(query: URLSearchParams): JobsQuery & { limit: number; outline: boolean } {
  const where = 'GET /api/jobs'
  const values = queryValues(query, JOBS_QUERY_KEYS, where)
  const outline = isOutline(values.get('view'), where)
  const q: Record<string, unknown> = {}
  for (const key of ['state', 'channel', 'model', 'method', 'graphUuid', 'identityKey', 'batchUuid', 'order'] as const) {
    if (values.has(key)) q[key] = values.get(key)
  }
  const fn = values.get('function')
  if (fn !== undefined) {
    const dot = fn.lastIndexOf('.')
    if (dot <= 0 || dot === fn.length - 1) throw new InvalidPropertyError(`${where}: function must be '<model>.<method>', got ${describe(fn)}`)
    if (q.model !== undefined || q.method !== undefined) throw new InvalidPropertyError(`${where}: give function, or model and method, not both`)
    q.model = fn.slice(0, dot)
    q.method = fn.slice(dot + 1)
  }
  pageOf(values, q, where)
  return { ...(q as unknown as JobsQuery & { limit: number }), outline }
}

/** GET /api/batches's query as a wharf.batches() query. */
export function batchesQueryOf(query: URLSearchParams): BatchesQuery & { limit: number } {
  const where = 'GET /api/batches'
  const values = queryValues(query, BATCHES_QUERY_KEYS, where)
  const q: Record<string, unknown> = {}
  for (const key of ['state', 'order'] as const) if (values.has(key)) q[key] = values.get(key)
  pageOf(values, q, where)
  return q as unknown as BatchesQuery & { limit: number }
}

/** A page's cursor and size, checked into `q`. */
function pageOf(values: ReadonlyMap<string, string>, q: Record<string, unknown>, where: string): void {
  const after = values.get('after')
  if (after !== undefined) q.after = checkUuidParam(after, `${where}: after`)
  const limit = values.get('limit')
  q.limit = API_JOBS_LIMIT_DEFAULT
  if (limit !== undefined) {
    if (!/^\d{1,7}$/.test(limit) || Number(limit) < 1 || Number(limit) > API_JOBS_LIMIT_MAX) {
      throw new InvalidPropertyError(`${where}: limit must be an integer from 1 to ${API_JOBS_LIMIT_MAX}, got ${describe(limit)}`)
    }
    q.limit = Number(limit)
  }
}

/** Whether `text` is a uuid as the API accepts it (the CLI checks --after by it, in every mode). */
export function isUuidParam(text: string): boolean {
  // The rule ids are made by (a custom newId()'s are checked for it): every id can be named.
  return text.length > 0 && text.length <= CUSTOM_ID_LENGTH_MAX && !NOT_IN_IDS.test(text)
}

export function checkUuidParam(uuid: string, where: string): string {
  if (!isUuidParam(uuid)) throw new InvalidPropertyError(`${where}: not a job uuid: ${describe(uuid)}`)
  return uuid
}

/** A path segment, percent-decoded; a malformed encoding is a 400. */
export function decodeSegment(segment: string, where: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new InvalidPropertyError(`${where}: malformed percent-encoding in ${describe(segment)}`)
  }
}
