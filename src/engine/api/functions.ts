// Job functions: handlers registered by model() and their configuration from configure() —
// queue_job's queue.job.function records. Configuration may come before or after the model.

import { normalizeChannelName } from '../core/channel-config.js'
import type { RetryDelay, RetryPattern } from '../core/retry.js'
import { InvalidChannelConfigError, InvalidJobFunctionError, NotSerializableError } from '../errors.js'
import type { FunctionLookup, Handler, ResolvedFunction } from '../runtime/runner.js'
import { cloneSerializable } from '../../storage/serialize.js'
import { DELAY_SECONDS_MAX } from '../core/limits.js'
import { describe } from '../core/describe.js'
import { isOptionsObject } from './options-object.js'

export interface RelatedAction {
  enable?: boolean
  funcName?: string
  kwargs?: Record<string, unknown>
}

export interface FunctionOptions {
  /** Default channel of this function (complete name; 'mail' means 'root.mail'). */
  channel?: string
  /** queue_job's retry_pattern: try count -> seconds, or [min, max] seconds drawn uniformly. */
  retryPattern?: Record<number, number | readonly [number, number]>
  relatedAction?: RelatedAction
  /** Abort (signal) and retry a try that runs longer than this. */
  timeoutMs?: number
}

export interface FunctionConfig {
  channel: string | null
  retryPattern: RetryPattern | null
  relatedAction: Required<Pick<RelatedAction, 'enable'>> & RelatedAction
  timeoutMs: number | null
}

/** A job function as operators see it (dashboard, CLI): its configuration and whether this
 * process has its handler. JSON-safe. */
export interface FunctionInfo {
  /** '<model>.<method>' */
  name: string
  model: string
  method: string
  /** A model in this process defines it (jobs of a function without a handler wait). */
  registered: boolean
  channel: string | null
  /** The retry pattern as configured: try count -> seconds or [min, max]. */
  retryPattern: Record<string, number | [number, number]> | null
  relatedAction: { enable: boolean; funcName?: string; kwargs?: Record<string, unknown> }
  timeoutMs: number | null
}

const MODEL_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/
const METHOD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const FUNCTION_OPTIONS = new Set(['channel', 'retryPattern', 'relatedAction', 'timeoutMs'])
const RELATED_ACTION_KEYS = new Set(['enable', 'funcName', 'kwargs'])
export const TIMEOUT_MS_MAX = 2 ** 31 - 1

export function checkModelName(model: unknown): string {
  if (typeof model !== 'string' || !MODEL_NAME.test(model)) {
    throw new InvalidJobFunctionError(
      `invalid model name ${describe(model)}: use dotted identifiers such as 'res.partner'`,
    )
  }
  return model
}

export function checkMethodName(model: string, method: string, reserved: ReadonlySet<string>): void {
  if (!METHOD_NAME.test(method)) {
    throw new InvalidJobFunctionError(`invalid method name ${JSON.stringify(method)} on model ${model}`)
  }
  if (reserved.has(method)) {
    throw new InvalidJobFunctionError(
      `method name ${JSON.stringify(method)} on model ${model} is reserved by Wharf's recordsets and delayables; rename it`,
    )
  }
}

const DEFAULTS: ResolvedFunction = Object.freeze({ handler: undefined, channel: null, retryPattern: null, timeoutMs: null })

export class FunctionRegistry implements FunctionLookup {
  private readonly handlers = new Map<string, Handler>()
  /** model -> methods with a handler, for the scheduler (no string building per pick). */
  readonly registered = new Map<string, Set<string>>()
  private readonly configs = new Map<string, FunctionConfig>()
  /** resolve() runs once per job start: cache its answer per model, then method (no string
   * concatenation on the hot path). */
  private readonly resolved = new Map<string, Map<string, ResolvedFunction>>()

  /** A model's handlers: all of them, or none when one is registered already (a refused
   * model() must not leave its other functions registered, bound to handlers nobody keeps). */
  registerModel(model: string, methods: Record<string, Handler>): void {
    const names = Object.keys(methods)
    if (names.length === 0) return // nothing to register (and no empty entry for the scheduler)
    for (const method of names) {
      const name = `${model}.${method}`
      if (this.handlers.has(name)) {
        throw new InvalidJobFunctionError(`job function ${name} is already registered: a model can be defined once per Wharf`)
      }
    }
    let registered = this.registered.get(model)
    if (registered === undefined) this.registered.set(model, (registered = new Set()))
    for (const method of names) {
      this.handlers.set(`${model}.${method}`, methods[method]!)
      registered.add(method)
    }
    this.resolved.clear()
  }

  configure(name: unknown, options: FunctionOptions): void {
    if (typeof name !== 'string' || name.lastIndexOf('.') <= 0) {
      throw new InvalidJobFunctionError(`invalid job function name ${describe(name)}: expected '<model>.<method>'`)
    }
    const dot = name.lastIndexOf('.')
    checkModelName(name.slice(0, dot))
    checkMethodName(name.slice(0, dot), name.slice(dot + 1), new Set())
    this.configs.set(name, parseFunctionOptions(name, options))
    this.resolved.clear()
  }

  handler(model: string, method: string): Handler | undefined {
    return this.handlers.get(`${model}.${method}`)
  }

  /** queue_job's default when nothing is configured: enabled, no method named. */
  relatedAction(model: string, method: string): FunctionConfig['relatedAction'] {
    return this.configs.get(`${model}.${method}`)?.relatedAction ?? { enable: true }
  }

  /** Every function registered or configured, by name. */
  list(): FunctionInfo[] {
    const names = new Set([...this.handlers.keys(), ...this.configs.keys()])
    return [...names].sort().map((name) => this.info(name))
  }

  private info(name: string): FunctionInfo {
    const dot = name.lastIndexOf('.')
    const config = this.configs.get(name)
    const { kwargs, ...related } = config?.relatedAction ?? { enable: true }
    return {
      name,
      model: name.slice(0, dot),
      method: name.slice(dot + 1),
      registered: this.handlers.has(name),
      channel: config?.channel ?? null,
      retryPattern: config?.retryPattern == null ? null : patternObject(config.retryPattern),
      // Copies: what a caller does with the answer must not reach the configuration.
      relatedAction: kwargs === undefined ? related : { ...related, kwargs: structuredClone(kwargs) },
      timeoutMs: config?.timeoutMs ?? null,
    }
  }

  resolve(model: string, method: string): ResolvedFunction {
    let byMethod = this.resolved.get(model)
    if (byMethod === undefined) this.resolved.set(model, (byMethod = new Map()))
    let fn = byMethod.get(method)
    if (fn === undefined) {
      const name = `${model}.${method}`
      const config = this.configs.get(name)
      const handler = this.handlers.get(name)
      fn =
        config === undefined && handler === undefined
          ? DEFAULTS
          : { handler, channel: config?.channel ?? null, retryPattern: config?.retryPattern ?? null, timeoutMs: config?.timeoutMs ?? null }
      byMethod.set(method, fn)
    }
    return fn
  }
}

function parseFunctionOptions(name: string, options: FunctionOptions): FunctionConfig {
  if (!isOptionsObject(options)) {
    throw new InvalidJobFunctionError(`configure(${JSON.stringify(name)}) needs an options object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!FUNCTION_OPTIONS.has(key)) {
      throw new InvalidJobFunctionError(
        `unknown option ${JSON.stringify(key)} for job function ${name}; known: ${[...FUNCTION_OPTIONS].join(', ')}`,
      )
    }
  }
  let channel: string | null = null
  if (options.channel !== undefined) {
    if (typeof options.channel !== 'string') {
      throw new InvalidJobFunctionError(`job function ${name}: channel must be a string such as 'root.mail', got ${describe(options.channel)}`)
    }
    try {
      channel = normalizeChannelName(options.channel)
    } catch (error) {
      if (error instanceof InvalidChannelConfigError) throw new InvalidJobFunctionError(`job function ${name}: ${error.message}`)
      throw error
    }
  }
  let timeoutMs: number | null = null
  if (options.timeoutMs !== undefined) {
    const t = options.timeoutMs
    if (typeof t !== 'number' || !Number.isInteger(t) || t <= 0 || t > TIMEOUT_MS_MAX) {
      throw new InvalidJobFunctionError(`job function ${name}: timeoutMs must be a positive integer of ms, got ${describe(t)}`)
    }
    timeoutMs = t
  }
  return {
    channel,
    timeoutMs,
    retryPattern: options.retryPattern === undefined ? null : parseRetryPattern(name, options.retryPattern),
    relatedAction: parseRelatedAction(name, options.relatedAction ?? {}),
  }
}

/** Checked here, so that the dashboard's call of the related action fails only on its answer. */
function parseRelatedAction(name: string, related: unknown): FunctionConfig['relatedAction'] {
  const bad = (what: string): never => {
    throw new InvalidJobFunctionError(`job function ${name}: relatedAction ${what}`)
  }
  if (!isOptionsObject(related)) bad(`must be an object, got ${describe(related)}`)
  const { enable, funcName, kwargs } = related as RelatedAction
  for (const key of Object.keys(related as object)) {
    if (!RELATED_ACTION_KEYS.has(key)) bad(`has no key ${JSON.stringify(key)} (enable, funcName, kwargs)`)
  }
  if (enable !== undefined && typeof enable !== 'boolean') bad(`enable must be a boolean, got ${describe(enable)}`)
  if (funcName !== undefined && (typeof funcName !== 'string' || !METHOD_NAME.test(funcName))) {
    bad(`funcName must name a method of the model, got ${describe(funcName)}`)
  }
  const parsed: FunctionConfig['relatedAction'] = { enable: enable ?? true }
  if (funcName !== undefined) parsed.funcName = funcName
  if (kwargs !== undefined) {
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) bad(`kwargs must be an object, got ${describe(kwargs)}`)
    try {
      parsed.kwargs = cloneSerializable(kwargs, 'kwargs') as Record<string, unknown>
    } catch (error) {
      if (error instanceof NotSerializableError) bad(error.message)
      throw error
    }
  }
  return parsed
}

function patternObject(pattern: RetryPattern): Record<string, number | [number, number]> {
  const object: Record<string, number | [number, number]> = {}
  for (const [count, delay] of pattern) object[count] = typeof delay === 'number' ? delay : [delay[0], delay[1]]
  return object
}

/** queue_job: keys are integers, values integers or 2-item [min, max] lists of integers. */
export function parseRetryPattern(name: string, pattern: unknown): RetryPattern {
  const bad = (what: string): never => {
    throw new InvalidJobFunctionError(`unexpected format of retryPattern for ${name}: ${what}; expected e.g. { 1: 60, 5: [300, 600] }, whole seconds up to DELAY_SECONDS_MAX (${DELAY_SECONDS_MAX})`)
  }
  if (!isOptionsObject(pattern)) bad(`got ${describe(pattern)}`)
  const entries: [number, RetryDelay][] = []
  for (const [key, value] of Object.entries(pattern as object)) {
    const count = Number(key)
    // Written as JSON or JS writes a number: '01' would be try 1 a second time, its delay taken
    // or not by the order of the object's keys.
    if (!/^(0|[1-9]\d*)$/.test(key) || !Number.isSafeInteger(count)) bad(`key ${JSON.stringify(key)} is not a non-negative integer`)
    const isSeconds = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= DELAY_SECONDS_MAX
    if (isSeconds(value)) entries.push([count, value])
    else if (Array.isArray(value) && value.length === 2 && isSeconds(value[0]) && isSeconds(value[1]) && value[0] <= value[1]) {
      entries.push([count, [value[0], value[1]]])
    } else bad(`value for ${key} is ${describe(value)}`)
  }
  entries.sort((a, b) => a[0] - b[0])
  return entries
}
