// A cluster worker's own runs (cluster.ts): the state it follows says which runs are its — the
// started jobs whose job.started named it, and its superseded runs still holding their slots
// (State.runsOn counts both) — and this says which of them this process has launched. They differ
// after a follower replays the snapshot instead of the batches it missed (it fell behind a
// compaction): a start assigned to it in those batches was never launched, and nothing else would
// ever launch or end it — the job would stay started, its slot held, until the worker left or
// died. The engine reconciles the two there (Engine.resync): it launches the runs it has not (it
// has what a start needs — the function, the args, the run number that fences the outcome), and
// ends the superseded runs it never launched, so that the scheduler releases their slots.

import type { JobRecord, State } from '../core/state.js'

/** Runs of this worker, by job: launched (or ended) by this process, and still the state's. */
export class WorkerRuns {
  private readonly runs = new Map<string, Set<number>>()

  /** Run `run` of job `uuid` is launched here (or ended without a launch). */
  add(uuid: string, run: number): void {
    const runs = this.runs.get(uuid)
    if (runs === undefined) this.runs.set(uuid, new Set([run]))
    else runs.add(run)
  }

  has(uuid: string, run: number): boolean {
    return this.runs.get(uuid)?.has(run) === true
  }

  /** Forget the runs of `uuid` that are no longer `worker`'s in `state`: run numbers only grow,
   * so a run that left the state never comes back. */
  prune(state: State, uuid: string, worker: string): void {
    const runs = this.runs.get(uuid)
    if (runs === undefined) return
    for (const run of runs) if (!isRunOf(state, uuid, run, worker)) runs.delete(run)
    if (runs.size === 0) this.runs.delete(uuid)
  }

  /** prune() every job (after a replay of the snapshot: any run may have ended meanwhile). */
  pruneAll(state: State, worker: string): void {
    for (const uuid of [...this.runs.keys()]) this.prune(state, uuid, worker)
  }

  clear(): void {
    this.runs.clear()
  }

  get size(): number {
    return this.runs.size
  }
}

/** What `worker`'s runs in `state` hold that `known` lacks: started jobs to launch, and
 * superseded runs to end. */
export function unlaunchedRuns(state: State, worker: string, known: WorkerRuns): { launch: JobRecord[]; end: { uuid: string; run: number }[] } {
  const launch: JobRecord[] = []
  const end: { uuid: string; run: number }[] = []
  if (!state.runsOn.has(worker)) return { launch, end }
  // A full pass, only after a replay of the snapshot (itself a pass over every job).
  for (const job of state.jobs.values()) if (job.state === 'started' && job.worker === worker && !known.has(job.uuid, job.runs)) launch.push(job)
  for (const [uuid, runs] of state.superseded) for (const r of runs) if (r.worker === worker && !known.has(uuid, r.run)) end.push({ uuid, run: r.run })
  return { launch, end }
}

/** Run `run` of job `uuid` is `worker`'s in `state`: the job's current run there, or a superseded one. */
export function isRunOf(state: State, uuid: string, run: number, worker: string): boolean {
  const job = state.jobs.get(uuid)
  if (job !== undefined && job.state === 'started' && job.runs === run && job.worker === worker) return true
  return state.superseded.get(uuid)?.some((r) => r.run === run && r.worker === worker) === true
}

