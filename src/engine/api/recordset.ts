// Models and recordsets: wharf.model('res.partner', { method() {…} }) returns an empty recordset
// whose methods run now (direct call), or become jobs through withDelay() and delayable().
// Each model gets its own three small classes with the methods on their prototypes, so a call
// costs no Proxy and no per-call closure.

import type { RecordId } from '../core/events.js'
import type { JobView } from '../core/view.js'
import { InvalidPropertyError } from '../errors.js'
import type { Handler, JobContext } from '../runtime/runner.js'
import { Delayable, type GraphHost, type Target } from './delayable.js'
import { checkMethodName, checkModelName } from './functions.js'
import { isOptionsObject } from './options-object.js'
import { checkProperties, describe, type CheckedProperties, type JobProperties } from './properties.js'
import { cloneSerializable } from '../../storage/serialize.js'

export const RECORDS_MAX = 1_000_000

/** What a recordset needs from its Wharf. */
export interface ModelHost extends GraphHost {
  readonly contextKeys: readonly string[]
  /** Store one job (withDelay); resolves with its view once durable. `description` is the
   * default one, '<model>.<method>', built once per method rather than once per job; `args` is
   * the call's own rest array, which nobody else holds (it may be frozen and kept as it is). */
  delayOne(target: Target, method: string, args: unknown[], props: CheckedProperties, description: string): Promise<JobView>
  /** Run a method now, in-process, with `this` = a JobContext without a job. */
  callNow(target: Target, method: string, args: unknown[]): unknown
}

type Methods = Record<string, Handler>
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Params<F> = F extends (this: any, ...args: infer A) => any ? A : never
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Result<F> = F extends (this: any, ...args: any[]) => infer R ? R : never

export type RecordsetOf<M extends Methods> = Recordset<M> & { [K in keyof M]: (...args: Params<M[K]>) => Result<M[K]> }
export type DelayedCallsOf<M extends Methods> = { [K in keyof M]: (...args: Params<M[K]>) => Promise<JobView> }
export type DelayableOf<M extends Methods> = Delayable & { [K in keyof M]: (...args: Params<M[K]>) => DelayableOf<M> }

/** Marks a recordset's bound method, so trap assertions know its model, method and records. */
export const BOUND_METHOD = Symbol('wharf.boundMethod')
export interface BoundMethodInfo {
  model: string
  method: string
  ids: RecordId[]
}

const RESERVED = new Set([
  // Recordset
  'browse', 'withContext', 'withDelay', 'delayable', 'ids', 'model', 'context', 'target', 'host', 'constructor',
  // Delayable
  'set', 'onDone', 'delay', 'split', 'job', 'call', 'props', 'graph', 'setCall', 'then',
  // Object.prototype
  'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__proto__',
])

export class Recordset<M extends Methods = Methods> {
  /** @internal */ readonly target: Target
  constructor(
    /** @internal */ readonly host: ModelHost,
    target: Target,
  ) {
    this.target = target
  }

  get model(): string {
    return this.target.model
  }

  get ids(): RecordId[] {
    return this.target.ids
  }

  get context(): Record<string, unknown> {
    return this.target.context
  }

  /** The same model with these record ids. */
  browse(ids: RecordId | readonly RecordId[]): RecordsetOf<M> {
    return this.derive({ ...this.target, ids: checkIds(Array.isArray(ids) ? ids : [ids as RecordId]) })
  }

  /** The same records with a context; only the Wharf's contextKeys are kept (and travel with jobs). */
  withContext(context: Record<string, unknown>): RecordsetOf<M> {
    if (!isOptionsObject(context)) {
      throw new InvalidPropertyError(`withContext() needs an object, got ${describe(context)}`)
    }
    const kept: Record<string, unknown> = { ...this.target.context }
    // Own keys only: every object has a 'constructor' and a 'toString', which are not context.
    for (const key of this.host.contextKeys) if (Object.hasOwn(context, key)) kept[key] = context[key]
    return this.derive({ ...this.target, context: cloneSerializable(kept, 'context') })
  }

  /** Delay the next method call: `await records.withDelay({ priority: 5 }).method(args)`. */
  withDelay(props?: JobProperties): DelayedCallsOf<M> {
    const Calls = (this.constructor as unknown as ModelClasses).delayedCalls
    return new Calls(this, checkProperties(props, 'withDelay()')) as unknown as DelayedCallsOf<M>
  }

  /** A Delayable to build graphs with: `records.delayable().method(args).onDone(…)`. */
  delayable(props?: JobProperties): DelayableOf<M> {
    const D = (this.constructor as unknown as ModelClasses).delayable
    return new D(this.target, this.host, props) as unknown as DelayableOf<M>
  }

  private derive(target: Target): RecordsetOf<M> {
    const R = this.constructor as new (host: ModelHost, target: Target) => Recordset<M>
    return new R(this.host, target) as RecordsetOf<M>
  }
}

interface ModelClasses {
  delayedCalls: new (recordset: Recordset, props: CheckedProperties) => object
  delayable: new (target: Target, host: GraphHost, props: JobProperties | undefined) => Delayable
}

/** Build the classes of one model and return its empty recordset. */
export function defineModel<M extends Methods>(host: ModelHost, model: string, methods: M): RecordsetOf<M> {
  checkModelName(model)
  if (methods === null || typeof methods !== 'object') {
    throw new InvalidPropertyError(`model(${JSON.stringify(model)}) needs an object of methods, got ${describe(methods)}`)
  }
  const names = Object.keys(methods)
  for (const name of names) {
    checkMethodName(model, name, RESERVED)
    if (typeof methods[name] !== 'function') {
      throw new InvalidPropertyError(`model ${model}: ${name} must be a function, got ${describe(methods[name])}`)
    }
  }

  class ModelRecordset extends Recordset<M> {}
  class DelayedCalls {
    constructor(
      readonly recordset: Recordset,
      readonly props: CheckedProperties,
    ) {}
  }
  class ModelDelayable extends Delayable {}
  const classes = ModelRecordset as unknown as ModelClasses
  classes.delayedCalls = DelayedCalls
  classes.delayable = ModelDelayable

  for (const method of names) {
    // Shared by every job of this method that has no description of its own: no string per job,
    // and one string held by all the records waiting.
    const description = `${model}.${method}`
    // A getter, so `records.method` is a function bound to those records: it can be called
    // directly, or handed to trap.assertEnqueuedJob() which reads its model and ids.
    Object.defineProperty(ModelRecordset.prototype, method, {
      get(this: Recordset) {
        const target = this.target
        const bound = (...args: unknown[]): unknown => host.callNow(target, method, args)
        const info: BoundMethodInfo = { model, method, ids: target.ids }
        Object.defineProperty(bound, BOUND_METHOD, { value: info })
        return bound
      },
    })
    Object.defineProperty(DelayedCalls.prototype, method, {
      value(this: DelayedCalls, ...args: unknown[]): Promise<JobView> {
        return host.delayOne(this.recordset.target, method, args, this.props, description)
      },
    })
    Object.defineProperty(ModelDelayable.prototype, method, {
      value(this: Delayable, ...args: unknown[]): Delayable {
        return this.setCall(method, args)
      },
    })
  }
  return new ModelRecordset(host, { model, ids: [], context: {} }) as RecordsetOf<M>
}

function checkIds(ids: readonly unknown[]): RecordId[] {
  if (ids.length > RECORDS_MAX) throw new InvalidPropertyError(`browse(): at most ${RECORDS_MAX} ids, got ${ids.length}`)
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]
    if (!(typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)))) {
      throw new InvalidPropertyError(`browse(): ids[${i}] must be a string or a finite number, got ${describe(id)}`)
    }
  }
  return Object.freeze(ids.slice()) as RecordId[]
}

export type { JobContext }
