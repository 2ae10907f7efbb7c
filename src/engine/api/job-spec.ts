// From planned calls to JobSpecs: ids, times, defaults, channel resolution, identity keys and
// payload copies are all settled here, before anything is submitted, so bad input is refused
// with nothing written.

import type { JobSpec } from '../core/events.js'
import { InvalidPropertyError } from '../errors.js'
import type { PlannedJob, Target } from './delayable.js'
import type { FunctionRegistry } from './functions.js'
import { checkIdentityKey, DEFAULT_MAX_RETRIES, DEFAULT_PRIORITY, etaMs, type CheckedProperties, type IdentityKeyJob } from './properties.js'
import { cloneArgs } from '../../storage/serialize.js'

export interface SpecContext {
  nowMs: number
  newId: () => string
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

/** One job's spec. Takes its parts as arguments: withDelay calls it once per job. */
export function buildSpec(
  target: Target,
  method: string,
  rawArgs: unknown[],
  props: CheckedProperties,
  graphUuid: string | null,
  ctx: SpecContext,
): JobSpec {
  const args = cloneArgs(rawArgs)
  const spec: JobSpec = {
    uuid: ctx.newId(),
    graphUuid,
    model: target.model,
    method,
    records: target.ids,
    args,
    context: target.context,
    priority: props.priority ?? DEFAULT_PRIORITY,
    eta: etaMs(props.eta, ctx.nowMs),
    maxRetries: props.maxRetries ?? DEFAULT_MAX_RETRIES,
    description: props.description ?? `${target.model}.${method}`,
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
