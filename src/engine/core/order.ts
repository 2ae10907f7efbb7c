// The two orders of the scheduler (queue_job's ChannelJob ordering). Ties end on seq, the job's
// position in the log, then on uuid: jobs brought back from history together share the seq of the
// event that restored them (core/retire.ts). So no order ever depends on map iteration or wall
// time, and no two jobs are ever equal (a queue could not tell them apart).

import type { JobRecord } from './state.js'

/** Ready order: queue_job's (priority, date_created, seq). */
export function readyLess(a: JobRecord, b: JobRecord): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt
  if (a.seq !== b.seq) return a.seq < b.seq
  return a.uuid < b.uuid
}

/** Eta order: queue_job's (eta, priority, date_created, seq). */
export function etaLess(a: JobRecord, b: JobRecord): boolean {
  const ae = a.eta ?? 0
  const be = b.eta ?? 0
  if (ae !== be) return ae < be
  return readyLess(a, b)
}

