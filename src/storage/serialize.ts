// What the log can hold: the check for job payloads and handler results. What is stored must
// survive a JSON-like log and must not change when the caller later mutates its own objects. Runs
// on every enqueue, so the walk allocates only per container (one frame + one copy), never per
// primitive, and builds paths only on refusal. Pure and below both the API (arguments, context)
// and the runtime (results), which is why it lives with storage rather than in either.

import { PAYLOAD_BYTES_MAX, PAYLOAD_DEPTH_MAX } from '../engine/core/limits.js'
import { NotSerializableError } from '../engine/errors.js'
import { isDatePrototype, readOnlyDate } from './read-only-date.js'

const NO_ARGS: unknown[] = Object.freeze([]) as unknown as unknown[]

/** One container being copied. `keys === null` marks an array. */
interface Frame {
  readonly src: Readonly<Record<string, unknown>> | readonly unknown[]
  readonly dst: Record<string, unknown> | unknown[]
  readonly keys: readonly string[] | null
  index: number
  readonly depth: number
  readonly parent: Frame | null
  /** Key of this container in its parent (unused for the top frame). */
  readonly key: string | number
}

const ALLOWED = 'only null, booleans, finite numbers, strings, arrays, plain objects and Dates can be stored'
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/
const propertyIsEnumerable = Object.prototype.propertyIsEnumerable

/** Validate and deep-copy (and deep-freeze) a value so later mutation cannot change the stored job.
 * Allowed: null, boolean, finite numbers, strings, dense arrays, plain objects (prototype
 * Object.prototype or null; own enumerable string keys; undefined-valued properties are dropped
 * like JSON does) and valid Dates (copied). Size is approximate: 8 per value and per key, plus
 * string and key lengths. `root` is the path prefix used in errors, e.g. 'args'. */
export function cloneSerializable<T>(value: T, root: string): T {
  // A one-slot holder lets the root value go through the same loop as every other value.
  const holder: Frame = { src: [value], dst: [], keys: null, index: 0, depth: 0, parent: null, key: 0 }
  walk(holder, root, true)
  return (holder.dst as unknown[])[0] as T
}

/** Same as cloneSerializable for an arguments array, paths `args[i]`. The arguments array itself
 * does not count as a nesting level. `owned`: the array is the caller's own, fresh (a rest
 * parameter nobody else holds), so flat arguments are frozen in it rather than in a copy. */
export function cloneArgs(args: readonly unknown[], owned = false): unknown[] {
  if (!Array.isArray(args)) {
    throw new NotSerializableError(`args must be an array of arguments, got ${describe(args)}`, 'args')
  }
  if (args.length === 0) return NO_ARGS
  // Most calls pass a few strings, numbers or booleans: copy those without the general walk.
  if (args.length <= 8) {
    let flat = true
    let bytes = 0
    for (let i = 0; i < args.length; i++) {
      const v = args[i]
      const t = typeof v
      if (t === 'string') bytes += (v as string).length
      else if (!((t === 'number' && Number.isFinite(v)) || t === 'boolean' || v === null)) {
        flat = false
        break
      }
    }
    if (flat && bytes <= PAYLOAD_BYTES_MAX / 2) return Object.freeze(owned ? args : args.slice()) as unknown[]
  }
  const top: Frame = { src: args, dst: [], keys: null, index: 0, depth: 0, parent: null, key: 0 }
  walk(top, 'args', false)
  return top.dst as unknown[]
}

/** Depth-first copy with an explicit stack: the current frame's parent chain is exactly the chain
 * of containers enclosing the current value, so it doubles as the cycle detector (bounded by
 * PAYLOAD_DEPTH_MAX, so no Set is needed) and as the source of error paths. */
function walk(top: Frame, root: string, holder: boolean): void {
  let bytes = 0
  let f: Frame | null = top
  while (f !== null) {
    const keys: readonly string[] | null = f.keys
    if (f.index >= (keys === null ? (f.src as readonly unknown[]).length : keys.length)) {
      // Stored payloads are shared with JobViews and handlers without copying: freezing them is
      // what keeps a caller from changing a stored job (and the log from diverging from memory).
      Object.freeze(f.dst)
      f = f.parent
      continue
    }
    const i = f.index++
    let key: string | number
    let v: unknown
    if (keys === null) {
      key = i
      v = (f.src as readonly unknown[])[i]
      if (v === undefined) refuseUndefined(f, i, root, holder)
    } else {
      key = keys[i]!
      v = (f.src as Readonly<Record<string, unknown>>)[key]
      if (v === undefined) continue // dropped, as JSON does
      bytes += key.length + 8
    }
    bytes += 8
    let copy: unknown = v
    let child: Frame | null = null
    switch (typeof v) {
      case 'string':
        bytes += v.length
        break
      case 'number':
        if (!Number.isFinite(v)) refuse(f, key, root, holder, `is ${v}; ${ALLOWED} (NaN and Infinity are not JSON)`)
        break
      case 'boolean':
        break
      case 'object': {
        if (v === null) break
        const opened = openObject(f, key, v, root, holder)
        if (opened instanceof Date) {
          copy = opened
        } else {
          child = opened
          copy = opened.dst
        }
        break
      }
      default: // function, symbol, bigint
        refuse(f, key, root, holder, `is ${describe(v)}; ${ALLOWED}`)
    }
    if (bytes > PAYLOAD_BYTES_MAX) {
      refuse(f, key, root, holder, `exceeds the payload size limit PAYLOAD_BYTES_MAX (${PAYLOAD_BYTES_MAX} bytes, approximate); store large data elsewhere and pass a reference`)
    }
    if (keys === null) {
      ;(f.dst as unknown[]).push(copy)
    } else if (key === '__proto__') {
      // Plain assignment would set the copy's prototype instead of creating the own key.
      Object.defineProperty(f.dst, key, { value: copy, enumerable: true, writable: true, configurable: true })
    } else {
      ;(f.dst as Record<string, unknown>)[key as string] = copy
    }
    if (child !== null) f = child
  }
}

/** Copy of a Date, or a new frame for a plain object or array; refuses everything else. */
function openObject(f: Frame, key: string | number, v: object, root: string, holder: boolean): Date | Frame {
  const proto: unknown = Object.getPrototypeOf(v)
  if (isDatePrototype(proto)) {
    const t = (v as Date).getTime()
    if (Number.isNaN(t)) refuse(f, key, root, holder, 'is an invalid Date; pass a valid Date or null')
    return readOnlyDate(t)
  }
  const isArray = proto === Array.prototype && Array.isArray(v)
  if (!isArray && proto !== Object.prototype && proto !== null) {
    refuse(f, key, root, holder, `is ${describe(v)}; ${ALLOWED} — convert it to one of those first`)
  }
  // The parent chain is exactly the enclosing containers; a shared but acyclic object is fine.
  for (let a: Frame | null = f; a !== null; a = a.parent) {
    if (a.src === v) {
      const first = a.parent === null ? root : pathOf(a.parent, a.key, root, holder)
      refuse(f, key, root, holder, `is a circular reference to ${first}, where it first appeared; payloads must be trees`)
    }
  }
  const depth = f.depth + 1
  if (depth > PAYLOAD_DEPTH_MAX) {
    refuse(f, key, root, holder, `is nested deeper than PAYLOAD_DEPTH_MAX (${PAYLOAD_DEPTH_MAX}) levels; flatten the payload`)
  }
  if (isArray) return { src: v as unknown[], dst: [], keys: null, index: 0, depth, parent: f, key }
  for (const s of Object.getOwnPropertySymbols(v)) {
    if (propertyIsEnumerable.call(v, s)) {
      refuse(f, key, root, holder, `has a symbol-keyed property ${String(s)}; only string keys can be stored`)
    }
  }
  return { src: v as Record<string, unknown>, dst: {}, keys: Object.keys(v), index: 0, depth, parent: f, key }
}

function refuseUndefined(f: Frame, i: number, root: string, holder: boolean): never {
  if (holder && f.parent === null) refuse(f, i, root, holder, `is undefined; ${ALLOWED}`)
  if (!(i in f.src)) {
    refuse(f, i, root, holder, 'is a hole in a sparse array; arrays must be dense (fill holes with null)')
  }
  refuse(f, i, root, holder, 'is undefined inside an array, which JSON cannot keep; use null')
}

function refuse(f: Frame, key: string | number, root: string, holder: boolean, what: string): never {
  const path = pathOf(f, key, root, holder)
  throw new NotSerializableError(`${path} ${what}`, path)
}

/** Path of `f[key]`. Under a holder, the holder's own slot is the root and writes no segment. */
function pathOf(f: Frame, key: string | number, root: string, holder: boolean): string {
  const segments: string[] = []
  if (!(holder && f.parent === null)) segments.push(segment(key))
  for (let a: Frame = f; a.parent !== null; a = a.parent) {
    if (!(holder && a.parent.parent === null)) segments.push(segment(a.key))
  }
  return root + segments.reverse().join('')
}

function segment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

function describe(v: unknown): string {
  switch (typeof v) {
    case 'function': return 'a function'
    case 'symbol': return `a symbol (${String(v)})`
    case 'bigint': return `a bigint (${String(v)}n)`
    case 'undefined': return 'undefined'
    case 'object': {
      if (v === null) return 'null'
      // Name the constructor only when the prototype really is its own: an object made with
      // Object.create(proto) inherits proto's `constructor`, usually Object, which would mislead.
      const proto = Object.getPrototypeOf(v) as { constructor?: unknown }
      const ctor = proto.constructor
      const owned = typeof ctor === 'function' && ctor.prototype === proto && ctor.name !== ''
      // An Object from another realm (vm, worker) has a foreign Object.prototype.
      if (!owned || ctor.name === 'Object') return 'an object with a custom prototype (or from another realm)'
      return `an instance of ${ctor.name}`
    }
    default: return `a ${typeof v}`
  }
}

/** Deep equality for serializable values: Dates by time, object key order ignored, properties
 * whose value is undefined count as absent (as after cloning). Values nested deeper than
 * PAYLOAD_DEPTH_MAX (which cannot be stored, cycles included) compare unequal. */
export function serializableEqual(a: unknown, b: unknown): boolean {
  const stack: unknown[] = [a, b, 0]
  while (stack.length > 0) {
    const depth = stack.pop() as number
    const y = stack.pop()
    const x = stack.pop()
    if (x === y) continue
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false
    if (depth > PAYLOAD_DEPTH_MAX) return false
    const px: unknown = Object.getPrototypeOf(x)
    const py: unknown = Object.getPrototypeOf(y)
    const xDate = isDatePrototype(px)
    if (xDate || isDatePrototype(py)) {
      if (!xDate || !isDatePrototype(py) || (x as Date).getTime() !== (y as Date).getTime()) return false
      continue
    }
    const xArray = Array.isArray(x)
    if (xArray !== Array.isArray(y)) return false
    if (xArray) {
      const xs = x as unknown[]
      const ys = y as unknown[]
      if (xs.length !== ys.length) return false
      for (let i = 0; i < xs.length; i++) stack.push(xs[i], ys[i], depth + 1)
      continue
    }
    if (!isPlainProto(px) || !isPlainProto(py)) return false // class instances are not payload values
    const xo = x as Record<string, unknown>
    const yo = y as Record<string, unknown>
    let xCount = 0
    for (const k of Object.keys(xo)) {
      if (xo[k] === undefined) continue
      xCount++
      if (!Object.hasOwn(yo, k) || yo[k] === undefined) return false
      stack.push(xo[k], yo[k], depth + 1)
    }
    let yCount = 0
    for (const k of Object.keys(yo)) if (yo[k] !== undefined) yCount++
    if (xCount !== yCount) return false
  }
  return true
}

function isPlainProto(p: unknown): boolean {
  return p === Object.prototype || p === null
}
