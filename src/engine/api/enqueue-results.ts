// What an enqueue's caller gets once it is committed: the jobs as stored (or those their identity
// keys matched). Named functions, not closures: a follower's call names its answer function, and
// the scheduler runs it (cluster-results.ts).

import type { JobSpec } from '../core/events.js'
import { toJobView, type JobView } from '../core/view.js'
import type { ResultOf } from '../runtime/engine.js'

/** The stored job, or the existing one its identity key matched. */
export const viewOfEnqueued: ResultOf<JobView> = (note, command, state) => {
  const existing = note !== undefined && 'existing' in note ? note.existing[0] : null
  const uuid = existing ?? (command as { jobs: JobSpec[] }).jobs[0]!.uuid
  return toJobView(state.jobs.get(uuid)!)
}

/** Each job of the graph; when identity keys skipped it, the matched jobs (undefined for the others). */
export const viewsOfEnqueued: ResultOf<(JobView | undefined)[]> = (note, command, state) => {
  if (note === undefined || !('existing' in note)) return (command as { jobs: JobSpec[] }).jobs.map((s) => toJobView(state.jobs.get(s.uuid)!))
  return note.existing.map((uuid) => (uuid === null ? undefined : toJobView(state.jobs.get(uuid)!)))
}

/** A graph with re-stored jobs: each new job, then each joined one, as this call stored them
 * (when identity keys skipped the graph: the matched jobs, and the joined ones as they are). */
export const viewsOfGraph: ResultOf<(JobView | undefined)[]> = (note, command, state) => {
  const { joins } = command as { joins: { uuid: string }[] }
  const joined = joins.map((j) => toJobView(state.jobs.get(j.uuid)!))
  return [...viewsOfEnqueued(note, command, state), ...joined]
}
