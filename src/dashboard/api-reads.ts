// The API's reads of jobs: a page of jobs with its cursor, one job with its related link and
// function, and a graph.

import type { BatchView, FunctionInfo, RelatedLink, Wharf } from '../engine/api/wharf.js'
import type { JobView } from '../engine/core/view.js'
import { UnknownJobError } from '../engine/errors.js'
import { errorBody, HttpError, type ErrorBody } from './http-error.js'
import { outlineOf, type JobOutline } from './job-outline.js'
import { batchesQueryOf, graphQueryOf, jobsQueryOf } from './query.js'

export interface JobsPage {
  /** Outlines with `view=outline`. */
  jobs: (JobView | JobOutline)[]
  /** The last uuid of a full page: pass it as `after` for the next one; null on a short page. */
  next: string | null
  /** When each failed job of the page failed, by uuid (see failedAtOf). */
  failedAt: Record<string, number>
}

export async function jobsPage(wharf: Wharf, query: URLSearchParams): Promise<JobsPage> {
  const { outline, ...q } = jobsQueryOf(query)
  const jobs = await wharf.jobs(q)
  const next = jobs.length === q.limit ? jobs[jobs.length - 1]!.uuid : null
  return { jobs: outline ? jobs.map(outlineOf) : jobs, next, failedAt: await failedAtOf(wharf, jobs) }
}

/**
 * When each failed job of `jobs` failed, by uuid. JobView keeps no such time (queue_job's has
 * none); explain() says it, from the job in memory (failed jobs stay there). A job that is no
 * longer failed when asked, or failed before Wharf kept the time, has none.
 */
export async function failedAtOf(wharf: Wharf, jobs: readonly JobView[]): Promise<Record<string, number>> {
  const failedAt: Record<string, number> = {}
  await Promise.all(
    jobs.filter((job) => job.state === 'failed').map(async (job) => {
      const explained = await wharf.explain(job.uuid).catch((error: unknown) => {
        if (error instanceof UnknownJobError) return null // removed since the page was read
        throw error
      })
      const finished = explained?.reasons.find((r) => r.kind === 'finished')
      if (finished?.kind === 'finished' && finished.state === 'failed' && typeof finished.atMs === 'number') failedAt[job.uuid] = finished.atMs
    }),
  )
  return failedAt
}

export interface BatchesPage {
  batches: BatchView[]
  /** As JobsPage's. */
  next: string | null
}

export async function batchesPage(wharf: Wharf, query: URLSearchParams): Promise<BatchesPage> {
  const q = batchesQueryOf(query)
  const batches = await wharf.batches(q)
  return { batches, next: batches.length === q.limit ? batches[batches.length - 1]!.uuid : null }
}

export async function batchDetail(wharf: Wharf, uuid: string): Promise<BatchView> {
  const batch = await wharf.batchView(uuid)
  if (batch === undefined) throw new HttpError(404, 'UNKNOWN_BATCH', `no batch with uuid ${JSON.stringify(uuid)}`)
  return batch
}

export interface JobDetail {
  job: JobView
  /** When it failed, for a failed job whose time is known (failedAtOf); else null. */
  failedAt: number | null
  related: RelatedLink | null
  /** Why `related` is null when the related action failed (a bug of the app's method). */
  relatedError?: ErrorBody
  function: FunctionInfo | null
}

/** The app's related action may do I/O: past this, the job is answered without its link. */
export const RELATED_ACTION_TIMEOUT_MS = 10_000

export async function jobDetail(wharf: Wharf, uuid: string): Promise<JobDetail> {
  const job = await wharf.job(uuid)
  if (job === undefined) throw new UnknownJobError(uuid)
  const name = `${job.model}.${job.method}`
  const fn = wharf.functionList().find((f) => f.name === name) ?? null
  const failedAt = (await failedAtOf(wharf, [job]))[job.uuid] ?? null
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(500, 'RELATED_ACTION_TIMEOUT', `the related action of ${name} did not answer within ${RELATED_ACTION_TIMEOUT_MS} ms`)), RELATED_ACTION_TIMEOUT_MS)
    timer.unref()
  })
  try {
    return { job, failedAt, related: await Promise.race([wharf.relatedAction(uuid), timeout]), function: fn }
  } catch (error) {
    // The job is still worth showing when the app's related action is broken.
    return { job, failedAt, related: null, relatedError: errorBody(error), function: fn }
  } finally {
    clearTimeout(timer)
  }
}

export interface GraphAnswer {
  jobs: (JobView | JobOutline)[]
  edges: Array<[string, string]>
  /** How many jobs the graph holds (also when `max` left them out). */
  size: number
}

/**
 * A graph, as its query asks (graphQueryOf). The page draws a graph of a few hundred jobs at most:
 * every JobView of a graph of thousands (their args and results, and a dense graph's edges) was
 * hundreds of megabytes, read again at each live refresh, for a sentence saying it is too large.
 */
export async function graphOf(wharf: Wharf, graphUuid: string, query: URLSearchParams): Promise<GraphAnswer> {
  const { outline, max } = graphQueryOf(query)
  const graph = await wharf.graph(graphUuid)
  const size = graph.jobs.length
  if (size === 0) throw new HttpError(404, 'UNKNOWN_GRAPH', `no graph with uuid ${JSON.stringify(graphUuid)}`)
  if (max !== null && size > max) return { jobs: [], edges: [], size }
  const jobs = outline ? graph.jobs.map(outlineOf) : graph.jobs
  return { jobs, edges: graph.edges, size }
}
