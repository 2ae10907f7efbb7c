// Lossless JSON for payloads (job args, context, results, snapshot states). Plain JSON would turn
// a Date into a string and -0/NaN/Infinity into 0/null, silently: replay would then diverge from
// the live run. The escaping rule keeps every user key intact, whatever it looks like:
//
//   Date d                  -> {"$date": d.getTime()}      (null for an invalid Date)
//   -0, NaN, ±Infinity      -> {"$num": "-0" | "NaN" | "Infinity" | "-Infinity"}
//   user key starting '$'   -> one more '$' in front       ('$date' -> '$$date', '$$x' -> '$$$x')
//
// So in the encoded form a key that starts with exactly one '$' is always a tag, and decoding
// strips one '$' from every other '$'-key. The codec runs `needsTagging` first and skips both
// walks for the (usual) payload that has nothing to escape. Walks use explicit stacks (habit 7).

import { readOnlyDate } from './read-only-date.js'

const DOLLAR = 36 // '$'

/** An encoded value that no encoder could have produced (a stray or malformed tag). */
export class TagError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TagError'
  }
}

/** A number JSON cannot keep as it is (NaN, ±Infinity, -0): tagged. */
export function isSpecialNumber(n: number): boolean {
  return !Number.isFinite(n) || (n === 0 && 1 / n < 0)
}

/** Own property, even for the key '__proto__' (plain assignment would set the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}

/** True when plain JSON would lose something in `value`, i.e. `tag` must run before stringify.
 * Runs on every appended event and every finished job's view, so it allocates nothing: its stack
 * (habit 7) is reused, empty containers are passed over, and for-in rather than Object.keys
 * (about twice as fast here; an inherited key can only cause a needless `tag`). */
export function needsTagging(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return typeof value === 'number' && isSpecialNumber(value)
  if (value instanceof Date) return true
  // The stack is kept between calls (taken while in use, so a getter that tags cannot share it).
  const stack = spareStack ?? new LossStack()
  spareStack = null
  try {
    return walkForLoss(value, stack)
  } finally {
    stack.clear()
    spareStack = stack
  }
}

/** needsTagging's stack: its slots are kept (an array's `length = 0` would free them). */
class LossStack {
  private readonly slots: (object | undefined)[] = []
  private depth = 0
  private used = 0

  push(x: object): void {
    this.slots[this.depth++] = x
    if (this.depth > this.used) this.used = this.depth
  }

  pop(): object | undefined {
    return this.depth === 0 ? undefined : this.slots[--this.depth]
  }

  /** Empty, holding no payload alive. */
  clear(): void {
    for (let i = 0; i < this.used; i++) this.slots[i] = undefined
    this.depth = 0
    this.used = 0
  }
}

let spareStack: LossStack | null = new LossStack()

function walkForLoss(value: object, stack: LossStack): boolean {
  let v: object | undefined = value
  while (v !== undefined) {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const look = lookAt(v[i])
        if (look === LOSSY) return true
        if (look === DESCEND) stack.push(v[i] as object)
      }
    } else {
      const o = v as Record<string, unknown>
      for (const k in o) {
        if (k.charCodeAt(0) === DOLLAR) return true
        const look = lookAt(o[k])
        if (look === LOSSY) return true
        if (look === DESCEND) stack.push(o[k] as object)
      }
    }
    v = stack.pop()
  }
  return false
}

const PLAIN = 0
const LOSSY = 1
const DESCEND = 2

/** What needsTagging does with one value: a Date or a special number is lossy; a container that
 * is not empty must be looked into; anything else is plain. */
function lookAt(x: unknown): typeof PLAIN | typeof LOSSY | typeof DESCEND {
  if (typeof x === 'object') {
    if (x === null) return PLAIN
    if (Array.isArray(x)) return x.length === 0 ? PLAIN : DESCEND
    if (x instanceof Date) return LOSSY
    for (const _ in x) return DESCEND
    return PLAIN
  }
  return typeof x === 'number' && isSpecialNumber(x) ? LOSSY : PLAIN
}

type Container = Record<string, unknown> | unknown[]

function numberTag(n: number): { $num: string } {
  return { $num: Object.is(n, -0) ? '-0' : String(n) }
}

/** The encoded form of one value; a container is returned empty and queued to be filled. */
function tagOne(v: unknown, stack: [object, Container][]): unknown {
  if (typeof v === 'number') return isSpecialNumber(v) ? numberTag(v) : v
  if (typeof v !== 'object' || v === null) return v
  if (v instanceof Date) {
    const ms = v.getTime()
    return { $date: Number.isNaN(ms) ? null : ms }
  }
  const dst: Container = Array.isArray(v) ? [] : {}
  stack.push([v, dst])
  return dst
}

/** A copy of `value` in the encoded form (JSON.stringify of it loses nothing). */
export function tag(value: unknown): unknown {
  const stack: [object, Container][] = []
  const out = tagOne(value, stack)
  while (stack.length > 0) {
    const [src, dst] = stack.pop()!
    if (Array.isArray(src)) {
      for (let i = 0; i < src.length; i++) (dst as unknown[]).push(tagOne(src[i], stack))
      continue
    }
    const o = src as Record<string, unknown>
    for (const k of Object.keys(o)) {
      const x = o[k]
      if (x === undefined) continue // JSON drops it anyway
      setOwn(dst as Record<string, unknown>, k.charCodeAt(0) === DOLLAR ? '$' + k : k, tagOne(x, stack))
    }
  }
  return out
}

const NUMBER_TAGS: Readonly<Record<string, number>> = { '-0': -0, NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity }

function untagTag(key: string, value: unknown): unknown {
  if (key === '$date') {
    if (value === null) return readOnlyDate(Number.NaN)
    if (typeof value === 'number' && Number.isFinite(value)) return readOnlyDate(value)
    throw new TagError(`bad $date tag value ${JSON.stringify(value)}`)
  }
  if (key === '$num' && typeof value === 'string' && Object.hasOwn(NUMBER_TAGS, value)) return NUMBER_TAGS[value]
  throw new TagError(`unknown tag ${JSON.stringify(key)}: ${JSON.stringify(value)}`)
}

/** The decoded form of one parsed value; containers are queued to be decoded in place. */
function untagOne(v: unknown, stack: Container[]): unknown {
  if (typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) {
    stack.push(v)
    return v
  }
  const o = v as Record<string, unknown>
  const keys = Object.keys(o)
  let escaped = false
  for (const k of keys) {
    if (k.charCodeAt(0) === DOLLAR) {
      escaped = true
      break
    }
  }
  if (!escaped) {
    stack.push(o)
    return o
  }
  if (keys.length === 1 && keys[0]!.charCodeAt(1) !== DOLLAR) return untagTag(keys[0]!, o[keys[0]!])
  // Rebuilt rather than renamed in place, so the user's key order survives.
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    if (k.charCodeAt(0) !== DOLLAR) {
      setOwn(out, k, o[k])
    } else if (k.charCodeAt(1) === DOLLAR) {
      setOwn(out, k.slice(1), o[k])
    } else {
      throw new TagError(`tag ${JSON.stringify(k)} inside an object with other keys`)
    }
  }
  stack.push(out)
  return out
}

/** Decode, in place where possible, a value that JSON.parse produced from a `tag`ged value. */
export function untag(parsed: unknown): unknown {
  const stack: Container[] = []
  const out = untagOne(parsed, stack)
  while (stack.length > 0) {
    const c = stack.pop()!
    if (Array.isArray(c)) {
      for (let i = 0; i < c.length; i++) {
        const x = c[i]
        if (typeof x === 'object' && x !== null) c[i] = untagOne(x, stack)
      }
      continue
    }
    for (const k of Object.keys(c)) {
      const x = c[k]
      if (typeof x !== 'object' || x === null) continue
      const y = untagOne(x, stack)
      if (y !== x) setOwn(c, k, y)
    }
  }
  return out
}
