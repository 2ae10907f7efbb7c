// Reads what bin-writer.ts writes (its comment has the encodings), trusting nothing: a read past
// the body's end, a varint too long, a table reference to no entry or a string running past the
// end is a BodyError, which the codec turns into a LogCorruptionError naming the event's seq.

/** Why a binary body is not one this build wrote; the codec names the record and seq. */
export class BodyError extends Error {}

/** A string in the table is at most this long (bin-writer.ts TABLE_TEXT_MAX: change both). */
const TABLE_TEXT_MAX = 64
/** A varint of more bytes than this is not one the writer made (2^56 > any uint it writes). */
const UINT_BYTES_MAX = 8
/** Strings this short are built in JS: a call into Buffer's native slice costs more. */
const SHORT_TEXT_MAX = 12

export class BinReader {
  bytes: Buffer = Buffer.alloc(0)
  pos = 0
  end = 0
  /** The record's string table, in the order the writer entered them. */
  strings: string[] = []
  private readonly f64 = new Float64Array(1)
  private readonly f64Bytes = new Uint8Array(this.f64.buffer)

  /** Read `bytes` from `pos` to `end`, with an empty table. */
  start(bytes: Buffer, pos: number, end: number): void {
    this.bytes = bytes
    this.pos = pos
    this.end = end
    this.strings = []
  }

  /** Let go of the record (its strings and bytes are not kept alive by this reader). */
  done(): void {
    this.bytes = EMPTY
    this.strings = []
  }

  byte(): number {
    if (this.pos >= this.end) throw new BodyError('ends inside an event')
    return this.bytes[this.pos++]!
  }

  uint(): number {
    const bytes = this.bytes
    let pos = this.pos
    if (pos >= this.end) throw new BodyError('ends inside an event')
    const first = bytes[pos++]!
    if (first < 0x80) {
      this.pos = pos
      return first
    }
    let n = first & 0x7f
    let scale = 0x80
    for (let i = 1; ; i++) {
      if (pos >= this.end) throw new BodyError('ends inside a number')
      if (i === UINT_BYTES_MAX) throw new BodyError('has a number of more bytes than any written')
      const b = bytes[pos++]!
      n += (b & 0x7f) * scale
      if (b < 0x80) break
      scale *= 0x80
    }
    this.pos = pos
    return n
  }

  /** A num: a number or null. */
  num(): number | null {
    const u = this.uint()
    if (u >= 2) {
      const z = u - 2
      // zigzag: even is n >= 0 (in 32-bit arithmetic while it fits, as nearly every delta does).
      if (z <= 0x7fff_ffff) return (z >>> 1) ^ -(z & 1)
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2
    }
    return u === 0 ? null : this.raw64()
  }

  /** 8 bytes, little-endian, as a double. */
  raw64(): number {
    const pos = this.pos
    if (pos + 8 > this.end) throw new BodyError('ends inside a number')
    const bytes = this.bytes
    const dst = this.f64Bytes
    for (let i = 0; i < 8; i++) dst[i] = bytes[pos + i]!
    this.pos = pos + 8
    return this.f64[0]!
  }

  /** A str: a string or null. */
  str(): string | null {
    const h = this.uint()
    if (h === 0) return null
    return this.textOf(h)
  }

  /** A str that must not be null. */
  text(): string {
    const h = this.uint()
    if (h === 0) throw new BodyError('has null where a string must be')
    return this.textOf(h)
  }

  /** An id (bin-writer.ts): a string in full, not entered in the table. */
  id(): string {
    const h = this.uint()
    if (h === 0) throw new BodyError('has null where a string must be')
    return this.full(h, false)
  }

  /** An id or null. */
  idOrNull(): string | null {
    const h = this.uint()
    return h === 0 ? null : this.full(h, false)
  }

  /** The string of header `h` (not 0). */
  textOf(h: number): string {
    if (h % 2 === 1) {
      const s = this.strings[(h - 1) / 2]
      if (s === undefined) throw new BodyError(`refers to string ${(h - 1) / 2} of a table of ${this.strings.length}`)
      return s
    }
    return this.full(h, true)
  }

  /** The string in full of header `h` (even, not 0), entered in the table if `enter`. */
  private full(h: number, enter: boolean): string {
    if (h % 2 === 1) throw new BodyError('refers to the table where a string is written in full')
    const units = Math.floor(h / 4)
    const latin1 = h % 4 === 2
    const pos = this.pos
    const end = pos + (latin1 ? units : 2 * units)
    if (end > this.end) throw new BodyError('has a string running past its end')
    let s: string
    if (!latin1) s = (this.bytes as SliceBuffer).ucs2Slice(pos, end)
    else if (units === ID_UNITS) s = idText(this.bytes, pos)
    else if (units > SHORT_TEXT_MAX) s = (this.bytes as SliceBuffer).latin1Slice(pos, end)
    else s = shortLatin1(this.bytes, pos, end)
    this.pos = end
    if (enter && units <= TABLE_TEXT_MAX) this.strings.push(s)
    return s
  }
}

const EMPTY = Buffer.alloc(0)

/** Buffer's own decoders (Node's Buffer.prototype, which its toString calls after checking its
 * arguments and looking the encoding up): the bounds here are checked already. */
interface SliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string
  ucs2Slice(start: number, end: number): string
}

/** The length of Wharf's own ids (ULIDs, runtime/ids.ts): nearly every event names one. */
const ID_UNITS = 26

/** A 26-character Latin-1 text: String.fromCharCode of a fixed count of arguments is about half
 * the time of Buffer's latin1Slice (a call into C++) for an id. */
function idText(b: Buffer, p: number): string {
  return String.fromCharCode(
    b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!,
    b[p + 13]!, b[p + 14]!, b[p + 15]!, b[p + 16]!, b[p + 17]!, b[p + 18]!, b[p + 19]!, b[p + 20]!, b[p + 21]!, b[p + 22]!, b[p + 23]!, b[p + 24]!, b[p + 25]!,
  )
}

function shortLatin1(bytes: Buffer, pos: number, end: number): string {
  let s = ''
  for (let i = pos; i < end; i++) s += String.fromCharCode(bytes[i]!)
  return s
}
