// Payloads (args, context, results, records…) in record format 3's binary body: a tag byte per
// value, so a Date, -0, NaN or ±Infinity is kept as it is and a '$' key needs no escaping
// (format 2's tagged JSON had to rewrite them). Walks use explicit stacks (STYLE habit 7).
//
//   tag 0x80 + n   the integer n, 0 ≤ n < 128 (one byte: counts, ids, flags)
//   0 null, 1 false, 2 true
//   3 integer      zigzag uint (|n| < 2^50)
//   4 double       8 bytes, little-endian
//   5 string       a str header (bin-writer.ts), never null
//   6 array        uint count, then its values
//   7 object       (key str header, value)… then a 0 header; keys in Object.keys order
//   8 Date         its getTime() as 8 bytes (NaN: an invalid Date)
//
// The writer gives up (false) on anything JSON would not write as plain data — a class instance,
// a toJSON, a function, a symbol, a bigint, a cycle — and the codec then writes the whole record
// as format 2's tagged JSON, so such a value is stored exactly as before.

import { BodyError, type BinReader } from './bin-reader.js'
import type { BinWriter } from './bin-writer.js'
import { readOnlyDate } from './read-only-date.js'

const SMALL = 0x80
const NULL = 0
const FALSE = 1
const TRUE = 2
const INT = 3
const DOUBLE = 4
const STRING = 5
const ARRAY = 6
const OBJECT = 7
const DATE = 8
/** Deeper than this is a cycle as far as the writer cares (JSON.stringify then says which). */
const DEPTH_MAX = 256
const INT_MAX = 2 ** 50

function isPlainObject(o: object): boolean {
  const proto: unknown = Object.getPrototypeOf(o)
  return proto === Object.prototype || proto === null
}

/** Containers being written: each with its keys (objects) and how far it is written. */
class WriteStack {
  containers: object[] = []
  keys: (string[] | null)[] = []
  next: number[] = []
  depth = 0

  clear(): void {
    for (let i = 0; i < this.containers.length; i++) {
      this.containers[i] = EMPTY_OBJECT
      this.keys[i] = null
    }
    this.depth = 0
  }
}

const EMPTY_OBJECT = {}
const writeStack = new WriteStack()

/** Write `v` (undefined as null). False: not plain data, as above; `w` holds part of it. */
export function writeValue(w: BinWriter, v: unknown): boolean {
  const s = writeStack
  try {
    if (!writeOne(w, v, s)) return false
    while (s.depth > 0) {
      const d = s.depth - 1
      const c = s.containers[d]!
      const keys = s.keys[d] as string[] | null
      const i = s.next[d]!
      if (keys === null) {
        const a = c as unknown[]
        if (i === a.length) {
          s.depth--
          continue
        }
        s.next[d] = i + 1
        if (!writeOne(w, a[i], s)) return false
        continue
      }
      // An object: its next defined value, or its end.
      let k = i
      while (k < keys.length && (c as Record<string, unknown>)[keys[k]!] === undefined) k++
      if (k === keys.length) {
        w.byte(0)
        s.depth--
        continue
      }
      s.next[d] = k + 1
      w.text(keys[k]!)
      if (!writeOne(w, (c as Record<string, unknown>)[keys[k]!], s)) return false
    }
    return true
  } finally {
    s.clear()
  }
}

/** A primitive or a Date in full; a container's head, pushed to be filled. */
function writeOne(w: BinWriter, v: unknown, s: WriteStack): boolean {
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v) && v >= 0 && v < SMALL && !(v === 0 && 1 / v < 0)) w.byte(SMALL + v)
      else if (Number.isInteger(v) && v < INT_MAX && v > -INT_MAX && !(v === 0 && 1 / v < 0)) {
        w.byte(INT)
        w.uint(v >= 0 ? 2 * v : -2 * v - 1)
      } else {
        w.byte(DOUBLE)
        w.raw64(v)
      }
      return true
    case 'string':
      w.byte(STRING)
      w.text(v)
      return true
    case 'boolean':
      w.byte(v ? TRUE : FALSE)
      return true
    case 'undefined':
      w.byte(NULL)
      return true
    case 'object':
      break
    default:
      return false
  }
  if (v === null) {
    w.byte(NULL)
    return true
  }
  if (v instanceof Date) {
    w.byte(DATE)
    w.raw64(v.getTime())
    return true
  }
  if (s.depth === DEPTH_MAX || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false
  const d = s.depth
  if (Array.isArray(v)) {
    w.byte(ARRAY)
    w.uint(v.length)
    s.keys[d] = null
  } else {
    if (!isPlainObject(v)) return false
    w.byte(OBJECT)
    s.keys[d] = Object.keys(v)
  }
  s.containers[d] = v
  s.next[d] = 0
  s.depth = d + 1
  return true
}

/** Containers being read, how many values each still has (-1: an object, up to its end) and
 * (arrays) where the next goes. */
class ReadStack {
  containers: (unknown[] | Record<string, unknown>)[] = []
  left: number[] = []
  next: number[] = []
  depth = 0

  clear(): void {
    for (let i = 0; i < this.containers.length; i++) this.containers[i] = EMPTY_ARRAY
    this.depth = 0
  }
}

const EMPTY_ARRAY: unknown[] = []
const readStack = new ReadStack()

/** Own property, even for the key '__proto__' (plain assignment would set the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/** A value writeValue wrote. */
export function readValue(r: BinReader): unknown {
  const tag = r.byte()
  if (tag >= SMALL) return tag - SMALL
  if (tag === ARRAY) return readArray(r)
  if (tag !== OBJECT) return readScalar(r, tag)
  if (r.pos < r.end && r.bytes[r.pos] === 0) {
    // {} (a job's usual context): no stack to set up.
    r.pos++
    return {}
  }
  return readNested(r, open(r, OBJECT, readStack))
}

/** An array: its scalars straight in (a job's records and args are most often [1], [x]); from
 * its first container on, through the stack. */
function readArray(r: BinReader): unknown[] {
  const n = arrayLength(r)
  const a = new Array<unknown>(n)
  for (let i = 0; i < n; i++) {
    const t = r.byte()
    if (t === ARRAY || t === OBJECT) {
      r.pos--
      const s = readStack
      s.containers[0] = a
      s.left[0] = n - i
      s.next[0] = i
      s.depth = 1
      return readNested(r, a) as unknown[]
    }
    a[i] = t >= SMALL ? t - SMALL : readScalar(r, t)
  }
  return a
}

/** Fill the containers on the stack, `root` at its bottom, and return it. */
function readNested(r: BinReader, root: unknown[] | Record<string, unknown>): unknown[] | Record<string, unknown> {
  const s = readStack
  try {
    while (s.depth > 0) {
      const d = s.depth - 1
      const c = s.containers[d]!
      const left = s.left[d]!
      let key: string | null = null
      if (left >= 0) {
        if (left === 0) {
          s.depth--
          continue
        }
        s.left[d] = left - 1
        s.next[d] = s.next[d]! + 1
      } else {
        const h = r.uint()
        if (h === 0) {
          s.depth--
          continue
        }
        key = r.textOf(h)
      }
      const t = r.byte()
      const v = t >= SMALL ? t - SMALL : t === ARRAY || t === OBJECT ? open(r, t, s) : readScalar(r, t)
      if (key === null) (c as unknown[])[s.next[d]! - 1] = v
      else setOwn(c as Record<string, unknown>, key, v)
    }
    return root
  } finally {
    s.clear()
  }
}

/** A new container of tag `tag`, pushed to be filled. */
function open(r: BinReader, tag: number, s: ReadStack): unknown[] | Record<string, unknown> {
  let c: unknown[] | Record<string, unknown>
  let left = -1
  if (tag === ARRAY) {
    left = arrayLength(r)
    // Its size: a push onto [] reserves 17 slots, and specs' arrays live as long as their jobs.
    c = new Array<unknown>(left)
  } else {
    c = {}
  }
  const d = s.depth
  s.containers[d] = c
  s.left[d] = left
  s.next[d] = 0
  s.depth = d + 1
  return c
}

function arrayLength(r: BinReader): number {
  const n = r.uint()
  // Every value takes a byte at least: a larger count is damage, not a reason to allocate.
  if (n > r.end - r.pos) throw new BodyError(`has an array of ${n} values in ${r.end - r.pos} bytes`)
  return n
}

function readScalar(r: BinReader, tag: number): unknown {
  switch (tag) {
    case NULL:
      return null
    case FALSE:
      return false
    case TRUE:
      return true
    case INT: {
      const z = r.uint()
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2
    }
    case DOUBLE:
      return r.raw64()
    case STRING:
      return r.text()
    case DATE:
      return readOnlyDate(r.raw64())
    default:
      throw new BodyError(`has unknown value tag ${tag}`)
  }
}
