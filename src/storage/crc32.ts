// CRC32 (IEEE polynomial, zlib's): the checksums of log records, history views and the end mark.
// zlib.crc32 (Node 20.15+) is native, but each call crosses into C++ through argument checks,
// about 0.7 µs here: for the ~150 bytes of a history view (two calls each: its uuid, its JSON)
// that cost more than the JSON itself. Short inputs go through tables in JS, four bytes a turn
// (about 0.15 µs for a 120-byte view, half of what a byte a turn took); long ones (records of whole batches) through zlib. Older Node 20 has no
// zlib.crc32: the table then does all of it.

import * as zlib from 'node:zlib'

/** Inputs shorter than this are checksummed in JS. */
const NATIVE_FROM_BYTES = 512

const TABLE = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  TABLE[n] = c
}
// Slicing by 4: T1..T3 carry a byte through one, two, three more bytes, so the loop takes four
// bytes a turn with independent lookups (about twice as fast as the byte loop for a view).
const T1 = new Int32Array(256)
const T2 = new Int32Array(256)
const T3 = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  T1[n] = (TABLE[n]! >>> 8) ^ TABLE[TABLE[n]! & 0xff]!
  T2[n] = (T1[n]! >>> 8) ^ TABLE[T1[n]! & 0xff]!
  T3[n] = (T2[n]! >>> 8) ^ TABLE[T2[n]! & 0xff]!
}

/** Same result as zlib.crc32, in plain JS. Exported for its test. */
export function crc32Portable(data: Uint8Array, value = 0): number {
  return tableCrc(data, 0, value)
}

function tableCrc(data: Uint8Array, start: number, value: number): number {
  let crc = ~value
  let i = start
  for (const end4 = data.length - 3; i < end4; i += 4) {
    crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    crc = T3[crc & 0xff]! ^ T2[(crc >>> 8) & 0xff]! ^ T1[(crc >>> 16) & 0xff]! ^ TABLE[crc >>> 24]!
  }
  for (; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)
  return ~crc >>> 0
}

const native = (zlib as { crc32?: (data: Uint8Array | string, value?: number) => number }).crc32

/** The CRC32 of `data`, continuing from `value` (a previous CRC32) as zlib.crc32 does. */
export function crc32(data: Uint8Array, value = 0): number {
  return native !== undefined && data.length >= NATIVE_FROM_BYTES ? native(data, value) : crc32Portable(data, value)
}

/** crc32(data.subarray(start), value), without making the subarray when `data` is short. */
export function crc32From(data: Uint8Array, start: number, value = 0): number {
  return native !== undefined && data.length - start >= NATIVE_FROM_BYTES ? native(data.subarray(start), value) : tableCrc(data, start, value)
}

/** The CRC32 of `text`'s UTF-8 bytes, without making them when it is ASCII (a uuid). */
export function crc32Text(text: string, value = 0): number {
  let crc = ~value
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 0x80) return crc32(Buffer.from(text, 'utf8'), value)
    crc = TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8)
  }
  return ~crc >>> 0
}
