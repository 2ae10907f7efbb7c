// trapJobs(): queue_job's trap_jobs() / JobsTrap. While a Wharf is trapped, every delayed call
// (withDelay, delay() of a graph) is built into real JobSpecs — so defaults, the channel from
// configure() and identity keys are computed exactly as for storage — and kept here instead of
// being stored. A test then asserts on what was delayed, and may run the handlers directly.

import { AssertionError } from 'node:assert'
import type { JobSpec, RecordId } from '../core/events.js'
import type { JobView } from '../core/view.js'
import { fail } from '../core/assert.js'
import { InvalidJobFunctionError, InvalidPropertyError } from '../errors.js'
import type { PlannedJob } from '../api/delayable.js'
import { buildSpecs } from '../api/job-spec.js'
import { atElement } from '../api/delay-many.js'
import { describe, PROPERTY_KEYS, type IdentityKeyJob } from '../api/properties.js'
import { BOUND_METHOD, type BoundMethodInfo } from '../api/recordset.js'
import { cloneSerializable, serializableEqual } from '../../storage/serialize.js'
import { SINK, type DelaySink, type Wharf } from '../api/wharf.js'
import type { FunctionRegistry } from '../api/functions.js'
import { JobContext } from '../runtime/runner.js'
import { callAsTry } from '../runtime/direct-try.js'

/** A runaway loop of delays in a test should fail loudly, not exhaust memory. */
export const TRAP_CALLS_MAX = 1_000_000

/** The six properties as the caller gave them: null when unset, eta raw (a Date or seconds). */
export interface TrapProperties {
  priority: number | null
  eta: Date | number | null
  maxRetries: number | null
  description: string | null
  channel: string | null
  identityKey: string | ((job: IdentityKeyJob) => string) | null
}

/** One delayed call, recorded whether or not its identity key made it a duplicate. */
export interface TrapCall {
  /** 'model.method' */
  method: string
  records: RecordId[]
  args: unknown[]
  properties: TrapProperties
}

/** A recordset's method (same model, method and records) or a 'model.method' string (any records). */
export type JobMatcher = ((...args: never[]) => unknown) | string

export interface AssertEnqueuedOptions {
  /** Compared exactly; omitted = no arguments. */
  args?: unknown[]
  /** Compared only on the keys given. */
  properties?: Partial<TrapProperties>
}

interface Matcher {
  model: string
  method: string
  /** null: any records. */
  ids: readonly RecordId[] | null
}

export function trapJobs(wharf: Wharf): JobsTrap {
  if (wharf === null || typeof wharf !== 'object' || !(SINK in wharf)) {
    throw new InvalidPropertyError(`trapJobs() needs a Wharf (from Wharf.open()), got ${describe(wharf)}`)
  }
  return new JobsTrap(wharf)
}

/** A misspelt key (`{ onyl: … }`) would otherwise drop the filter, and the assertion pass wrongly. */
function checkOptions(options: unknown, known: readonly string[], where: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidPropertyError(`${where}: options must be an object such as { ${known[0]}: … }, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InvalidPropertyError(`${where}: unknown option ${JSON.stringify(key)}; known: ${known.join(', ')}`)
  }
}

export class JobsTrap implements DelaySink {
  private callList: TrapCall[] = []
  private trapped: JobView[] = []
  /** identity key -> the first trapped job holding it; cleared with `trapped`. */
  private readonly byIdentity = new Map<string, JobView>()

  constructor(private readonly wharf: Wharf) {
    // Two traps would each see half of the calls; refuse rather than split them silently.
    if (wharf[SINK] !== null) throw new Error('trapJobs(): this Wharf is already trapped; call restore() on the first trap before trapping again')
    wharf[SINK] = this
  }

  get calls(): readonly TrapCall[] {
    return this.callList
  }

  get enqueuedJobs(): readonly JobView[] {
    return this.trapped
  }

  /** @internal Called by the Wharf instead of storing; returns what the caller's promise resolves with. */
  capture(planned: readonly PlannedJob[], edges: readonly (readonly [number, number])[], nowMs: number): (JobView | undefined)[] {
    this.checkRoom(planned.length)
    return this.record(planned, this.build(planned, edges, nowMs))
  }

  /** @internal delayMany: each graph as capture() takes it, in order; a bad one traps none. */
  captureMany(graphs: readonly { planned: readonly PlannedJob[]; edges: readonly (readonly [number, number])[] }[], nowMs: number): (JobView | undefined)[][] {
    this.checkRoom(graphs.reduce((n, g) => n + g.planned.length, 0))
    const specs = graphs.map((g, k) => {
      try {
        return this.build(g.planned, g.edges, nowMs)
      } catch (error) {
        throw atElement(error, k)
      }
    })
    return graphs.map((g, k) => this.record(g.planned, specs[k]!))
  }

  private checkRoom(calls: number): void {
    if (this.callList.length + calls > TRAP_CALLS_MAX) {
      throw new Error(`trapJobs(): more than TRAP_CALLS_MAX (${TRAP_CALLS_MAX}) delayed calls; is a test delaying in a loop?`)
    }
  }

  private build(planned: readonly PlannedJob[], edges: readonly (readonly [number, number])[], nowMs: number): JobSpec[] {
    const { newId, functions } = this.wharf
    return buildSpecs(planned, edges, { nowMs, newId, functions })
  }

  /**
   * @internal batch(): the jobs it built, so their uuids are the ones batch() minted and each
   * carries the batch's uuid as a stored job would. batch() refused identity keys already, so
   * every job is trapped.
   */
  captureBatch(graphs: readonly { planned: readonly PlannedJob[] }[], jobs: readonly JobSpec[], ends: readonly number[], batchUuid: string): JobView[] {
    this.checkRoom(jobs.length)
    const views: JobView[] = []
    let from = 0
    graphs.forEach((graph, k) => {
      const specs = jobs.slice(from, ends[k])
      specs.forEach((spec, i) => this.callList.push(Object.freeze(callOf(spec, graph.planned[i]!))))
      views.push(...this.keep(specs, batchUuid))
      from = ends[k]!
    })
    return views
  }

  /** Record the calls and trap the jobs, unless identity keys skip the graph. */
  private record(planned: readonly PlannedJob[], specs: JobSpec[]): (JobView | undefined)[] {
    specs.forEach((spec, i) => this.callList.push(Object.freeze(callOf(spec, planned[i]!))))
    // queue_job §1.7: skip the graph only when every job with a key matches a trapped job.
    let keyed = 0
    let matched = 0
    const matches = specs.map((spec) => {
      if (spec.identityKey === null) return undefined
      keyed++
      const match = this.byIdentity.get(spec.identityKey)
      if (match !== undefined) matched++
      return match
    })
    // Skipped: the caller gets the matching trapped jobs (undefined for jobs without a key).
    if (keyed > 0 && matched === keyed) return matches
    return this.keep(specs)
  }

  private keep(specs: readonly JobSpec[], batchUuid: string | null = null): JobView[] {
    const views = trappedViews(specs, batchUuid)
    for (const view of views) {
      this.trapped.push(view)
      if (view.identityKey !== null && !this.byIdentity.has(view.identityKey)) this.byIdentity.set(view.identityKey, view)
    }
    return views
  }

  /**
   * @internal A cron's firing while trapped (the engine's, once the cron's move past it is
   * committed): its jobs, one call each. Their properties are the cron definition's, settled when
   * cron() was called (defaults included), with the firing's identity key — or the definition's
   * own, which a trapped job may hold already: then, as the store would, no job is trapped (the
   * call is recorded). Never refused: no caller would see the error, and a cron fires at most once
   * per scheduled time.
   */
  captureFired(specs: readonly JobSpec[]): void {
    for (const spec of specs) {
      this.callList.push(Object.freeze(firedCallOf(spec)))
      if (spec.identityKey === null || !this.byIdentity.has(spec.identityKey)) this.keep([spec])
    }
  }

  jobsCount(options: { only?: JobMatcher } = {}): number {
    checkOptions(options, ['only'], 'jobsCount()')
    return this.count(options.only === undefined ? null : matcherOf(options.only, 'jobsCount()', this.wharf.functions))
  }

  assertJobsCount(expected: number, options: { only?: JobMatcher } = {}): void {
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new InvalidPropertyError(`assertJobsCount(): expected must be a non-negative integer, got ${describe(expected)}`)
    }
    checkOptions(options, ['only'], 'assertJobsCount()')
    // Matched here, not through jobsCount(): a bad `only` must be blamed on assertJobsCount().
    const m = options.only === undefined ? null : matcherOf(options.only, 'assertJobsCount()', this.wharf.functions)
    const actual = this.count(m)
    if (actual === expected) return
    const of = m === null ? '' : ` of ${m.model}(${formatList(m.ids)}).${m.method}`
    const list = this.trapped.map((job) => `\n * ${job.model}(${formatList(job.records)}).${job.method}(${formatList(job.args)})`)
    throw new AssertionError({
      message: `${actual} != ${expected}: expected ${expected} trapped job(s)${of}, found ${actual}.\nTrapped jobs:${list.join('')}`,
      actual,
      expected,
    })
  }

  private count(matcher: Matcher | null): number {
    if (matcher === null) return this.trapped.length
    return this.trapped.filter((job) => matchesJob(matcher, job.model, job.method, job.records)).length
  }

  /** Passes if some delayed call has the same target, exactly these args and these properties. */
  assertEnqueuedJob(fn: JobMatcher, options: AssertEnqueuedOptions = {}): void {
    const matcher = matcherOf(fn, 'assertEnqueuedJob()', this.wharf.functions)
    checkOptions(options, ['args', 'properties'], 'assertEnqueuedJob()')
    const args = options.args ?? []
    if (!Array.isArray(args)) throw new InvalidPropertyError(`assertEnqueuedJob(): args must be an array, got ${describe(args)}`)
    const expected = expectedProperties(options.properties ?? {})
    const keys = expected.map(([key]) => key)
    for (const call of this.callList) {
      const [model, method] = splitName(call.method)
      if (
        matchesJob(matcher, model, method, call.records) &&
        serializableEqual(args, call.args) &&
        expected.every(([key, value]) => samePropertyValue(key, value, call.properties[key]))
      ) {
        return
      }
    }
    // Like queue_job, the actual calls show only the asserted properties, in their usual order.
    const actual = this.callList.map((call) => {
      const [model, method] = splitName(call.method)
      const shown = PROPERTY_KEYS.filter((k) => keys.includes(k)).map((k): [string, unknown] => [k, call.properties[k]])
      return `\n * ${formatCall(model, call.records, method, call.args, shown)}`
    })
    throw new AssertionError({
      message: `Job ${formatCall(matcher.model, matcher.ids, matcher.method, args, expected)} was not enqueued.\nActual enqueued jobs:${actual.join('')}`,
    })
  }

  /**
   * Take and clear the trapped jobs, then call their handlers directly: single jobs first by
   * priority (stable), then each graph in topological order. No state changes, no retries;
   * a handler's error (its timeoutMs passed, its result cannot be stored, too) propagates and the
   * jobs after it are not run.
   */
  async performEnqueuedJobs(): Promise<void> {
    const jobs = this.trapped
    this.trapped = []
    this.byIdentity.clear()
    // queue_job sorts on graph_uuid with '' for single jobs; Array.prototype.sort is stable.
    const sorted = [...jobs].sort((a, b) => compareStrings(a.graphUuid ?? '', b.graphUuid ?? ''))
    let i = 0
    while (i < sorted.length) {
      const graphUuid = sorted[i]!.graphUuid
      let end = i
      while (end < sorted.length && sorted[end]!.graphUuid === graphUuid) end++
      const batch = sorted.slice(i, end)
      const order = graphUuid === null ? batch.sort((a, b) => a.priority - b.priority) : topologicalOrder(batch)
      for (const job of order) await this.perform(job)
      i = end
    }
  }

  /** Delayed calls are stored again. Idempotent; the recorded calls stay readable. */
  restore(): void {
    if (this.wharf[SINK] === this) this.wharf[SINK] = null
  }

  [Symbol.dispose](): void {
    this.restore()
  }

  private async perform(job: JobView): Promise<void> {
    const handler = this.wharf.functions.handler(job.model, job.method)
    if (handler === undefined) {
      throw new InvalidJobFunctionError(`no handler registered for ${job.model}.${job.method}: declare it with wharf.model('${job.model}', { ${job.method}() {…} })`)
    }
    // this.job as a stored job's try sees it: started, this try counted.
    const now = this.wharf.clock.now()
    const started: JobView = Object.freeze({ ...job, state: 'started', retry: job.retry + 1, enqueuedAt: now, startedAt: now })
    const context = new JobContext(job.records, { ...job.context, jobUuid: job.uuid }, this.wharf.clock, null, started)
    // With a FakeClock, moved on while the handler sleeps on it (nothing else would move it); held
    // to the function's timeoutMs as a stored try is.
    const { timeoutMs } = this.wharf.functions.resolve(job.model, job.method)
    const returned: unknown = await callAsTry(handler, context, job.args, this.wharf.clock, `${job.model}.${job.method}`, timeoutMs)
    // A result that cannot be stored fails a stored job's try (and a no-delay call): not only
    // in production. The copy is dropped: nothing is stored here.
    if (returned !== undefined) cloneSerializable(returned, 'result')
  }
}

function callOf(spec: JobSpec, planned: PlannedJob): TrapCall {
  const p = planned.props
  return {
    method: `${spec.model}.${spec.method}`,
    records: spec.records,
    args: spec.args,
    properties: {
      priority: p.priority ?? null,
      eta: p.eta ?? null,
      maxRetries: p.maxRetries ?? null,
      description: p.description ?? null,
      channel: p.channel ?? null,
      identityKey: p.identityKey ?? null,
    },
  }
}

function firedCallOf(spec: JobSpec): TrapCall {
  const { priority, maxRetries, description, channel, identityKey } = spec
  return { method: `${spec.model}.${spec.method}`, records: spec.records, args: spec.args, properties: { priority, eta: null, maxRetries, description, channel, identityKey } }
}

/** The views the engine would give these jobs right after storing them (no parent is done). */
function trappedViews(specs: readonly JobSpec[], batchUuid: string | null): JobView[] {
  const dependents = new Map<string, string[]>(specs.map((s) => [s.uuid, []]))
  for (const spec of specs) for (const parent of spec.dependsOn) dependents.get(parent)?.push(spec.uuid)
  // Frozen: the caller holds the same object the trap performs, so it must not change priority etc.
  return specs.map((s) => Object.freeze({
    ...s,
    state: s.dependsOn.length > 0 ? 'wait_dependencies' : 'pending',
    retry: 0,
    dependsOn: [...s.dependsOn],
    dependents: dependents.get(s.uuid)!,
    result: null,
    excName: null,
    excMessage: null,
    excInfo: null,
    enqueuedAt: null,
    startedAt: null,
    doneAt: null,
    cancelledAt: null,
    execTimeMs: null,
    progress: null,
    node: null,
    batchUuid,
  }) satisfies JobView)
}

/** Kahn's algorithm over dependsOn; roots and ties keep enqueue order. */
function topologicalOrder(jobs: readonly JobView[]): JobView[] {
  const indegree = new Map<string, number>()
  const children = new Map<string, JobView[]>()
  for (const job of jobs) {
    indegree.set(job.uuid, 0)
    children.set(job.uuid, [])
  }
  for (const job of jobs) {
    for (const parent of job.dependsOn) {
      const siblings = children.get(parent)
      if (siblings === undefined) continue // a parent outside the trap: nothing to wait for here
      siblings.push(job)
      indegree.set(job.uuid, indegree.get(job.uuid)! + 1)
    }
  }
  const order = jobs.filter((job) => indegree.get(job.uuid) === 0)
  for (let i = 0; i < order.length; i++) {
    for (const child of children.get(order[i]!.uuid)!) {
      const d = indegree.get(child.uuid)! - 1
      indegree.set(child.uuid, d)
      if (d === 0) order.push(child)
    }
  }
  // delay() refuses cycles, so a trapped graph always sorts completely.
  if (order.length !== jobs.length) fail(`trapped graph ${jobs[0]?.graphUuid} has a cycle`)
  return order
}

function matcherOf(fn: unknown, where: string, functions: FunctionRegistry): Matcher {
  if (typeof fn === 'string') {
    const dot = fn.lastIndexOf('.')
    const [model, method] = [fn.slice(0, dot), fn.slice(dot + 1)]
    // A model's name ('res.partner') splits like 'model.method' and would match nothing, so
    // that an assertion of 0 jobs passes whatever was delayed: name one of its methods.
    if (functions.registered.has(fn) && functions.handler(model, method) === undefined) {
      const known = [...functions.registered.get(fn)!].map((m) => `'${fn}.${m}'`)
      throw new InvalidPropertyError(`${where}: ${JSON.stringify(fn)} is a model, not a job function; name one of its methods: ${known.join(', ')}`)
    }
    if (dot > 0 && dot < fn.length - 1) return { model, method, ids: null }
  } else if (typeof fn === 'function') {
    const info = (fn as { [BOUND_METHOD]?: BoundMethodInfo })[BOUND_METHOD]
    if (info !== undefined) return { model: info.model, method: info.method, ids: info.ids }
  }
  throw new InvalidPropertyError(
    `${where}: expected a recordset's method (e.g. partner.browse([1]).thumb) or a 'model.method' string, got ${describe(fn)}`,
  )
}

/** Records compare as sets, like Odoo recordsets. */
function matchesJob(m: Matcher, model: string, method: string, ids: readonly RecordId[]): boolean {
  if (m.model !== model || m.method !== method) return false
  if (m.ids === null) return true
  const want = new Set(m.ids)
  const have = new Set(ids)
  return want.size === have.size && [...want].every((id) => have.has(id))
}

function expectedProperties(properties: Partial<TrapProperties>): [keyof TrapProperties, unknown][] {
  if (properties === null || typeof properties !== 'object') {
    throw new InvalidPropertyError(`assertEnqueuedJob(): properties must be an object, got ${describe(properties)}`)
  }
  return Object.entries(properties).map(([key, value]): [keyof TrapProperties, unknown] => {
    if (!(PROPERTY_KEYS as readonly string[]).includes(key)) {
      throw new InvalidPropertyError(`assertEnqueuedJob(): no property ${JSON.stringify(key)}; known: ${PROPERTY_KEYS.join(', ')}`)
    }
    return [key as keyof TrapProperties, value ?? null]
  })
}

/** eta by value (a Date by its time, seconds by equality); the rest, functions included, by identity. */
function samePropertyValue(key: keyof TrapProperties, expected: unknown, actual: unknown): boolean {
  if (key === 'eta' && (expected instanceof Date || actual instanceof Date)) {
    return expected instanceof Date && actual instanceof Date && expected.getTime() === actual.getTime()
  }
  return expected === actual
}

function splitName(name: string): [string, string] {
  const dot = name.lastIndexOf('.')
  return [name.slice(0, dot), name.slice(dot + 1)]
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function formatCall(model: string, ids: readonly RecordId[] | null, method: string, args: readonly unknown[], props: readonly [string, unknown][]): string {
  const shown = props.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ')
  return `${model}(${formatList(ids)}).${method}(${formatList(args)}) with properties (${shown})`
}

function formatList(values: readonly unknown[] | null): string {
  return values === null ? '*' : values.map(formatValue).join(', ')
}

/** Strings quoted, unlike queue_job's str(): in JS '1' and 1 are different arguments. */
function formatValue(value: unknown): string {
  if (typeof value === 'function') return `[Function ${value.name || 'anonymous'}]`
  return describe(value)
}
