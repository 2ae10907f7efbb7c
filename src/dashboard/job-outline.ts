// A job as a list or a drawing shows it: `view=outline` of GET /api/jobs and /api/graphs/:uuid.
// A JobView carries the app's data — args, context, result, the exception and its traceback —
// which may be megabytes per job; the Jobs table and the graph show none of it, and the page
// reads them again at every live refresh.

import type { JobView } from '../engine/core/view.js'
import { describe } from '../engine/api/properties.js'
import { InvalidPropertyError } from '../engine/errors.js'

export const OUTLINE_FIELDS = [
  'uuid', 'graphUuid', 'batchUuid', 'model', 'method', 'description', 'channel', 'state', 'priority',
  'retry', 'maxRetries', 'eta', 'createdAt', 'doneAt', 'cancelledAt',
] as const satisfies readonly (keyof JobView)[]

export type JobOutline = Pick<JobView, (typeof OUTLINE_FIELDS)[number]>

export function outlineOf(job: JobView): JobOutline {
  const outline: Partial<Record<keyof JobView, unknown>> = {}
  for (const field of OUTLINE_FIELDS) outline[field] = job[field]
  return outline as JobOutline
}

/** A query's `view`: 'outline' (true), or 'full' or absent, the whole JobView (false). */
export function isOutline(view: string | undefined, where: string): boolean {
  if (view !== undefined && view !== 'outline' && view !== 'full') throw new InvalidPropertyError(`${where}: view must be outline or full, got ${describe(view)}`)
  return view === 'outline'
}
