// Explicit recovery for LevelLog's onCorruption: 'truncate'. The log becomes its longest valid
// prefix — never a log with a hole in the middle — and the result must stay consistent with what
// the reader that found the corruption has already folded:
//
// - The reader folded through the last good record (it started before the corrupt one): the log
//   ends there. A snapshot beyond that end describes events that are now gone, so it goes too —
//   possible only while nothing was compacted (otherwise the snapshot is the only copy of history).
// - The reader started from its snapshot, past the last good record (the record holding the
//   snapshot's next seq is corrupt): that snapshot becomes the base of the log: every record goes,
//   and the compaction floor moves to the snapshot's seq.
//
// Anything else cannot be made consistent, and the corruption is thrown after all.

import type { ClassicLevel } from 'classic-level'
import { LogCorruptionError } from '../engine/errors.js'
import { claimedSnapshotSeq, decodeBatch, inspectRecord } from './codec.js'

export type Db = ClassicLevel<string, Uint8Array>
export type Op = { type: 'del'; key: string } | { type: 'put'; key: string; value: Uint8Array }

export const KEY_DIGITS = 16
export const FIRST_KEY = 'e' + '0'.repeat(KEY_DIGITS)
export const LAST_KEY = 'e' + '9'.repeat(KEY_DIGITS)
export const FLOOR_KEY = 'm:floor'
export const SNAPSHOT_KEY = 's'
const KEY_PATTERN = /^e\d{16}$/

/** The key of the record whose first event has `seq`. */
export function recordKey(seq: number): string {
  return 'e' + String(seq).padStart(KEY_DIGITS, '0')
}

/** The first seq a record key stands for; a malformed key is corruption at `expected`. */
export function seqOfKey(key: string, expected: number, path: string): number {
  if (!KEY_PATTERN.test(key)) {
    throw new LogCorruptionError(`corrupt event log at seq ${expected} in ${JSON.stringify(path)}: malformed record key ${JSON.stringify(key)}`, expected)
  }
  return Number(key.slice(1))
}

/** A snapshot record's seq if its header and checksum hold, else null. */
export function verifiedSnapshotSeq(bytes: Uint8Array | undefined): number | null {
  if (bytes === undefined) return null
  try {
    return inspectRecord(bytes, 'snapshot', claimedSnapshotSeq(bytes)).firstSeq
  } catch {
    return null
  }
}

export interface Truncation {
  ops: Op[]
  floorSeq: number
  lastSeq: number
  /** Appended to the corruption message in the warning. */
  summary: string
}

/**
 * Plan the recovery from a corrupt record at `fromKey`, found by a reader of read(afterSeq).
 * Nothing is written here; the caller commits `ops` as one atomic batch.
 */
export async function planTruncation(db: Db, path: string, fromKey: string, afterSeq: number, floorSeq: number, cause: LogCorruptionError): Promise<Truncation> {
  let start = fromKey
  let lastGood = floorSeq
  for (;;) {
    // The record before `start` becomes the end of the log; if it is corrupt too, it goes too.
    const prev = await db.iterator({ gte: FIRST_KEY, lt: start, reverse: true, limit: 1 }).all()
    if (prev.length === 0) break
    const [key, value] = prev[0]!
    try {
      lastGood = decodeBatch(value, seqOfKey(key, floorSeq + 1, path), path).at(-1)!.seq
      break
    } catch (error) {
      if (!(error instanceof LogCorruptionError)) throw error
      start = key
    }
  }
  const ops: Op[] = []
  for await (const key of db.keys({ gte: start, lte: LAST_KEY })) ops.push({ type: 'del', key })
  const deleted = `deleted ${ops.length} record(s) from seq ${lastGood + 1} on`
  const snapshotSeq = verifiedSnapshotSeq(await db.get(SNAPSHOT_KEY))
  const refuse = (why: string): never => {
    throw new LogCorruptionError(`${cause.message}; truncation cannot recover: ${why}`, cause.seq, { cause })
  }

  if (afterSeq > lastGood) {
    if (snapshotSeq !== afterSeq) refuse(`the reader starts at seq ${afterSeq}, past the last good record (seq ${lastGood}), and no snapshot is at seq ${afterSeq}`)
    for await (const key of db.keys({ gte: FIRST_KEY, lt: start })) ops.push({ type: 'del', key })
    ops.push({ type: 'put', key: FLOOR_KEY, value: Buffer.from(String(afterSeq)) })
    return { ops, floorSeq: afterSeq, lastSeq: afterSeq, summary: `${deleted}, and the records before it, which the snapshot at seq ${afterSeq} covers; the log continues from that snapshot` }
  }
  let dropped = ''
  if (snapshotSeq !== null && snapshotSeq > lastGood) {
    if (floorSeq > 0) refuse(`the snapshot (seq ${snapshotSeq}) holds lost events and history up to seq ${floorSeq} exists only in it; read from the snapshot instead`)
    ops.push({ type: 'del', key: SNAPSHOT_KEY })
    dropped = `, and the snapshot at seq ${snapshotSeq}, which described lost events`
  }
  return { ops, floorSeq, lastSeq: lastGood, summary: `${deleted}${dropped}; the log now ends at seq ${lastGood}` }
}

/** Every record goes and the floor moves to `base`: the snapshot at `base` becomes the log's start. */
export async function planSnapshotBase(db: Db, base: number): Promise<Op[]> {
  const ops: Op[] = []
  for await (const key of db.keys({ gte: FIRST_KEY, lte: LAST_KEY })) ops.push({ type: 'del', key })
  ops.push({ type: 'put', key: FLOOR_KEY, value: Buffer.from(String(base)) })
  return ops
}
