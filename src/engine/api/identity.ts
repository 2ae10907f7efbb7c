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
    .update(JSON.stringify(job.args))
    .digest('hex')
}
