// A buffer that bytes are written into, kept from one record or view to the next: the hot path
// encodes one per tick (a log record, bin-writer.ts) or per finished job (a history view,
// json-bytes.ts), and a fresh buffer each time was garbage the size of everything written.

/** A scratch buffer grown past this is dropped at the next reset. */
const RETAINED_MAX = 256 * 1024
/** Shorter copies are a loop: Buffer.copy makes a view object for its source on every call. */
const COPY_LOOP_MAX = 256

export class ScratchBytes {
  /** The bytes written so far are bytes[0, length). Grows; shrinks only at a reset. */
  bytes: Buffer
  length = 0

  constructor(private readonly initialBytes: number) {
    this.bytes = Buffer.allocUnsafeSlow(initialBytes)
  }

  /** Start over at byte `at` (the bytes before it are the caller's). */
  reset(at: number): void {
    // A large record (a big delayMany's batch) leaves no large buffer behind for ever.
    if (this.bytes.length > RETAINED_MAX) this.bytes = Buffer.allocUnsafeSlow(this.initialBytes)
    this.length = at
  }

  byte(b: number): void {
    if (this.length === this.bytes.length) this.room(1)
    this.bytes[this.length++] = b
  }

  /** The bytes written from `from` on, copied into a Buffer of their own. */
  copy(from = 0): Buffer {
    const n = this.length - from
    const out = Buffer.allocUnsafe(n)
    if (n > COPY_LOOP_MAX) this.bytes.copy(out, 0, from, this.length)
    else for (let i = 0; i < n; i++) out[i] = this.bytes[from + i]!
    return out
  }

  /** Make room for `n` more bytes. */
  room(n: number): void {
    if (this.length + n <= this.bytes.length) return
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.length + n))
    this.bytes.copy(grown, 0, 0, this.length)
    this.bytes = grown
  }
}
