// Writing a Wharf store from another one's entries (a backup), and giving a copy its own identity
// and end-of-log mark (backups and restores both). The copy is a fresh LevelDB written key by
// key, not a copy of LevelDB's files: the files of a running store change under a file copy, while
// one iterator reads one committed point (LevelLog.snapshotIterator).

import { ClassicLevel, type Iterator } from 'classic-level'
import { STORE_ID_KEY } from './end-mark.js'
import { MarkFile, markPath, newStoreId } from './end-mark-file.js'
import type { Db } from './level-recovery.js'
import { StoreScan, type ScanSummary } from './store-scan.js'

/** Entries per read from the source and per (unsynced) write batch into the copy. */
const COPY_CHUNK = 512

/** A store copied at `dir`: what was read from the source, and the copy's new identity. */
export interface CopiedStore {
  source: ScanSummary
  storeId: string
}

/** An iterator over a store's raw keys and values (LevelLog.snapshotIterator). */
export type RawIterator = Iterator<Db, Uint8Array, Uint8Array>

/** A LevelDB of raw keys and values (Db is the same thing seen through utf8 keys). */
export type RawDb = ClassicLevel<Uint8Array, Uint8Array>

export function openRawDb(dir: string, createIfMissing: boolean): RawDb {
  return new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing, errorIfExists: createIfMissing })
}

/**
 * Copy every entry of `source` (checked on the way, store-scan.ts) into a new store at `dir`, then
 * seal it with a new identity. Closes `source`. `where` names the source in errors.
 */
export async function copyStore(source: RawIterator, dir: string, where: string): Promise<CopiedStore> {
  const scan = new StoreScan(where)
  const db = openRawDb(dir, true)
  try {
    await db.open()
    for (;;) {
      const entries = await source.nextv(COPY_CHUNK)
      if (entries.length === 0) break
      const batch = db.batch()
      for (const [key, value] of entries) {
        scan.add(key, value)
        // The id is the copy's own, written last by sealStore.
        if (!isStoreIdKey(key)) batch.put(key, value)
      }
      await batch.write()
    }
    const summary = scan.finish()
    const storeId = newStoreId()
    await sealStore(db, dir, storeId, summary.seq)
    return { source: summary, storeId }
  } finally {
    await source.close()
    await db.close()
  }
}

/**
 * Give the store at `dir` (open as `db`, closed here) the identity `storeId` and an end-of-log
 * mark at `seq`, its last event. The id goes in a synced write, which also syncs every unsynced
 * write before it (one write-ahead log); then the mark file, whole and synced.
 */
export async function sealStore(db: RawDb, dir: string, storeId: string, seq: number): Promise<void> {
  await db.put(Buffer.from(STORE_ID_KEY), Buffer.from(storeId), { sync: true })
  await db.close()
  const file = await MarkFile.create(markPath(dir), { storeId, generation: 0, seq })
  await file.close()
}

const ID_KEY_BYTES = Buffer.from(STORE_ID_KEY)

function isStoreIdKey(key: Uint8Array): boolean {
  return ID_KEY_BYTES.equals(key)
}
