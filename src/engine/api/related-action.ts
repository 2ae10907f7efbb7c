// The related action of a job (queue_job's related_action): a method of the job's model, named by
// configure(name, { relatedAction: { funcName, kwargs } }), called on the job's records with the
// kwargs; it answers where to look at what the job works on, `{ url, label? }`. The dashboard
// shows it as the job's Related link.

import type { JobView } from '../core/view.js'
import { InvalidJobFunctionError } from '../errors.js'
import type { Clock } from '../runtime/clock.js'
import { JobContext } from '../runtime/runner.js'
import type { FunctionRegistry } from './functions.js'
import { describe } from './properties.js'

export interface RelatedLink {
  url: string
  label?: string
}

/** Longest url or label accepted from a related action: a link, not a payload. */
export const RELATED_TEXT_MAX = 8192

/**
 * null when the function's related action is disabled or names no method, or when the method
 * answers null. The method runs with
 * `this` a JobContext of the job's records and context (plus `jobUuid`), as a direct call does,
 * and gets the kwargs as its one argument (JavaScript's keyword arguments).
 */
export async function relatedActionOf(job: JobView, functions: FunctionRegistry, clock: Clock): Promise<RelatedLink | null> {
  const { enable, funcName, kwargs } = functions.relatedAction(job.model, job.method)
  if (!enable || funcName === undefined) return null
  const where = `related action ${job.model}.${funcName} of job function ${job.model}.${job.method}`
  const method = functions.handler(job.model, funcName)
  if (method === undefined) {
    throw new InvalidJobFunctionError(`${where}: model ${job.model} has no method ${funcName} in this process; define it in wharf.model('${job.model}', { ${funcName}() {…} })`)
  }
  const context = new JobContext(job.records, { ...job.context, jobUuid: job.uuid }, clock, null)
  const answer: unknown = await method.call(context, kwargs === undefined ? {} : structuredClone(kwargs))
  // null is "no link for this job" (queue_job: a related action that returns None offers no
  // action, as its default one does for a job without records); undefined, a method that forgot
  // its return, is still refused below.
  return answer === null ? null : checkLink(answer, where)
}

function checkLink(answer: unknown, where: string): RelatedLink {
  const bad = (what: string): never => {
    throw new InvalidJobFunctionError(`${where} must return { url: string, label?: string }; ${what}`)
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return bad(`it returned ${describe(answer)}`)
  const { url, label } = answer as Record<string, unknown>
  for (const key of Object.keys(answer)) if (key !== 'url' && key !== 'label') bad(`it returned an unknown key ${JSON.stringify(key)}`)
  if (typeof url !== 'string' || url.length === 0 || url.length > RELATED_TEXT_MAX) {
    bad(`url must be a non-empty string of at most ${RELATED_TEXT_MAX} characters, got ${describe(url)}`)
  }
  // A page shows it as a link: only web addresses (absolute or relative), never `javascript:`.
  if (!URL.canParse(url as string, 'http://base.invalid/') || !/^https?:$/.test(new URL(url as string, 'http://base.invalid/').protocol)) {
    bad(`url must be an http(s) address or a relative one, got ${describe(url)}`)
  }
  if (label !== undefined && (typeof label !== 'string' || label.length > RELATED_TEXT_MAX)) {
    bad(`label must be a string of at most ${RELATED_TEXT_MAX} characters, got ${describe(label)}`)
  }
  return label === undefined ? { url: url as string } : { url: url as string, label: label as string }
}
