// Opening LevelDB on a store directory without ever making things worse (LevelLog.open's first
// step): a database is created only where there is nothing (level-path.ts); the files as they
// were before the open are linked aside until the open is known to be clean (evidence.ts); a store
// LevelDB cannot read whole is a LogCorruptionError with 'throw' — nothing written — and is
// rebuilt from what LevelDB can salvage with 'truncate' (level-rebuild.ts). 'truncate' first reads
// every entry, in a child process (level-child.ts), because a damaged table that this open does
// not happen to read would otherwise fail the store later, in a compaction after the recovery's
// deletes (LevelDB's background error), or abort the process.

import { mkdir } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { LogCorruptionError, StorageError, StorageLockedError, WharfError } from '../engine/errors.js'
import { Evidence } from './evidence.js'
import { levelChild } from './level-child.js'
import { inspectStorePath } from './level-path.js'
import { hasCode, isLevelCorruption, isLevelError, levelMessage } from './level-corruption.js'
import { rebuildStore } from './level-rebuild.js'
import type { Db } from './level-recovery.js'

export interface StoreOpenOptions {
  onCorruption: 'throw' | 'truncate'
  warn: (message: string) => void
}

export interface OpenedStore {
  db: Db
  /** The files from before this open; null for a new or a rebuilt store (nothing to keep). */
  evidence: Evidence | null
}

/** LevelDB's own corruption error as a LogCorruptionError; any other error as it is. */
export function namedCorruption(error: unknown, path: string): unknown {
  if (!isLevelCorruption(error)) return error
  return new LogCorruptionError(`the Wharf store ${JSON.stringify(path)} is damaged: LevelDB reports ${levelMessage(error)}`, 0, { cause: error })
}

/** Any error LevelDB reported, named: its corruption as a LogCorruptionError, any other (a table
 * this process may not read: EACCES, EIO) as a StorageError; an error of Wharf's own as it is. */
export function namedLevelError(error: unknown, path: string): unknown {
  const named = namedCorruption(error, path)
  if (named !== error || !isLevelError(error) || error instanceof WharfError) return named // already named
  return new StorageError(`the Wharf store ${JSON.stringify(path)} failed: LevelDB reports ${levelMessage(error)}`, { cause: error })
}

export async function openLevelStore(path: string, options: StoreOpenOptions): Promise<OpenedStore> {
  const found = await inspectStorePath(path)
  if (found.kind === 'new') {
    await mkdir(path, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw new StorageError(`cannot create the Wharf directory ${JSON.stringify(path)} (${error.code ?? error.message})`, { cause: error })
    })
    return { db: await openDb(path, true), evidence: null }
  }
  if (found.kind === 'damaged') {
    await rebuild(path, found.why, null, options)
    return { db: await openDb(path, false), evidence: null }
  }
  // The open's first write: a directory that refuses it (read-only, not this user's) refuses the
  // open, which would write LevelDB's lock, log and tables next.
  const evidence = await Evidence.take(path).catch((error: NodeJS.ErrnoException) => {
    throw new StorageError(`cannot open the Wharf store at ${JSON.stringify(path)}: its directory cannot be written (${error.code ?? error.message})`, { cause: error })
  })
  try {
    if (options.onCorruption === 'truncate') {
      const scan = await levelChild('scan', path)
      if (!scan.ok) {
        await rebuild(path, `LevelDB cannot read every entry (${scan.message})`, evidence, options)
        return { db: await openDb(path, false), evidence: null }
      }
    }
    return { db: await openDb(path, false), evidence }
  } catch (error) {
    if (!(error instanceof LogCorruptionError)) {
      await evidence.discard()
      throw error
    }
    const kept = await evidence.keep()
    if (kept !== null) error.message += `; the store's files as they were before this open are kept in ${JSON.stringify(kept)}`
    throw error
  }
}

async function openDb(path: string, create: boolean): Promise<Db> {
  const db: Db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: create })
  try {
    await db.open()
  } catch (error) {
    if (hasCode(error, 'LEVEL_LOCKED')) throw new StorageLockedError(path, { cause: error })
    const named = namedCorruption(error, path)
    if (named instanceof LogCorruptionError) throw named
    throw new StorageError(`cannot open the Wharf store at ${JSON.stringify(path)}: ${levelMessage(error)}`, { cause: error })
  }
  return db
}

/** A store LevelDB cannot read whole: refused with 'throw' (nothing written), rebuilt with 'truncate'. */
export async function rebuild(path: string, why: string, evidence: Evidence | null, options: StoreOpenOptions): Promise<void> {
  if (options.onCorruption === 'throw') {
    throw new LogCorruptionError(
      `the Wharf store ${JSON.stringify(path)} is damaged: ${why}; nothing was written. Open with onCorruption: 'truncate' to rebuild it from what LevelDB can salvage (the damaged store is kept beside it), or restore it from a backup`,
      0,
    )
  }
  // The links move with the old directory: <path>.damaged-<time>/wharf-damaged-<time> is the store
  // exactly as it was before this open.
  await evidence?.keep()
  const rebuilt = await rebuildStore(path, why)
  const lost = rebuilt.unreadable === null ? '' : `; ${rebuilt.unreadable}`
  options.warn(`the Wharf store ${JSON.stringify(path)} was damaged (${why}); rebuilt by 'truncate' from what LevelDB could salvage (${rebuilt.keys} entries)${lost}; the damaged store is kept in ${JSON.stringify(rebuilt.kept)}`)
}
