// Delayables and their graphs: queue_job's delayable(), on_done(), chain(), group(), split().
// Unlike queue_job, chains and groups have true entry (head) and exit (tail) sets at any nesting,
// so chain(chain(a, b), c) connected to x gives x -> a, not x -> b.

import type { RecordId } from '../core/events.js'
import type { JobView } from '../core/view.js'
import { GRAPH_JOBS_MAX } from '../core/limits.js'
import { InvalidGraphError, InvalidPropertyError } from '../errors.js'
import { isOptionsObject } from './options-object.js'
import { checkProperties, describe, type CheckedProperties, type JobProperties } from './properties.js'
import { cutText } from '../core/cut-text.js'

/** The recordset a delayable calls into, as the API layer sees it. */
export interface Target {
  readonly model: string
  readonly ids: RecordId[]
  readonly context: Record<string, unknown>
}

/** One vertex to store: what a job function call needs, without ids or times yet. */
export interface PlannedJob {
  target: Target
  method: string
  args: unknown[]
  props: CheckedProperties
  /** uuid of the job this vertex stored earlier (delayed alone): it is re-stored into the graph. */
  stored?: string
}

export interface GraphHost {
  /** Store (or trap, or run at once) the planned jobs; parents come before children. */
  storeGraph(jobs: PlannedJob[], edges: readonly (readonly [number, number])[]): Promise<(JobView | undefined)[]>
}

/** A set of delayables connected by edges or by group membership: stored together. */
export class Graph {
  readonly vertices = new Set<Delayable>()
  /** parent -> children, in the order edges were added. */
  readonly edges = new Map<Delayable, Set<Delayable>>()
  /** The size (sizeOf) this graph had when a delay() stored nothing of it, every keyed job of it
   * matching a job that held the key; null when none did. A later delay() of it, unchanged,
   * answers the same: its vertices without a job are not stored on their own. */
  skippedAtSize: number | null = null
}

export type GraphNode = Delayable | DelayableChain | DelayableGroup

/** Entry nodes: the vertices an incoming edge must reach. */
function heads(node: GraphNode): Delayable[] {
  return ends(node, 'head')
}

/** Exit nodes: the vertices an outgoing edge leaves from. */
function tails(node: GraphNode): Delayable[] {
  return ends(node, 'tail')
}

function ends(node: GraphNode, side: 'head' | 'tail'): Delayable[] {
  const out: Delayable[] = []
  const stack: GraphNode[] = [node]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (n instanceof Delayable) out.push(n)
    else if (n instanceof DelayableChain) stack.push(side === 'head' ? n.members[0]! : n.members[n.members.length - 1]!)
    else for (let i = n.members.length - 1; i >= 0; i--) stack.push(n.members[i]!)
  }
  return out
}

function anyVertex(node: GraphNode): Delayable {
  return heads(node)[0]!
}

/** Merge the graphs of a and b (smaller into larger) so both share one. */
function merge(a: Delayable, b: Delayable): void {
  let big = a.graph
  let small = b.graph
  if (big === small) return
  if (small.vertices.size > big.vertices.size) [big, small] = [small, big]
  for (const v of small.vertices) {
    big.vertices.add(v)
    v.graph = big
  }
  for (const [parent, children] of small.edges) {
    const into = big.edges.get(parent)
    if (into === undefined) big.edges.set(parent, children)
    else for (const c of children) into.add(c)
  }
}

/** Every node must come from one Wharf: a graph is stored by one, and a job stored by a Wharf
 * that did not declare its model would never run there (nor anywhere else). */
function checkOneHost(kind: string, nodes: readonly GraphNode[]): void {
  const host = anyVertex(nodes[0]!).host
  for (let i = 1; i < nodes.length; i++) {
    const other = anyVertex(nodes[i]!)
    if (other.host !== host) {
      throw new InvalidGraphError(`${kind}(): a delayable of model ${other.target.model} comes from another Wharf than one of model ${anyVertex(nodes[0]!).target.model}; a graph is stored by one Wharf`)
    }
  }
}

/** A delayable would depend on itself: refused before any edge is added or graph merged, so
 * that a refused call leaves the delayables as they were. */
function refuseSelfEdge(from: GraphNode, to: GraphNode): void {
  const entries = heads(to)
  const own = tails(from).find((d) => entries.includes(d))
  if (own !== undefined) throw new InvalidGraphError(`a delayable cannot depend on itself: ${own.target.model}.${own.call?.method ?? '(no method call yet)'}`)
}

function connect(from: GraphNode, to: GraphNode): void {
  for (const parent of tails(from)) {
    for (const child of heads(to)) {
      merge(parent, child)
      const graph = parent.graph
      let children = graph.edges.get(parent)
      if (children === undefined) graph.edges.set(parent, (children = new Set()))
      children.add(child)
    }
  }
}

/** onDone: `from` -> each of `others`, all checked before any edge is added. */
function connectAll(from: GraphNode, others: unknown[]): void {
  const checked = checkMembers('onDone', others)
  checkOneHost('onDone', [from, ...checked])
  for (const other of checked) refuseSelfEdge(from, other)
  for (const other of checked) connect(from, other)
}

function checkMembers(kind: string, members: unknown[]): GraphNode[] {
  if (members.length === 0) throw new InvalidGraphError(`${kind}() needs at least one delayable, chain or group`)
  members.forEach((m, i) => {
    if (!(m instanceof Delayable || m instanceof DelayableChain || m instanceof DelayableGroup)) {
      throw new InvalidGraphError(`${kind}() argument ${i} is not a delayable, chain or group: ${describe(m)}`)
    }
  })
  return members as GraphNode[]
}

abstract class Composite {
  readonly members: readonly GraphNode[]
  constructor(kind: string, members: unknown[]) {
    this.members = checkMembers(kind, members)
    checkOneHost(kind, this.members)
    const first = anyVertex(this.members[0]!)
    for (const m of this.members) merge(first, anyVertex(m))
  }

  /** Run `others` after this one finishes. */
  onDone(...others: GraphNode[]): this {
    connectAll(this as unknown as GraphNode, others)
    return this
  }

  /** Store the whole connected graph. */
  delay(): Promise<void> {
    return anyVertex(this as unknown as GraphNode).delay().then(() => undefined)
  }
}

/** x1 -> x2 -> … -> xn */
export class DelayableChain extends Composite {
  constructor(members: unknown[]) {
    // Checked before super() joins the members into one graph.
    const checked = checkMembers('chain', members)
    for (let i = 1; i < checked.length; i++) refuseSelfEdge(checked[i - 1]!, checked[i]!)
    super('chain', members)
    for (let i = 1; i < this.members.length; i++) connect(this.members[i - 1]!, this.members[i]!)
  }
}

/** Members run independently; an edge into the group reaches every head, out of it every tail. */
export class DelayableGroup extends Composite {
  constructor(members: unknown[]) {
    super('group', members)
  }
}

export function chain(...nodes: GraphNode[]): DelayableChain {
  return new DelayableChain(nodes)
}

export function group(...nodes: GraphNode[]): DelayableGroup {
  return new DelayableGroup(nodes)
}

/** A job function call waiting to be delayed, with its properties and edges. */
export class Delayable {
  /** @internal */ graph = new Graph()
  /** @internal */ call: { method: string; args: unknown[] } | null = null
  /** @internal */ props: CheckedProperties
  /** The stored job, once the graph was delayed. */
  job: JobView | undefined = undefined
  /** @internal A store of this delayable in flight (delay(), delayMany, batch); null when none is. */
  storing: Storing | null = null
  /** @internal The batch whose onDone this delayable is: that batch stores its job when it
   * completes, so it is delayed by nothing else (null: none). */
  onDoneOf: string | null = null

  constructor(
    /** @internal */ readonly target: Target,
    /** @internal */ readonly host: GraphHost,
    props: JobProperties | undefined,
  ) {
    this.props = checkProperties(props, 'delayable()')
    this.graph.vertices.add(this)
  }

  /** Set properties (merged over earlier ones); an unknown key throws. */
  set(props: JobProperties): this {
    this.props = { ...this.props, ...checkProperties(props, 'set()') }
    return this
  }

  onDone(...others: GraphNode[]): this {
    connectAll(this, others)
    return this
  }

  /** @internal Called by the generated method: calling again replaces the call (queue_job). */
  setCall(method: string, args: unknown[]): this {
    this.call = { method, args }
    return this
  }

  /**
   * Cut the records into chunks of `size` ids, one delayable per chunk with the same call and
   * properties, described '<description> (split i/n)'; a group, or a chain with { chain: true }.
   * A recordset with no ids is refused: there is nothing to split.
   */
  split(size: number, options: { chain?: boolean } = {}): DelayableGroup | DelayableChain {
    if (this.call === null) throw new InvalidGraphError('split() needs a method call first, e.g. .delayable().method(args).split(10)')
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
      throw new InvalidPropertyError(`split(): size must be a positive integer, got ${describe(size)}`)
    }
    checkSplitOptions(options)
    const ids = this.target.ids
    // queue_job cuts no chunk out of no records, and its delay() of that empty group raises: a
    // job over no records, which a split never meant, is refused here, before anything is stored.
    if (ids.length === 0) {
      throw new InvalidGraphError(`split(): ${this.target.model}.${this.call.method} has no records to cut into chunks; browse() the ids to split first`)
    }
    const total = Math.ceil(ids.length / size)
    // The chunks make one graph: past its limit, refused before a delayable is made for each.
    if (total > GRAPH_JOBS_MAX) {
      throw new InvalidGraphError(`split(): ${ids.length} records in chunks of ${size} make ${total} jobs; a graph may hold at most ${GRAPH_JOBS_MAX} (GRAPH_JOBS_MAX): use a larger size`)
    }
    const base = this.props.description ?? `${this.target.model}.${this.call.method}`
    const parts: Delayable[] = []
    for (let i = 0; i < total; i++) {
      const part = new Delayable({ ...this.target, ids: ids.slice(i * size, (i + 1) * size) }, this.host, undefined)
      part.props = { ...this.props, description: `${base} (split ${i + 1}/${total})` }
      part.call = { method: this.call.method, args: this.call.args }
      parts.push(part)
    }
    return options.chain === true ? new DelayableChain(parts) : new DelayableGroup(parts)
  }

  /** Store the whole connected graph this delayable belongs to; resolves when it is durable. */
  async delay(): Promise<this> {
    // A delay() made before an earlier store of this graph resolved would plan it while no vertex
    // has its job yet, and store every job a second time. The graph as that store took it is
    // answered as it answered (stored, or skipped for its identity keys); a graph that changed
    // since, or a store that failed, is planned again once every store in flight has settled.
    const same = storeOfGraph(this)
    if (same !== null && (await same.settled)) return this
    // (No await before markStoring when nothing is in flight: a call in the same tick sees it.)
    for (let inFlight = storesInFlight(this); inFlight !== null; inFlight = storesInFlight(this)) await inFlight
    const ordered = topologicalOrder(this.graph)
    const size = sizeOf(this.graph)
    if (this.graph.skippedAtSize === size || storedAsIs(this.graph, ordered)) return this
    const { planned, edges } = planGraph(this.graph, ordered)
    const settle = markStoring(ordered)
    let ok = false
    try {
      const views = await this.host.storeGraph(planned, edges)
      ordered.forEach((d, i) => (d.job = views[i] ?? (planned[i]!.stored === undefined ? undefined : d.job)))
      // Skipped for its identity keys: the jobs without a key were not stored, and stay so.
      // (As it was planned: grown since, it is planned again.)
      if (ordered.some((d) => d.job === undefined)) this.graph.skippedAtSize = size
      ok = true
    } finally {
      settle(ok)
    }
    return this
  }
}

/** @internal A store of delayables in flight: delay() of a graph, or delayMany's or batch's. */
export interface Storing {
  /** Resolves once the store has set every `.job` (true), or failed (false). */
  readonly settled: Promise<boolean>
  /** The size of each graph it stores as it began: vertices and edges. Neither is ever removed,
   * so a graph of the same size, every vertex of which it stores, is still the graph it stores. */
  readonly sizes: ReadonlyMap<Graph, number>
}

/** @internal Mark `vertices` as being stored until the returned function is called, once their
 * `.job` is set (ok) or the store failed. */
export function markStoring(vertices: readonly Delayable[]): (ok: boolean) => void {
  let settle!: (ok: boolean) => void
  const settled = new Promise<boolean>((resolve) => (settle = resolve))
  const sizes = new Map<Graph, number>()
  for (const d of vertices) if (!sizes.has(d.graph)) sizes.set(d.graph, sizeOf(d.graph))
  const storing: Storing = { settled, sizes }
  for (const d of vertices) d.storing = storing
  return (ok) => {
    for (const d of vertices) if (d.storing === storing) d.storing = null
    settle(ok)
  }
}

/** The store in flight of `d`'s graph as it is now, if one is (null: none, or the graph changed). */
function storeOfGraph(d: Delayable): Storing | null {
  const storing = d.storing
  if (storing === null || storing.sizes.get(d.graph) !== sizeOf(d.graph)) return null
  for (const v of d.graph.vertices) if (v.storing !== storing) return null
  return storing
}

/** What to wait for before storing `d`'s graph: the stores in flight of its vertices (null: none). */
function storesInFlight(d: Delayable): Promise<unknown> | null {
  const inFlight = new Set<Promise<boolean>>()
  for (const v of d.graph.vertices) if (v.storing !== null) inFlight.add(v.storing.settled)
  return inFlight.size === 0 ? null : Promise.all(inFlight)
}

/** @internal Vertices plus edges: it grows with a vertex that joins (merged in) and with an edge added. */
export function sizeOf(graph: Graph): number {
  let n = graph.vertices.size
  for (const children of graph.edges.values()) n += children.size
  return n
}

/** @internal A batch's onDone delayable is stored by that batch when it completes: delayed by
 * anything else too, its job would run twice. `where`: how the message places it. */
export function refuseOnDoneOfBatch(d: Delayable, where: string): void {
  if (d.onDoneOf === null) return
  throw new InvalidGraphError(
    `a delayable of model ${d.target.model} ${where} is the onDone of batch ${d.onDoneOf}, which stores its job when it completes; a delayable is delayed once`,
  )
}

/** @internal The graph `node` belongs to (every node of a graph shares it). */
export function graphOf(node: GraphNode): Graph {
  return anyVertex(node).graph
}

/** @internal The calls to store for `ordered` (the graph's vertices, parents first) and its
 * edges as [parent, child] indices into it. */
export function planGraph(graph: Graph, ordered: readonly Delayable[]): { planned: PlannedJob[]; edges: [number, number][] } {
  const index = new Map(ordered.map((d, i) => [d, i]))
  const planned: PlannedJob[] = ordered.map((d) => {
    if (d.call === null) {
      throw new InvalidGraphError(`a delayable of model ${d.target.model} in this graph has no method call; call one before delaying it`)
    }
    refuseOnDoneOfBatch(d, 'in this graph')
    // queue_job's delay() step 2: a vertex that already has its job reuses it, so a job delayed
    // alone can join a new graph (the core refuses it unless that job is still pending).
    const planned: PlannedJob = { target: d.target, method: d.call.method, args: d.call.args, props: d.props }
    if (d.job !== undefined) planned.stored = d.job.uuid
    return planned
  })
  const edges: [number, number][] = []
  for (const parent of ordered) {
    for (const child of graph.edges.get(parent) ?? []) edges.push([index.get(parent)!, index.get(child)!])
  }
  return { planned, edges }
}

/** Every vertex already has its job, stored by one delay() of this very graph with these very
 * edges: nothing to do. (Vertices delayed alone and connected since must be re-stored with their
 * new edges; an edge added inside a stored graph goes on to be refused, never dropped silently.) */
function storedAsIs(graph: Graph, ordered: readonly Delayable[]): boolean {
  if (!ordered.every((d) => d.job !== undefined)) return false
  if (ordered.length === 1) return true
  const graphUuid = ordered[0]!.job!.graphUuid
  if (graphUuid === null || !ordered.every((d) => d.job!.graphUuid === graphUuid)) return false
  const parents = new Map<Delayable, Set<string>>(ordered.map((d) => [d, new Set()]))
  for (const [parent, children] of graph.edges) for (const child of children) parents.get(child)!.add(parent.job!.uuid)
  return ordered.every((d) => {
    const stored = d.job!.dependsOn
    const wanted = parents.get(d)!
    return stored.length === wanted.size && stored.every((uuid) => wanted.has(uuid))
  })
}

/** Kahn's algorithm; ties keep the order vertices joined the graph. A cycle is refused. */
export function topologicalOrder(graph: Graph): Delayable[] {
  if (graph.vertices.size > GRAPH_JOBS_MAX) {
    throw new InvalidGraphError(`a graph may hold at most ${GRAPH_JOBS_MAX} jobs, this one has ${graph.vertices.size}`)
  }
  const indegree = new Map<Delayable, number>()
  for (const v of graph.vertices) indegree.set(v, 0)
  for (const children of graph.edges.values()) for (const c of children) indegree.set(c, indegree.get(c)! + 1)
  const ready: Delayable[] = []
  for (const [v, d] of indegree) if (d === 0) ready.push(v)
  const order: Delayable[] = []
  for (let i = 0; i < ready.length; i++) {
    const v = ready[i]!
    order.push(v)
    for (const c of graph.edges.get(v) ?? []) {
      const d = indegree.get(c)! - 1
      indegree.set(c, d)
      if (d === 0) ready.push(c)
    }
  }
  if (order.length !== graph.vertices.size) {
    throw new InvalidGraphError(`this graph has a cycle: a job would wait for itself: ${aCycle(graph, indegree).map(callName).join(' -> ')}`)
  }
  return order
}

/** One cycle among the vertices Kahn's algorithm could not order (indegree left above 0), its
 * first vertex repeated at the end. Each of them has a parent among them, so walking from parent
 * to parent meets a vertex twice: the walk between is a cycle (found backwards, then turned). */
function aCycle(graph: Graph, indegree: ReadonlyMap<Delayable, number>): Delayable[] {
  const parentOf = new Map<Delayable, Delayable>()
  for (const [parent, children] of graph.edges) {
    if (indegree.get(parent)! === 0) continue
    for (const child of children) if (indegree.get(child)! > 0 && !parentOf.has(child)) parentOf.set(child, parent)
  }
  const at = new Map<Delayable, number>()
  const walk: Delayable[] = []
  let v = parentOf.keys().next().value!
  while (!at.has(v)) {
    at.set(v, walk.length)
    walk.push(v)
    v = parentOf.get(v)!
  }
  const cycle = walk.slice(at.get(v)!).reverse()
  return [...cycle, cycle[0]!]
}

/** A vertex as a refusal names it: its function and arguments, cut short. */
function callName(d: Delayable): string {
  const args = d.call === null ? '' : d.call.args.map(describe).join(', ')
  return `${d.target.model}.${d.call?.method ?? '(no method call yet)'}(${cutText(args, 60)})`
}

/** `{ chain: 'yes' }` or a misspelt key would otherwise quietly make a group. */
function checkSplitOptions(options: unknown): void {
  if (!isOptionsObject(options)) {
    throw new InvalidPropertyError(`split(): options must be an object such as { chain: true }, got ${describe(options)}`)
  }
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'chain') throw new InvalidPropertyError(`split(): unknown option ${JSON.stringify(key)}; known: chain`)
    if (value !== undefined && typeof value !== 'boolean') throw new InvalidPropertyError(`split(): chain must be a boolean, got ${describe(value)}`)
  }
}
