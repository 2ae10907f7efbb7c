// JSON written straight into bytes, for the history view of every finished job (view-codec.ts).
// That view is encoded on the durable hot path, once per job: JSON.stringify of its ~28 values
// (Node 20's V8 has no fast path for such arrays: ~50 ns a value), then a second pass to measure
// the text, a third to copy it into a Buffer and a fourth to checksum it made encodeView about
// three quarters of a history write's JavaScript, and its garbage (~1.4 KB a job) a good part of
// the collector's work. This writes the same bytes JSON.stringify's UTF-8 would be — byte for
// byte, so the stored format does not change — in one pass into a scratch buffer that is reused.
//
// It handles what views hold: null, booleans, finite numbers, strings, and arrays and plain
// objects of them; a container nested deeper goes through JSON.stringify on its own (no
// recursion here: STYLE habit 7). It gives up — `false`, and the caller takes its general path —
// on a value tagged JSON must rewrite (a Date, -0, NaN, ±Infinity, a key starting with '$',
// exactly what needsTagging looks for), and on anything whose JSON is not plain data (toJSON, a
// class instance, a symbol, a function, a bigint).

import { ScratchBytes } from './scratch-bytes.js'
import { isSpecialNumber, needsTagging } from './tagged-json.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const DOLLAR = 0x24
/** Integers up to this are written digit by digit (String(n) gives the same digits). */
const DIGITS_MAX = Number.MAX_SAFE_INTEGER

const INITIAL_BYTES = 1024

const hasOwn = Object.prototype.hasOwnProperty

function isPlainObject(o: object): boolean {
  const proto: unknown = Object.getPrototypeOf(o)
  return proto === Object.prototype || proto === null
}

export class JsonBytes extends ScratchBytes {
  constructor() {
    super(INITIAL_BYTES)
  }

  /** An ASCII text that needs no escaping ('null', digits, brackets). */
  ascii(text: string): void {
    this.room(text.length)
    const bytes = this.bytes
    let at = this.length
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i)
    this.length = at
  }

  /** `values` as a JSON array, each written by value() (so a container in it is written here too,
   * one level deeper than value() alone goes). False: as value(). */
  row(values: readonly unknown[], count = values.length): boolean {
    this.byte(0x5b)
    for (let i = 0; i < count; i++) {
      if (i > 0) this.byte(COMMA)
      if (!this.value(values[i])) return false
    }
    this.byte(0x5d)
    return true
  }


  /**
   * `v` as JSON.stringify writes an array element (undefined as null). False: not written (the
   * buffer may hold part of it; the caller resets), because it is not plain data or needs tagging.
   */
  value(v: unknown): boolean {
    if (v === null || v === undefined) {
      this.ascii('null')
      return true
    }
    switch (typeof v) {
      case 'string':
        this.string(v)
        return true
      case 'number':
        return this.number(v)
      case 'boolean':
        this.ascii(v ? 'true' : 'false')
        return true
      case 'object':
        return Array.isArray(v) ? this.array(v) : this.object(v)
      default:
        return false
    }
  }

  string(s: string): void {
    this.room(s.length + 2)
    const bytes = this.bytes
    const start = this.length
    let at = start
    bytes[at++] = QUOTE
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      // Anything JSON escapes (controls, quote, backslash, lone surrogates) or UTF-8 encodes in
      // more than one byte goes the general way.
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.length = start
        this.utf8(JSON.stringify(s))
        return
      }
      bytes[at++] = c
    }
    bytes[at++] = QUOTE
    this.length = at
  }

  number(n: number): boolean {
    if (isSpecialNumber(n)) return false
    if (Number.isInteger(n) && n >= 0 && n <= DIGITS_MAX) {
      this.digits(n)
      return true
    }
    this.ascii(String(n))
    return true
  }

  /** A non-negative safe integer, without making its string. */
  private digits(n: number): void {
    this.room(16)
    const bytes = this.bytes
    const start = this.length
    let at = start
    do {
      const q = Math.floor(n / 10)
      bytes[at++] = 0x30 + (n - q * 10)
      n = q
    } while (n > 0)
    // Written lowest digit first: reverse them in place.
    for (let i = start, j = at - 1; i < j; i++, j--) {
      const t = bytes[i]!
      bytes[i] = bytes[j]!
      bytes[j] = t
    }
    this.length = at
  }

  private array(a: readonly unknown[]): boolean {
    if (typeof (a as { toJSON?: unknown }).toJSON === 'function') return false
    this.byte(0x5b)
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.byte(COMMA)
      if (!this.member(a[i])) return false
    }
    this.byte(0x5d)
    return true
  }

  private object(o: object): boolean {
    if (!isPlainObject(o) || typeof (o as { toJSON?: unknown }).toJSON === 'function') return false
    this.byte(0x7b)
    let first = true
    const record = o as Record<string, unknown>
    for (const key in record) {
      // An inherited key: JSON leaves it out, needsTagging looks into it; leave both to the general path.
      if (!hasOwn.call(record, key) || key.charCodeAt(0) === DOLLAR) return false
      const v = record[key]
      if (v === undefined) continue
      if (!first) this.byte(COMMA)
      first = false
      this.string(key)
      this.byte(COLON)
      if (!this.member(v)) return false
    }
    this.byte(0x7d)
    return true
  }

  /** A value inside a container: a primitive here, a container through JSON.stringify. */
  private member(v: unknown): boolean {
    if (typeof v !== 'object' || v === null) return this.value(v)
    // needsTagging walks it with its own stack; JSON.stringify gives its text.
    if (v instanceof Date || needsTagging(v) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false
    if (!Array.isArray(v) && !isPlainObject(v)) return false
    this.utf8(JSON.stringify(v))
    return true
  }

  /** Any text, as UTF-8. */
  private utf8(text: string): void {
    this.room(Buffer.byteLength(text, 'utf8'))
    this.length += this.bytes.write(text, this.length, 'utf8')
  }

}
