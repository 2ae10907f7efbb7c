// Which cluster worker runs a start (DESIGN §9). The shell gives the dispatch the workers alive
// as data — each one's job functions and slots — and the core picks: only jobs some worker with a
// free slot can run compete (the others stay pending, as a job without a handler does embedded),
// and each start goes to the eligible worker running the fewest handlers. Ties go to the
// scheduler's own worker (Worker.local: its outcomes need no inbox), else to one picked by the
// job's uuid: by the pool's order alone, a worker after two others never ran anything while the
// cluster's capacity was two. A worker's handlers are counted from the state (State.runsOn),
// which holds every start decided so far, so the choice is a plain function of (state, pool, job)
// and replays identically.

import { fail } from './assert.js'
import type { RegisteredFunctions } from './schedule.js'
import type { JobRecord, State } from './state.js'

/** A cluster member that may run handlers, as its member row announced it. */
export interface Worker {
  /** The id its starts name (job.started's node). */
  readonly id: string
  /** The job functions it registered, model -> methods. */
  readonly functions: ReadonlyMap<string, ReadonlySet<string>>
  /** Handlers it runs at once at most; null: unlimited. */
  readonly slots: number | null
  /** The scheduler's own worker: preferred on ties, since its outcomes need no inbox. */
  readonly local?: boolean
}

/** A worker's id: its member's node name, then which open of that process (any characters but
 * `#`: cluster.ts gives a uuid), so that two opens under one name are never taken for each other. */
export function workerIdOf(node: string, openId: string): string {
  return `${node}#${openId}`
}

/** The node name in a worker's id (JobView.node); node names may hold `#` themselves. An id made
 * otherwise (no `#`, as in tests of the core) is its own name. */
export function nodeOfWorker(id: string): string {
  const at = id.lastIndexOf('#')
  return at < 0 ? id : id.slice(0, at)
}

/** One tick's view of the workers: who has a free slot, and the functions they cover together. */
export class WorkerChoice {
  /** Functions at least one worker with a free slot registered: what the pick may start. */
  registered: RegisteredFunctions = new Map()
  private readonly tied: Worker[] = []

  constructor(
    private readonly state: State,
    private readonly pool: readonly Worker[],
  ) {
    this.rebuild()
  }

  /** The worker that runs `job` (the pick chose it from `registered`, so one can). */
  assign(job: JobRecord): string {
    // The eligible workers with the fewest runs, in the pool's order, in `tied` (reused).
    const tied = this.tied
    tied.length = 0
    let bestRuns = 0
    for (const worker of this.pool) {
      const runs = this.runsOf(worker)
      if (!this.hasFree(worker, runs) || worker.functions.get(job.model)?.has(job.method) !== true) continue
      if (tied.length === 0 || runs < bestRuns) {
        tied.length = 0
        bestRuns = runs
      } else if (runs > bestRuns) continue
      tied.push(worker)
    }
    if (tied.length === 0) fail(`job ${job.uuid} was picked, yet no worker with a free slot runs ${job.model}.${job.method}`)
    const local = tied.find((w) => w.local === true)
    if (local !== undefined) return local.id
    return tied.length === 1 ? tied[0]!.id : tied[uuidHash(job.uuid) % tied.length]!.id
  }

  /** `id` took a start: when that filled it, the functions left startable change. */
  took(id: string): void {
    const worker = this.pool.find((w) => w.id === id)
    if (worker !== undefined && !this.hasFree(worker, this.runsOf(worker))) this.rebuild()
  }

  private rebuild(): void {
    const registered = new Map<string, Set<string>>()
    for (const worker of this.pool) {
      if (!this.hasFree(worker, this.runsOf(worker))) continue
      for (const [model, methods] of worker.functions) {
        const known = registered.get(model)
        if (known === undefined) registered.set(model, new Set(methods))
        else for (const method of methods) known.add(method)
      }
    }
    this.registered = registered
  }

  private runsOf(worker: Worker): number {
    return this.state.runsOn.get(worker.id) ?? 0
  }

  private hasFree(worker: Worker, runs: number): boolean {
    return worker.slots === null || runs < worker.slots
  }
}

/** FNV-1a of a uuid's UTF-16 units: spreads ties over workers whatever makes the ids (a custom
 * `newId` too), the same on every replay. */
function uuidHash(uuid: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < uuid.length; i++) h = Math.imul(h ^ uuid.charCodeAt(i), 0x01000193)
  return h >>> 0
}
