// `wharf show UUID`: every field of one job, its exception info, its result.

import type { JobDetail } from './client.js'
import { oneJobCommand } from './command.js'
import { fields, text, time } from './output.js'

/** Fields holding a time in ms since epoch. */
const TIMES = new Set(['eta', 'createdAt', 'enqueuedAt', 'startedAt', 'doneAt', 'cancelledAt'])
/** Shown after the fields, whole, since they span lines. */
const BLOCKS = ['excInfo']

export const showCommand = oneJobCommand({
  name: 'show',
  summary: 'show every field of one job',
  json: '{ "job": JobView, "failedAt": ms | null, "related": { url, label } | null, "function": FunctionInfo | null } (failedAt: when a failed job failed; with --path, related and function are null: the app\'s code is not loaded)',
  read: (client, uuid) => client.job(uuid),
  show: showJob,
})

function showJob(detail: JobDetail): string[] {
  const job = detail.job as unknown as Record<string, unknown>
  const pairs: [string, string][] = []
  for (const [key, value] of Object.entries(job)) {
    if (BLOCKS.includes(key)) continue
    pairs.push([key, TIMES.has(key) ? time(value as number | null) : text(value)])
  }
  // Not a JobView field: when a failed job failed (an app before 0.3's --url answers none).
  if (typeof detail.failedAt === 'number') pairs.push(['failedAt', time(detail.failedAt)])
  if (detail.related !== null) pairs.push(['related', `${detail.related.label ?? 'related'}: ${detail.related.url}`])
  const lines = fields(pairs)
  for (const key of BLOCKS) {
    const value = job[key]
    if (typeof value === 'string' && value !== '') lines.push('', `${key}:`, ...value.split('\n').map((l) => `  ${l}`))
  }
  return lines
}
