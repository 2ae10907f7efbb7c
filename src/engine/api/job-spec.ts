// From planned calls to JobSpecs: ids, times, defaults, channel resolution, identity keys and
// payload copies are all settled here, before anything is submitted, so bad input is refused
// with nothing written.

import type { GraphJoin } from '../core/commands.js'
import type { JobSpec } from '../core/events.js'
import { InvalidGraphError, InvalidPropertyError } from '../errors.js'
import type { PlannedJob, Target } from './delayable.js'
import type { FunctionRegistry } from './functions.js'
import { checkIdentityKey, DEFAULT_MAX_RETRIES, DEFAULT_PRIORITY, etaMs, type CheckedProperties, type IdentityKeyJob } from './properties.js'
import { cloneArgs } from '../../storage/serialize.js'

export interface SpecContext {
  nowMs: number
  newId: () => string
  /** The built-in newId's id for nowMs (ids.ts idAtOf): no second clock read per job. */
  idAt?: ((nowMs: number) => string) | null
  functions: FunctionRegistry
}

const NO_PARENTS: string[] = Object.freeze([]) as unknown as string[]

export function buildSpecs(planned: readonly PlannedJob[], edges: readonly (readonly [number, number])[], ctx: SpecContext): JobSpec[] {
  const graphUuid = planned.length > 1 ? ctx.newId() : null
  const specs = planned.map((p) => buildSpec(p.target, p.method, p.args, p.props, graphUuid, ctx))
  for (const [parent, child] of edges) {
    const spec = specs[child]!
    if (spec.dependsOn === NO_PARENTS) spec.dependsOn = []
    spec.dependsOn.push(specs[parent]!.uuid)
  }
  return specs
}

/**
 * A graph in which some vertices are jobs stored before (delayed alone): new jobs get specs,
 * stored ones join the graph with their edges. `uuids` follows `planned`.
 */
export function buildGraphJoin(
  planned: readonly PlannedJob[],
  edges: readonly (readonly [number, number])[],
  ctx: SpecContext,
): { specs: JobSpec[]; joins: GraphJoin[]; uuids: string[] } {
  const graphUuid = ctx.newId()
  const specs: JobSpec[] = []
  const joins: GraphJoin[] = []
  const uuids: string[] = []
  const parentsOf: string[][] = []
  const seen = new Set<string>()
  for (const p of planned) {
    if (p.stored === undefined) {
      const spec = buildSpec(p.target, p.method, p.args, p.props, graphUuid, ctx)
      spec.dependsOn = []
      specs.push(spec)
      uuids.push(spec.uuid)
      parentsOf.push(spec.dependsOn)
    } else {
      if (seen.has(p.stored)) throw new InvalidGraphError(`job ${p.stored} appears twice in this graph`)
      const join: GraphJoin = { uuid: p.stored, graphUuid, dependsOn: [] }
      joins.push(join)
      uuids.push(join.uuid)
      parentsOf.push(join.dependsOn)
    }
    seen.add(uuids[uuids.length - 1]!)
  }
  for (const [parent, child] of edges) parentsOf[child]!.push(uuids[parent]!)
  return { specs, joins, uuids }
}

/** One job's spec. Takes its parts as arguments: withDelay calls it once per job, with the
 * default description ('<model>.<method>') it keeps per method, and its own fresh array of
 * arguments (`argsOwned`: see cloneArgs). */
export function buildSpec(
  target: Target,
  method: string,
  rawArgs: unknown[],
  props: CheckedProperties,
  graphUuid: string | null,
  ctx: SpecContext,
  defaultDescription?: string,
  argsOwned = false,
): JobSpec {
  const args = cloneArgs(rawArgs, argsOwned)
  const spec: JobSpec = {
    uuid: ctx.idAt == null ? ctx.newId() : ctx.idAt(ctx.nowMs),
    graphUuid,
    model: target.model,
    method,
    records: target.ids,
    args,
    context: target.context,
    priority: props.priority ?? DEFAULT_PRIORITY,
    eta: etaMs(props.eta, ctx.nowMs),
    maxRetries: props.maxRetries ?? DEFAULT_MAX_RETRIES,
    description: props.description ?? defaultDescription ?? `${target.model}.${method}`,
    channel: props.channel ?? ctx.functions.resolve(target.model, method).channel ?? 'root',
    identityKey: null,
    dependsOn: NO_PARENTS,
    createdAt: ctx.nowMs,
  }
  const key = props.identityKey
  if (typeof key === 'function') {
    const job: IdentityKeyJob = {
      model: spec.model,
      method: spec.method,
      records: spec.records,
      args: spec.args,
      context: spec.context,
      priority: spec.priority,
      eta: spec.eta,
      maxRetries: spec.maxRetries,
      description: spec.description,
      channel: spec.channel,
    }
    let computed: unknown
    try {
      computed = key(job)
    } catch (error) {
      throw new InvalidPropertyError(`identityKey function of ${spec.description} threw: ${(error as Error)?.message ?? String(error)}`)
    }
    spec.identityKey = checkIdentityKey(computed, `identityKey function of ${spec.description}`)
  } else if (typeof key === 'string') {
    spec.identityKey = key
  }
  return spec
}
