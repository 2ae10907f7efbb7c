// A check of a whole store read in key order, entry by entry: what a backup copies and what a
// restore verifies go through it, so both refuse the same damage. It checks every log record's
// header and checksum, that records follow each other from the compaction floor without a gap or
// overlap, and the snapshot's checksum and place; and it digests every entry (sha256), so that a
// restore can prove it holds exactly what the backup wrote — history views carry no checksum of
// their own, and LevelDB drops a damaged block of its write-ahead log without an error.
//
// The store id key (m:id) is left out of the digest: every copy gets an identity of its own
// (backup.ts says why), and the id is checked against the end-of-log mark instead.

import { createHash, type Hash } from 'node:crypto'
import { LogCorruptionError } from '../engine/errors.js'
import { claimedSnapshotSeq, inspectRecord } from './codec.js'
import { STORE_ID_KEY } from './end-mark.js'
import { FIRST_KEY, FLOOR_KEY, LAST_KEY, SNAPSHOT_KEY, seqOfKey } from './level-recovery.js'

/** What a scan found: the point of the log the store holds, and a fingerprint of its entries. */
export interface ScanSummary {
  /** The last seq in the log (the compaction floor when no record is left). */
  seq: number
  /** The store id key's value, null when the store has none. */
  storeId: string | null
  /** Every entry, the id included. */
  keys: number
  /** Bytes of every key and value, the id included. */
  bytes: number
  /** sha256 (hex) over every entry but the id: length-prefixed key, then value, in key order. */
  sha256: string
}

export class StoreScan {
  private readonly hash: Hash = createHash('sha256')
  private readonly lengths = Buffer.alloc(8)
  private keys = 0
  private bytes = 0
  private storeId: string | null = null
  private floorSeq = 0
  private firstSeq: number | null = null
  private lastSeq: number | null = null
  private snapshotSeq: number | null = null

  /** `where` names the store in errors. */
  constructor(private readonly where: string) {}

  /** Take the next entry (in key order). Throws LogCorruptionError on a damaged record. */
  add(key: Uint8Array, value: Uint8Array): void {
    this.keys++
    this.bytes += key.byteLength + value.byteLength
    const text = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8')
    if (text === STORE_ID_KEY) {
      this.storeId = Buffer.from(value).toString('utf8')
      return
    }
    this.lengths.writeUInt32BE(key.byteLength, 0)
    this.lengths.writeUInt32BE(value.byteLength, 4)
    this.hash.update(this.lengths).update(key).update(value)
    if (text >= FIRST_KEY && text <= LAST_KEY) this.addRecord(text, value)
    else if (text === FLOOR_KEY) this.floorSeq = this.parseFloor(value)
    else if (text === SNAPSHOT_KEY) this.snapshotSeq = inspectRecord(value, 'snapshot', claimedSnapshotSeq(value), this.where).firstSeq
  }

  /** After the last entry: the log must start right after its floor and cover its snapshot. */
  finish(): ScanSummary {
    const seq = this.lastSeq ?? this.floorSeq
    if (this.firstSeq !== null && this.firstSeq !== this.floorSeq + 1) {
      throw this.corrupt(this.floorSeq + 1, `the first record starts at seq ${this.firstSeq} but the log was compacted up to seq ${this.floorSeq}`)
    }
    if (this.snapshotSeq !== null && (this.snapshotSeq < this.floorSeq || this.snapshotSeq > seq)) {
      throw this.corrupt(this.snapshotSeq, `the snapshot is at seq ${this.snapshotSeq}, outside the log (seqs ${this.floorSeq + 1}..${seq})`)
    }
    return { seq, storeId: this.storeId, keys: this.keys, bytes: this.bytes, sha256: this.hash.digest('hex') }
  }

  private addRecord(key: string, value: Uint8Array): void {
    const expected = this.lastSeq === null ? this.floorSeq + 1 : this.lastSeq + 1
    const header = inspectRecord(value, 'batch', seqOfKey(key, expected, this.where), this.where)
    if (this.lastSeq !== null && header.firstSeq !== expected) {
      const what = header.firstSeq > expected ? `events ${expected}..${header.firstSeq - 1} are missing` : 'the record overlaps the previous one'
      throw this.corrupt(expected, `${what} (next record starts at seq ${header.firstSeq})`)
    }
    this.firstSeq ??= header.firstSeq
    this.lastSeq = header.lastSeq
  }

  private parseFloor(value: Uint8Array): number {
    const text = Buffer.from(value).toString('utf8')
    if (!/^\d{1,16}$/.test(text)) throw this.corrupt(0, `compaction floor ${JSON.stringify(text)}`)
    return Number(text)
  }

  private corrupt(seq: number, what: string): LogCorruptionError {
    return new LogCorruptionError(`corrupt event log at seq ${seq} in ${JSON.stringify(this.where)}: ${what}`, seq)
  }
}
