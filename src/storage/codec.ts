// The byte format of log records. One record holds one committed batch (or the snapshot), so a
// record is the unit of atomicity and of corruption detection: a header, then a body.
//
//   offset size  field
//   0      1     kind: 0x45 'E' event batch, 0x53 'S' snapshot
//   1      1     record format version: batches 3 (BATCH_FORMAT; 2 and 1 are still read, and 2 is
//                written for a batch format 3 cannot hold), snapshots 2 (1 is still read)
//   2      1     flags: bit 0 = the body is in tagged-json form (see tagged-json.ts); format 3: 0
//   3      1     format 2 and 3 batches: the event format version of all its events; else 0
//   4      8     first seq (u64 big-endian)        snapshot: its seq
//   12     8     last seq                           snapshot: its seq
//   20     4     event count (u32)                  snapshot: 0
//   24     4     body length in bytes (u32)
//   28     4     CRC32 of bytes 0..27 and the body: a flipped flag or seq is caught like a body bit
//   32     …     body: format 3, the events in binary (bin-rows-write.ts), read straight into
//                event objects; format 2, UTF-8 JSON, an array of event rows (event-rows.ts);
//                format 1, JSON, an array of events with named fields; a snapshot in format 2,
//                {"formatVersion":n,"state":…} in parts (snapshot-parts.ts), in format 1 (0.1 and
//                early 0.2), as one JSON text
//
// Decoding trusts nothing: every mismatch is a LogCorruptionError naming the seq (and the path).

import { crc32 } from './crc32.js'
import { EVENT_FORMAT_VERSION, type WharfEvent } from '../engine/core/events.js'
import { fail } from '../engine/core/assert.js'
import { BATCH_EVENTS_MAX } from '../engine/core/limits.js'
import { LogCorruptionError } from '../engine/errors.js'
import type { Snapshot } from './event-log.js'
import { fromRow, RowError, toRow } from './event-rows.js'
import { needsTagging, tag, untag } from './tagged-json.js'
import { BinWriter } from './bin-writer.js'
import { BinReader } from './bin-reader.js'
import { writeEvent } from './bin-rows-write.js'
import { readEvent } from './bin-rows-read.js'
import { partsBytes, PartsError, readParts, snapshotTexts, snapshotTextsInTurns, writeParts, type SnapshotTexts } from './snapshot-parts.js'
import { constants as bufferConstants } from 'node:buffer'

/** The oldest format of records of either kind. */
export const RECORD_FORMAT_VERSION = 1
/** Snapshots are written in parts (snapshot-parts.ts): as one JSON text, format 1 (still read),
 * a snapshot past V8's longest string could not be written at all. */
export const SNAPSHOT_FORMAT = 2
/** Batches are written in binary (format 3: JSON.parse of format 2's rows was most of replay's
 * decoding); records of formats 2 (JSON rows) and 1 (named events, 0.1) are still read. */
export const BATCH_FORMAT = 3
/** JSON rows: still written for a batch with a value format 3 does not hold (a class instance,
 * a toJSON…), which tagged JSON keeps as it always did. */
export const JSON_ROWS_FORMAT = 2
export const HEADER_BYTES = 32

const KIND_BATCH = 0x45
const KIND_SNAPSHOT = 0x53
const FLAG_TAGGED = 1
const CRC_OFFSET = 28
const U32 = 0x1_0000_0000
const BUFFER_MAX_LENGTH = bufferConstants.MAX_LENGTH

// ---- Upcasting: old event shapes are converted on read; the log is never rewritten. ----

/** An event as parsed, of any format version. */
export interface RawEvent {
  seq: number
  v: number
  type: string
  [field: string]: unknown
}
/** Converts an event of version n into version n + 1. */
export type Upcaster = (event: RawEvent) => RawEvent

/**
 * Upcasters by the version they read. Today v1 is current and the table is empty. When v2 comes:
 *   1: (e) => (e.type === 'job.done' ? { ...e, v: 2, newField: default } : { ...e, v: 2 }),
 * and EVENT_FORMAT_VERSION becomes 2 — one entry, nothing else changes here.
 */
export const EVENT_UPCASTERS: Readonly<Record<number, Upcaster>> = {}

/** An upcaster over `steps` up to `current` (tests build one with a fake v0). */
export function createUpcaster(steps: Readonly<Record<number, Upcaster>>, current: number) {
  return function upcast(raw: RawEvent): WharfEvent {
    let e = raw
    while (e.v !== current) {
      if (!Number.isInteger(e.v) || e.v > current) {
        throw new LogCorruptionError(`event at seq ${e.seq} has format v${String(e.v)}, newer than this build reads (v${current}); upgrade Wharf`, e.seq)
      }
      const step = steps[e.v]
      if (step === undefined) {
        throw new LogCorruptionError(`event at seq ${e.seq} has format v${e.v}, and no upcaster reads it`, e.seq)
      }
      const next = step(e)
      if (next.v !== e.v + 1 || next.seq !== e.seq) fail(`upcaster from v${e.v} must return v${e.v + 1} with the same seq`)
      e = next
    }
    return e as unknown as WharfEvent
  }
}

/** Maps an event of any known version to the current shape. */
export const upcastEvent = createUpcaster(EVENT_UPCASTERS, EVENT_FORMAT_VERSION)

// ---- Records ----

export interface RecordHeader {
  kind: number
  format: number
  flags: number
  /** Format 2 batches: the event format version of every event in it. */
  eventVersion: number
  firstSeq: number
  lastSeq: number
  count: number
}

function writeU64(buf: Buffer, offset: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / U32), offset)
  buf.writeUInt32BE(n >>> 0, offset + 4)
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * U32 + buf.readUInt32BE(offset + 4)
}

/** One allocation: the body is written straight after the header it is checksummed with. */
function encodeRecord(kind: number, format: number, flags: number, byte3: number, firstSeq: number, lastSeq: number, count: number, body: string): Buffer {
  const bodyBytes = Buffer.byteLength(body)
  const out = Buffer.allocUnsafe(HEADER_BYTES + bodyBytes)
  out.write(body, HEADER_BYTES, 'utf8')
  return sealRecord(out, kind, format, flags, byte3, firstSeq, lastSeq, count)
}

/** Fill the header of `out`, whose body (from HEADER_BYTES on) is written, and checksum both. */
function sealRecord(out: Buffer, kind: number, format: number, flags: number, byte3: number, firstSeq: number, lastSeq: number, count: number): Buffer {
  out[0] = kind
  out[1] = format
  out[2] = flags
  out[3] = byte3
  writeU64(out, 4, firstSeq)
  writeU64(out, 12, lastSeq)
  out.writeUInt32BE(count, 20)
  out.writeUInt32BE(out.length - HEADER_BYTES, 24)
  const crc = crc32(out.subarray(HEADER_BYTES), crc32(out.subarray(0, CRC_OFFSET)))
  out.writeUInt32BE(crc, CRC_OFFSET)
  return out
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function corrupt(what: string, seq: number, where: string | undefined, reason: string, cause?: unknown): LogCorruptionError {
  const place = where === undefined ? '' : ` in ${JSON.stringify(where)}`
  return new LogCorruptionError(`corrupt ${what} at seq ${seq}${place}: ${reason}`, seq, { cause })
}

/**
 * Check a record's header and checksum without parsing its body (compaction reads only this).
 * `seq` is what the caller expects (the key's seq); it names the record in errors.
 */
export function inspectRecord(bytes: Uint8Array, kind: 'batch' | 'snapshot', seq: number, where?: string): RecordHeader {
  const what = kind === 'batch' ? 'event log record' : 'snapshot'
  const buf = asBuffer(bytes)
  if (buf.length < HEADER_BYTES) throw corrupt(what, seq, where, `${buf.length} bytes is shorter than the ${HEADER_BYTES}-byte header (truncated?)`)
  const wanted = kind === 'batch' ? KIND_BATCH : KIND_SNAPSHOT
  if (buf[0] !== wanted) throw corrupt(what, seq, where, `record kind 0x${buf[0]!.toString(16)} is not 0x${wanted.toString(16)}`)
  const newest = kind === 'batch' ? BATCH_FORMAT : SNAPSHOT_FORMAT
  if (buf[1]! < RECORD_FORMAT_VERSION || buf[1]! > newest) {
    const why = buf[1]! > newest ? 'written by a newer Wharf; upgrade to read it' : 'not a format this build reads'
    throw corrupt(what, seq, where, `record format ${buf[1]} is ${why}`)
  }
  const bodyBytes = buf.readUInt32BE(24)
  if (buf.length !== HEADER_BYTES + bodyBytes) throw corrupt(what, seq, where, `${buf.length} bytes, header says ${HEADER_BYTES + bodyBytes} (truncated?)`)
  const crc = crc32(buf.subarray(HEADER_BYTES), crc32(buf.subarray(0, CRC_OFFSET)))
  if (crc !== buf.readUInt32BE(CRC_OFFSET)) throw corrupt(what, seq, where, 'checksum mismatch')
  const header = { kind: buf[0]!, format: buf[1]!, flags: buf[2]!, eventVersion: buf[3]!, firstSeq: readU64(buf, 4), lastSeq: readU64(buf, 12), count: buf.readUInt32BE(20) }
  if (header.firstSeq !== seq) throw corrupt(what, seq, where, `record holds seq ${header.firstSeq}, its key says ${seq}`)
  return header
}

function parseBody(buf: Buffer, header: RecordHeader, what: string, seq: number, where: string | undefined): unknown {
  let parsed: unknown
  try {
    parsed = JSON.parse(buf.toString('utf8', HEADER_BYTES))
    return header.flags & FLAG_TAGGED ? untag(parsed) : parsed
  } catch (error) {
    throw corrupt(what, seq, where, `unreadable body (${(error as Error).message})`, error)
  }
}

/** The record of one batch. Seqs must be consecutive (checked here, in the walk it needs anyway). */
export function encodeBatch(events: readonly WharfEvent[]): Buffer {
  const n = events.length
  if (n === 0 || n > BATCH_EVENTS_MAX) fail(`a batch holds 1..${BATCH_EVENTS_MAX} events, got ${n}`)
  const first = events[0]!.seq
  if (!Number.isSafeInteger(first) || first < 1) fail(`batch starts at seq ${first}, not a positive integer`)
  for (let i = 0; i < n; i++) {
    const e = events[i]!
    if (e.seq !== first + i) fail(`batch seqs are not consecutive: ${e.seq} at position ${i} after ${first}`)
    if (e.v !== EVENT_FORMAT_VERSION) fail(`event ${e.seq} has format v${e.v}; only v${EVENT_FORMAT_VERSION} is written`)
  }
  const last = first + n - 1
  const binary = binaryBody(events)
  if (binary !== null) return sealRecord(binary, KIND_BATCH, BATCH_FORMAT, 0, EVENT_FORMAT_VERSION, first, last, n)
  const rows: unknown[][] = new Array(n)
  for (let i = 0; i < n; i++) rows[i] = toRow(events[i]!, i === 0 ? 0 : events[i - 1]!.at)
  const tagged = needsTagging(rows)
  const body = JSON.stringify(tagged ? tag(rows) : rows)
  return encodeRecord(KIND_BATCH, JSON_ROWS_FORMAT, tagged ? FLAG_TAGGED : 0, EVENT_FORMAT_VERSION, first, last, n, body)
}

const binWriter = new BinWriter()

/** The record of `events` in format 3 with its header left to fill; null when a field is not one
 * format 3 holds (bin-rows-write.ts, bin-values.ts). */
function binaryBody(events: readonly WharfEvent[]): Buffer | null {
  const w = binWriter
  w.reset(HEADER_BYTES)
  let prevAt = 0
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (!writeEvent(w, e, prevAt)) return null
    prevAt = e.at
  }
  return w.copy()
}

/** The events of a record stored under `keySeq`, upcast to the current shape. */
export function decodeBatch(bytes: Uint8Array, keySeq: number, where?: string): WharfEvent[] {
  const what = 'event log record'
  const header = inspectRecord(bytes, 'batch', keySeq, where)
  const { firstSeq, lastSeq, count } = header
  if (count === 0 || lastSeq !== firstSeq + count - 1) throw corrupt(what, keySeq, where, `header seqs ${firstSeq}..${lastSeq} do not match ${count} events`)
  const parsed = header.format === BATCH_FORMAT ? eventsOfBinary(asBuffer(bytes), header, where) : parseBody(asBuffer(bytes), header, what, keySeq, where)
  if (!Array.isArray(parsed) || parsed.length !== count) throw corrupt(what, keySeq, where, `body is not an array of ${count} events`)
  const events = parsed as unknown[]
  if (header.format === JSON_ROWS_FORMAT) eventsOfRows(events, header, where)
  for (let i = 0; i < count; i++) {
    const e = events[i] as RawEvent | null
    if (typeof e !== 'object' || e === null || e.seq !== firstSeq + i) {
      throw corrupt(what, keySeq, where, `event ${i} should have seq ${firstSeq + i}`)
    }
    if (e.v !== EVENT_FORMAT_VERSION) {
      try {
        events[i] = upcastEvent(e)
      } catch (error) {
        throw error instanceof LogCorruptionError ? corrupt(what, e.seq, where, error.message, error) : error
      }
    }
  }
  return events as WharfEvent[]
}

const binReader = new BinReader()

/** The events of a format 3 body, read in one pass. Any error reading it is damage to the event
 * it was reading (a RangeError too: the reader is meant to leave none, but a body is never
 * trusted). */
function eventsOfBinary(buf: Buffer, header: RecordHeader, where: string | undefined): WharfEvent[] {
  const { firstSeq, count, eventVersion } = header
  if (header.flags !== 0) throw corrupt('event log record', firstSeq, where, `format 3 record with flags ${header.flags}`)
  const r = binReader
  r.start(buf, HEADER_BYTES, buf.length)
  const events: WharfEvent[] = []
  let i = 0
  try {
    let prevAt = 0
    for (; i < count; i++) {
      const event = readEvent(r, firstSeq + i, eventVersion, prevAt)
      prevAt = event.at
      events.push(event)
    }
    if (r.pos !== r.end) throw new Error(`has ${r.end - r.pos} bytes after its last`)
  } catch (error) {
    const at = Math.min(i, count - 1)
    throw corrupt('event log record', firstSeq + at, where, `event ${at} ${(error as Error).message}`, error)
  } finally {
    r.done()
  }
  return events
}

/** Turn a format 2 body's rows into events, in place. */
function eventsOfRows(rows: unknown[], header: RecordHeader, where: string | undefined): void {
  let prevAt = 0
  for (let i = 0; i < rows.length; i++) {
    const seq = header.firstSeq + i
    try {
      const event = fromRow(rows[i], seq, header.eventVersion, prevAt)
      prevAt = event.at
      rows[i] = event
    } catch (error) {
      if (error instanceof RowError) throw corrupt('event log record', seq, where, `event ${i} ${error.message}`)
      throw error
    }
  }
}

export function encodeSnapshot(snapshot: Snapshot): Buffer {
  checkSnapshot(snapshot)
  return snapshotRecord(snapshot.seq, snapshotTexts(snapshot.formatVersion, snapshot.state))
}

/** encodeSnapshot, letting the event loop turn while it encodes (snapshot-parts.ts): what the
 * logs write snapshots with, since a snapshot is written while ticks go on. */
export async function encodeSnapshotInTurns(snapshot: Snapshot): Promise<Buffer> {
  checkSnapshot(snapshot)
  return snapshotRecord(snapshot.seq, await snapshotTextsInTurns(snapshot.formatVersion, snapshot.state))
}

function checkSnapshot({ seq, formatVersion }: Snapshot): void {
  if (!Number.isSafeInteger(seq) || seq < 0) fail(`snapshot seq ${seq} is not a non-negative integer`)
  if (!Number.isSafeInteger(formatVersion)) fail(`snapshot formatVersion ${formatVersion} is not an integer`)
}

function snapshotRecord(seq: number, { texts, flags }: SnapshotTexts): Buffer {
  const { lengths, total } = partsBytes(texts)
  if (total >= U32 || HEADER_BYTES + total > BUFFER_MAX_LENGTH) {
    throw new RangeError(`a snapshot of ${total} bytes at seq ${seq} is larger than a record holds (${Math.min(U32 - 1, BUFFER_MAX_LENGTH - HEADER_BYTES)} bytes)`)
  }
  const out = Buffer.allocUnsafe(HEADER_BYTES + total)
  writeParts(out, HEADER_BYTES, texts, flags, lengths)
  return sealRecord(out, KIND_SNAPSHOT, SNAPSHOT_FORMAT, 0, 0, seq, seq, 0)
}

/** The seq a snapshot record claims, unverified: for error messages before it is decoded. */
export function claimedSnapshotSeq(bytes: Uint8Array): number {
  return bytes.length >= HEADER_BYTES ? readU64(asBuffer(bytes), 4) : 0
}

export function decodeSnapshot(bytes: Uint8Array, where?: string): Snapshot {
  const seq = claimedSnapshotSeq(bytes)
  const header = inspectRecord(bytes, 'snapshot', seq, where)
  const body = (header.format === SNAPSHOT_FORMAT ? snapshotOfParts(asBuffer(bytes), header, seq, where) : parseBody(asBuffer(bytes), header, 'snapshot', seq, where)) as { formatVersion?: unknown; state?: unknown } | null
  if (typeof body !== 'object' || body === null || typeof body.formatVersion !== 'number' || !('state' in body)) {
    throw corrupt('snapshot', seq, where, 'body is not {formatVersion, state}')
  }
  return { seq, formatVersion: body.formatVersion, state: body.state }
}

function snapshotOfParts(buf: Buffer, header: RecordHeader, seq: number, where: string | undefined): unknown {
  if (header.flags !== 0) throw corrupt('snapshot', seq, where, `format ${SNAPSHOT_FORMAT} record with flags ${header.flags}`)
  try {
    return readParts(buf, HEADER_BYTES)
  } catch (error) {
    if (error instanceof PartsError) throw corrupt('snapshot', seq, where, `body ${error.message}`, error)
    throw error
  }
}
