// The end-of-log mark's file, WHARF-END in the store directory, beside LevelDB's own files: the
// store's identity and the highest seq known durable in the log, kept outside LevelDB so that a
// log whose tail LevelDB dropped on recovery (a damaged WAL opens without an error) is noticed.
//
// Format: 128 bytes, two 64-byte slots; each slot is a whole mark with its own checksum:
//   0  'WHARFEND'  8  format (u8) + 7 zero bytes  16  store id (16 bytes)
//   32 generation (u64 LE)  40 seq (u64 LE)  48 crc32 of bytes 0..47 (u32 LE)  52 zero to 64
// A write replaces the older slot (generation % 2) in place with pwrite, and the valid slot of
// the highest generation is the mark. Why not a temp file + fsync + rename: that is two fsyncs
// (file and directory) and a directory change per batch in 'fsync' mode; this is one fdatasync of
// a file whose size never changes. A torn write (power cut mid-write) spoils one slot only, and
// the other still holds the previous mark, a lower bound, which is always safe to believe. The
// file itself is created once, whole, through a temp file and rename, and synced.

import { randomBytes } from 'node:crypto'
import { open, rename, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { crc32 } from './crc32.js'
import { StorageError } from '../engine/errors.js'

export const MARK_FILE = 'WHARF-END'
export const STORE_ID_BYTES = 16
const MAGIC = Buffer.from('WHARFEND', 'latin1')
const FORMAT = 1
const SLOT_BYTES = 64
const FILE_BYTES = 2 * SLOT_BYTES
const CRC_OFFSET = 48

export interface Mark {
  /** Hex, STORE_ID_BYTES bytes: also kept inside LevelDB, so a file from another store is seen. */
  storeId: string
  /** Counts every write; the slot with the highest one is the current mark. */
  generation: number
  /** Every event up to this seq was durable in the log when the mark was written. */
  seq: number
}

export function newStoreId(): string {
  return randomBytes(STORE_ID_BYTES).toString('hex')
}

export function markPath(storePath: string): string {
  return join(storePath, MARK_FILE)
}

export function encodeSlot(mark: Mark): Buffer {
  if (!/^[0-9a-f]+$/.test(mark.storeId) || mark.storeId.length !== 2 * STORE_ID_BYTES) throw new RangeError(`bad store id ${JSON.stringify(mark.storeId)}`)
  if (!Number.isSafeInteger(mark.seq) || mark.seq < 0 || !Number.isSafeInteger(mark.generation) || mark.generation < 0) {
    throw new RangeError(`bad end-of-log mark: seq ${mark.seq}, generation ${mark.generation}`)
  }
  const slot = Buffer.alloc(SLOT_BYTES)
  MAGIC.copy(slot, 0)
  slot[8] = FORMAT
  Buffer.from(mark.storeId, 'hex').copy(slot, 16)
  slot.writeBigUInt64LE(BigInt(mark.generation), 32)
  slot.writeBigUInt64LE(BigInt(mark.seq), 40)
  slot.writeUInt32LE(crc32(slot.subarray(0, CRC_OFFSET)), CRC_OFFSET)
  return slot
}

/** The mark in one slot, or null when the slot is not a whole, checksummed mark. */
export function decodeSlot(slot: Uint8Array): Mark | null {
  const bytes = Buffer.from(slot.buffer, slot.byteOffset, slot.byteLength)
  if (bytes.length !== SLOT_BYTES || !bytes.subarray(0, 8).equals(MAGIC) || bytes[8] !== FORMAT) return null
  if (bytes.readUInt32LE(CRC_OFFSET) !== crc32(bytes.subarray(0, CRC_OFFSET))) return null
  const generation = Number(bytes.readBigUInt64LE(32))
  const seq = Number(bytes.readBigUInt64LE(40))
  if (!Number.isSafeInteger(generation) || !Number.isSafeInteger(seq)) return null
  return { storeId: bytes.subarray(16, 32).toString('hex'), generation, seq }
}

/** The current mark of a whole file's bytes: the valid slot of the highest generation. */
export function decodeMarkFile(bytes: Uint8Array): Mark | null {
  if (bytes.length !== FILE_BYTES) return null
  const slots = [decodeSlot(bytes.subarray(0, SLOT_BYTES)), decodeSlot(bytes.subarray(SLOT_BYTES))]
  let best: Mark | null = null
  for (const slot of slots) if (slot !== null && (best === null || slot.generation > best.generation)) best = slot
  return best
}

/** An open WHARF-END. One writer at a time (EndMark serialises its writes). */
export class MarkFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Create (or replace) the file, whole and synced, holding `mark` in both slots. */
  static async create(path: string, mark: Mark): Promise<MarkFile> {
    const temp = `${path}.tmp`
    const slot = encodeSlot(mark)
    const handle = await open(temp, 'w')
    try {
      await handle.write(Buffer.concat([slot, slot]), 0, FILE_BYTES, 0)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
    await syncDirectory(dirname(path))
    return new MarkFile(path, await open(path, 'r+'))
  }

  /** Open an existing file: null when there is none; `mark` null when neither slot is valid. */
  static async open(path: string): Promise<{ file: MarkFile; mark: Mark | null } | null> {
    const handle = await open(path, 'r+').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null
      throw unusable(path, error)
    })
    if (handle === null) return null
    try {
      const bytes = Buffer.alloc(FILE_BYTES + 1)
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0)
      return { file: new MarkFile(path, handle), mark: decodeMarkFile(bytes.subarray(0, bytesRead)) }
    } catch (error) {
      await handle.close()
      throw unusable(path, error as NodeJS.ErrnoException)
    }
  }

  /** Write `mark` over the slot of its generation; with `sync`, durable when this resolves. */
  async write(mark: Mark, sync: boolean): Promise<void> {
    await this.handle.write(encodeSlot(mark), 0, SLOT_BYTES, (mark.generation % 2) * SLOT_BYTES)
    // The size never changes, so fdatasync is enough: no metadata the data depends on.
    if (sync) await this.handle.datasync()
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}

/**
 * A mark the file system will not open or read (EIO from a bad sector, EACCES, a directory in its
 * place): not a missing or spoilt mark that 'truncate' may replace, but a fault to fix first.
 */
function unusable(path: string, error: NodeJS.ErrnoException): StorageError {
  return new StorageError(`the end-of-log mark ${JSON.stringify(path)} cannot be opened (${error.code ?? error.message}); make it a readable, writable file again (a copy of the store's own), or delete it and open with onCorruption: 'truncate' to start a new one`, { cause: error })
}

/** A rename is durable once the directory is synced. Windows cannot open a directory: skip. */
export async function syncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
