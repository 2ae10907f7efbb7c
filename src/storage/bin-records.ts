// A job spec's records out of record format 3, one frozen array for a run of equal ones. The API
// gives every job of a recordset the same frozen array (recordset.ts: browse([1]) and a loop of
// withDelay calls), but a replay read a fresh array for each job, which lives as long as its job
// is in memory — up to a backlog of hundreds of thousands, each array two more objects for the
// garbage collector to copy and mark. Equal bytes are an equal value when they hold numbers only
// (the encoding is deterministic and each value ends where its bytes say; a string could be a
// reference into its record's own string table, so arrays holding one are not shared). An array
// is frozen when a second job takes it, as the API's are; one no other job shares stays as read.

import type { RecordId } from '../engine/core/events.js'
import type { BinReader } from './bin-reader.js'
import { readValue } from './bin-values.js'

/** Records longer than this in bytes are not kept for the next job (a long list is rarely shared). */
const SHARED_BYTES_MAX = 32

const lastBytes = Buffer.alloc(SHARED_BYTES_MAX)
let lastLength = 0
let last: RecordId[] | null = null
let lastShared = false

/** The records value at `r`'s position: the last array read when its bytes come again. */
export function readRecords(r: BinReader): RecordId[] {
  const start = r.pos
  if (last !== null && start + lastLength <= r.end && sameBytes(r.bytes, start)) {
    r.pos = start + lastLength
    if (!lastShared) {
      Object.freeze(last)
      lastShared = true
    }
    return last
  }
  const value = readValue(r)
  const length = r.pos - start
  if (length <= SHARED_BYTES_MAX && Array.isArray(value) && numbersOnly(value)) {
    r.bytes.copy(lastBytes, 0, start, r.pos)
    lastLength = length
    last = value as RecordId[]
    lastShared = false
  }
  return value as RecordId[]
}

function sameBytes(bytes: Buffer, start: number): boolean {
  for (let i = 0; i < lastLength; i++) if (bytes[start + i] !== lastBytes[i]) return false
  return true
}

function numbersOnly(values: unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return false
  return true
}
