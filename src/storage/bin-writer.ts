// The primitives of record format 3's binary body (bin-rows-write.ts lays events out), written
// into one scratch buffer that is reused from record to record. Replay decodes every record a
// store ever wrote, and JSON.parse of format 2's rows was its largest single cost (0.45 µs an
// event): these encodings are read back in one pass, straight into event objects (bin-reader.ts).
//
//   uint    LEB128: 7 bits a byte, low first (up to 2^53)
//   num     uint u: 0 null, 1 an IEEE double follows (8 bytes, little-endian), else the integer
//           whose zigzag is u - 2 (|n| < 2^50: seq/time deltas, priorities, counts)
//   str     uint h: 0 null; odd, the string table's entry h >> 1; h % 4 = 2, a Latin-1 string of
//           h >> 2 bytes; h % 4 = 0, a UTF-16 string of h >> 2 code units (2 bytes each, LE; a
//           lone surrogate survives, as it does in JSON). Each string written in full enters the
//           record's table, so a channel, model, method or key repeated in a record is one or
//           two bytes after its first time.
//   id      a str always written in full and never entered: job, graph and batch uuids and
//           identity keys, which a record rarely repeats (a quarter of a replayed log's were):
//           looking each up and entering it cost more than writing it again.

import { ScratchBytes } from './scratch-bytes.js'

const INITIAL_BYTES = 4096
/** Integers of this magnitude or more are written as doubles (their zigzag + 2 stays exact). */
const INT_MAX = 2 ** 50
/** Strings longer than this are not entered in the table (a large payload text is rarely repeated). */
const TABLE_TEXT_MAX = 64

export class BinWriter extends ScratchBytes {
  /** The record's string table: text → its index. */
  private readonly table = new Map<string, number>()
  private readonly f64 = new Float64Array(1)
  private readonly f64Bytes = new Uint8Array(this.f64.buffer)

  constructor() {
    super(INITIAL_BYTES)
  }

  /** Start a record's body at byte `at` (the bytes before it are the caller's), its table empty. */
  override reset(at: number): void {
    super.reset(at)
    this.table.clear()
  }

  /** A non-negative integer below 2^53. */
  uint(n: number): void {
    this.room(8)
    const bytes = this.bytes
    let at = this.length
    while (n >= 0x80) {
      bytes[at++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    bytes[at++] = n
    this.length = at
  }

  /** A number or null (false: anything else; the caller writes the record another way). */
  num(n: unknown): boolean {
    if (typeof n !== 'number') {
      if (n !== null) return false
      this.byte(0)
      return true
    }
    if (Number.isInteger(n) && n < INT_MAX && n > -INT_MAX && !(n === 0 && 1 / n < 0)) {
      this.uint(n >= 0 ? 2 * n + 2 : -2 * n + 1)
    } else {
      this.double(n)
    }
    return true
  }

  /** Tag 1 then the 8 bytes of `n` (NaN, ±Infinity and -0 included). */
  double(n: number): void {
    this.byte(1)
    this.raw64(n)
  }

  /** The 8 bytes of `n`, little-endian. */
  raw64(n: number): void {
    this.room(8)
    this.f64[0] = n
    const src = this.f64Bytes
    const bytes = this.bytes
    const at = this.length
    for (let i = 0; i < 8; i++) bytes[at + i] = src[i]!
    this.length = at + 8
  }

  /** A string or null (false: anything else). */
  str(s: unknown): boolean {
    return this.nullable(s, true)
  }

  /** A string: a reference to the table when it is there, else in full. */
  text(s: string): void {
    const known = this.table.get(s)
    if (known !== undefined) {
      this.uint(2 * known + 1)
      return
    }
    if (s.length <= TABLE_TEXT_MAX) this.table.set(s, this.table.size)
    this.id(s)
  }

  /** An id or null (false: anything else). */
  idOrNull(s: unknown): boolean {
    return this.nullable(s, false)
  }

  private nullable(s: unknown, entered: boolean): boolean {
    if (typeof s !== 'string') {
      if (s !== null) return false
      this.byte(0)
    } else if (entered) {
      this.text(s)
    } else {
      this.id(s)
    }
    return true
  }

  /** A string in full, not entered in the table. */
  id(s: string): void {
    this.room(8 + 2 * s.length)
    // Latin-1 unless a code unit needs more: the header is written for that, then rewritten if not.
    const start = this.length
    this.uint(4 * s.length + 2)
    const bytes = this.bytes
    let at = this.length
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c > 0xff) {
        this.length = start
        this.utf16(s)
        return
      }
      bytes[at++] = c
    }
    this.length = at
  }

  private utf16(s: string): void {
    this.uint(4 * s.length)
    const bytes = this.bytes
    let at = this.length
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      bytes[at++] = c & 0xff
      bytes[at++] = c >>> 8
    }
    this.length = at
  }
}
