// The two orders of the scheduler (queue_job's ChannelJob ordering). Ties always end on seq,
// the job's position in the log, so no order ever depends on map iteration or wall time.

import type { JobRecord } from './state.js'

/** Ready order: queue_job's (priority, date_created, seq). */
export function readyLess(a: JobRecord, b: JobRecord): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt
  return a.seq < b.seq
}

/** Eta order: queue_job's (eta, priority, date_created, seq). */
export function etaLess(a: JobRecord, b: JobRecord): boolean {
  const ae = a.eta ?? 0
  const be = b.eta ?? 0
  if (ae !== be) return ae < be
  return readyLess(a, b)
}

