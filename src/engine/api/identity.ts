// identityExact: queue_job's identity_exact — one key per (model, method, records, arguments),
// so delaying the same call twice while the first is still waiting stores one job.

import { createHash } from 'node:crypto'
import type { RecordId } from '../core/events.js'

export interface IdentityInput {
  model: string
  method: string
  records: readonly RecordId[]
  args: readonly unknown[]
}

export function identityExact(job: IdentityInput): string {
  const ids = [...job.records].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0))
  return createHash('sha1')
    .update(job.model)
    .update('\0')
    .update(job.method)
    .update('\0')
    .update(JSON.stringify(ids))
    .update('\0')
    .update(JSON.stringify(job.args, sortedKeys))
    .digest('hex')
}

/** JSON.stringify replacer: plain objects with their keys sorted, at every depth. queue_job hashes
 * kwargs sorted (`sorted(kwargs.items())`); an options object is their TypeScript form, and its
 * key order says nothing about the call, so `{ b: 1, a: 2 }` and `{ a: 2, b: 1 }` are one key.
 * Deeper objects too: Python compares dicts regardless of order, and a JS caller expects the same.
 * An object already in order is returned as it is, so such arguments hash as before. */
function sortedKeys(this: unknown, _key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  const keys = Object.keys(value)
  let sorted = true
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!
  if (sorted) return value
  const copy: Record<string, unknown> = {}
  for (const key of keys.sort()) copy[key] = (value as Record<string, unknown>)[key]
  return copy
}
