// delayMany: many independent jobs (or graphs) stored by one enqueue command, so one tick and one
// log batch — all of them or none. This file checks the call and lays it out; wharf.ts submits it.
// Built for the bulk path: a lone job costs its spec and nothing else (no promise, no closure,
// no per-job graph planning).

import type { JobSpec } from '../core/events.js'
import { toJobView, type JobView } from '../core/view.js'
import type { ResultOf } from '../runtime/engine.js'
import { DELAY_MANY_JOBS_MAX } from '../core/limits.js'
import { InvalidGraphError, refusalAt } from '../errors.js'
import { Delayable, DelayableChain, DelayableGroup, graphOf, planGraph, refuseOnDoneOfBatch, sizeOf, topologicalOrder, type Graph, type GraphHost, type PlannedJob } from './delayable.js'
import { buildSpec, buildSpecs, type SpecContext } from './job-spec.js'
import { runWithoutDelay } from './no-delay.js'
import { describe } from './properties.js'

/** A delayMany call laid out: element k's jobs are `vertices[ends[k - 1] ?? 0 .. ends[k])`. */
export interface ManyPlan {
  /** Every job of the call, element by element, each graph parents first (as delay() orders it). */
  readonly vertices: Delayable[]
  readonly ends: number[]
  /** Element k's graph when it has more than one job (edges by index into its vertices); null
   * for a lone job. */
  readonly graphs: (Graph | null)[]
  /** Element k's graph's size as planned (sizeOf; 0 for a lone job): a graph skipped for its
   * identity keys is marked so at that size, as delay() marks it. */
  readonly sizes: number[]
  /** The call refusals name: 'delayMany()', or 'batch()' (which lays its list out the same way). */
  readonly call: string
}

/** How big a call may be: its jobs at most, and the limit's name for the message. */
export interface ManyLimit {
  readonly jobs: number
  readonly name: string
}

const DELAY_MANY_LIMIT: ManyLimit = { jobs: DELAY_MANY_JOBS_MAX, name: 'DELAY_MANY_JOBS_MAX' }

/** Check every element and lay the call out; throws, naming the element, before anything is built. */
export function planMany(delayables: unknown, call = 'delayMany()', limit = DELAY_MANY_LIMIT, host: GraphHost | null = null): ManyPlan {
  if (!Array.isArray(delayables)) {
    throw new InvalidGraphError(`${call}: expected an array of delayables, chains or groups, got ${describe(delayables)}`)
  }
  const plan: ManyPlan = { vertices: [], ends: [], graphs: [], sizes: [], call }
  const seen = new Map<Graph, number>()
  for (let k = 0; k < delayables.length; k++) {
    const node: unknown = delayables[k]
    if (!(node instanceof Delayable || node instanceof DelayableChain || node instanceof DelayableGroup)) {
      throw new InvalidGraphError(`${elementName(k, call)} is not a delayable, chain or group: ${describe(node)}`)
    }
    const graph = node instanceof Delayable ? node.graph : graphOf(node)
    const before = seen.get(graph)
    if (before !== undefined) {
      throw new InvalidGraphError(`${elementName(k, call)} belongs to the same graph as delayables[${before}]: give each graph once (any one of its nodes stores all of it)`)
    }
    seen.set(graph, k)
    // A graph's delayables share one Wharf (delayable.ts): one of them tells which.
    const vertex = graph.vertices.values().next().value!
    if (host !== null && vertex.host !== host) {
      throw new InvalidGraphError(`${elementName(k, call)} comes from another Wharf (model ${vertex.target.model}); each Wharf stores its own delayables`)
    }
    const size = graph.vertices.size
    if (plan.vertices.length + size > limit.jobs) {
      throw new InvalidGraphError(
        `${call}: at most ${limit.jobs} jobs per call (${limit.name}); delayables[${k}] brings this call to ` +
          `${plan.vertices.length + size} jobs; split it into several calls`,
      )
    }
    addElement(plan, k, graph)
  }
  return plan
}

function addElement(plan: ManyPlan, k: number, graph: Graph): void {
  if (graph.vertices.size === 1) {
    // The bulk path: a lone job, no ordering to compute.
    addVertex(plan, k, graph.vertices.values().next().value!)
    plan.graphs.push(null)
    plan.sizes.push(0)
  } else {
    let ordered: Delayable[]
    try {
      ordered = topologicalOrder(graph)
    } catch (error) {
      throw atElement(error, k, plan.call)
    }
    for (const d of ordered) addVertex(plan, k, d)
    plan.graphs.push(graph)
    plan.sizes.push(sizeOf(graph))
  }
  plan.ends.push(plan.vertices.length)
}

function addVertex(plan: ManyPlan, k: number, d: Delayable): void {
  if (d.job !== undefined) {
    throw new InvalidGraphError(`${elementName(k, plan.call)}: job ${d.job.uuid} of it was delayed already; ${plan.call} stores new jobs only (a delayable is delayed once)`)
  }
  if (d.storing !== null) {
    throw new InvalidGraphError(`${elementName(k, plan.call)}: a delayable of model ${d.target.model} in it is being delayed (a call storing it has not resolved yet); ${plan.call} stores new jobs only (a delayable is delayed once)`)
  }
  if (d.call === null) {
    throw new InvalidGraphError(`${elementName(k, plan.call)}: a delayable of model ${d.target.model} has no method call; call one before delaying it`)
  }
  refuseOnDoneOfBatch(d, `in ${elementName(k, plan.call)}`)
  plan.vertices.push(d)
}

/** Each element's calls and edges, as delay() hands them to storeGraph (the trap takes these). */
export function plannedGraphs(plan: ManyPlan): { planned: PlannedJob[]; edges: [number, number][] }[] {
  const out: { planned: PlannedJob[]; edges: [number, number][] }[] = []
  let from = 0
  for (let k = 0; k < plan.ends.length; k++) {
    const end = plan.ends[k]!
    const ordered = plan.vertices.slice(from, end)
    const graph = plan.graphs[k] as Graph | null
    out.push(graph === null ? { planned: [plannedOf(ordered[0]!)], edges: [] } : planGraph(graph, ordered))
    from = end
  }
  return out
}

function plannedOf(d: Delayable): PlannedJob {
  return { target: d.target, method: d.call!.method, args: d.call!.args, props: d.props }
}

/** The specs of the whole call, element by element; a bad value throws, naming its element. */
export function buildManySpecs(plan: ManyPlan, ctx: SpecContext): JobSpec[] {
  const { vertices, ends, graphs } = plan
  const specs = new Array<JobSpec>(vertices.length)
  let k = 0
  try {
    let from = 0
    for (; k < ends.length; k++) {
      const end = ends[k]!
      const graph = graphs[k] as Graph | null
      if (graph === null) {
        const d = vertices[from]!
        specs[from] = buildSpec(d.target, d.call!.method, d.call!.args, d.props, null, ctx)
      } else {
        const { planned, edges } = planGraph(graph, vertices.slice(from, end))
        const built = buildSpecs(planned, edges, ctx)
        for (let i = 0; i < built.length; i++) specs[from + i] = built[i]!
      }
      from = end
    }
  } catch (error) {
    throw atElement(error, k, plan.call)
  }
  return specs
}

export function elementName(k: number, call = 'delayMany()'): string {
  return `${call}: delayables[${k}]`
}

/** An expected refusal about element k says so in its message (its class and code stay). */
export function atElement(error: unknown, k: number, call = 'delayMany()'): unknown {
  return refusalAt(error, elementName(k, call))
}

/** Each job of the call as the enqueue left it: stored, the job its identity key matched where
 * its graph was skipped, or undefined (a job without a key in a skipped graph). */
export const viewsOfMany: ResultOf<(JobView | undefined)[]> = (note, command, state) => {
  const specs = (command as { jobs: JobSpec[] }).jobs
  const existing = note !== undefined && 'existing' in note ? note.existing : null
  const views = new Array<JobView | undefined>(specs.length)
  for (let i = 0; i < specs.length; i++) {
    const job = state.jobs.get(existing?.[i] ?? specs[i]!.uuid)
    views[i] = job === undefined ? undefined : toJobView(job)
  }
  return views
}

/** Give every delayable its job (as delay() does) and return the jobs there are, in order. */
export function settleMany(plan: ManyPlan, views: readonly (JobView | undefined)[]): JobView[] {
  const { vertices } = plan
  const out: JobView[] = []
  let k = 0
  for (let i = 0; i < vertices.length; i++) {
    while (i >= plan.ends[k]!) k++
    const view = views[i]
    vertices[i]!.job = view
    if (view !== undefined) out.push(view)
    else if (plan.graphs[k] !== null) plan.graphs[k]!.skippedAtSize = plan.sizes[k]!
  }
  return out
}

/** No-delay mode: each element runs as its delay() would, one after another (see no-delay.ts);
 * `batchUuid`: the batch() they belong to. */
export async function runManyWithoutDelay(host: Parameters<typeof runWithoutDelay>[0], specs: JobSpec[], ends: readonly number[], batchUuid: string | null = null): Promise<JobView[]> {
  const views: JobView[] = []
  let from = 0
  for (const end of ends) {
    views.push(...(await runWithoutDelay(host, specs.slice(from, end), batchUuid)))
    from = end
  }
  return views
}
