// What a LevelLog path may name: nothing yet or an empty directory (a store is created there), a
// directory holding a Wharf store, or one holding a damaged store. Anything else — a regular
// file, someone's photos, another application's LevelDB — is refused with a StorageError naming
// the path, before LevelDB writes its own files into it.
//
// Why this is decided here and not by LevelDB's createIfMissing: LevelDB takes a directory
// without a CURRENT file for an empty one, creates a fresh database in it and deletes the tables
// its new MANIFEST does not list — the data of a store that only lost CURRENT. So LevelDB may
// create a database only where there is nothing (LevelLog passes createIfMissing for 'new' alone).

import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { COMPLETE_KEY } from './level-history.js'
import { STORE_ID_KEY } from './end-mark.js'
import { MARK_FILE } from './end-mark-file.js'
import { StorageError } from '../engine/errors.js'
import { BEFORE_OPEN_PREFIX, DAMAGED_PREFIX, SCRUB_PREFIX } from './evidence.js'
import { FIRST_KEY, FLOOR_KEY, LAST_KEY, SNAPSHOT_KEY, type Db } from './level-recovery.js'
import { finishInterruptedSwap } from './level-rebuild.js'

/** The file every LevelDB directory has; its absence means the directory is not a store. */
const LEVELDB_MARKER = 'CURRENT'
/** Names only a LevelDB or Wharf store holds: with one of them, a directory without CURRENT is a damaged store. */
const STORE_FILE = /^(\d+\.(log|ldb|sst)|MANIFEST-\d+|LOG|LOG\.old)$/

export type StoreDir = { kind: 'new' } | { kind: 'store' } | { kind: 'damaged'; why: string }

/** Before opening: what `path` holds; refuse a path that is not a directory, or someone else's. */
export async function inspectStorePath(path: string): Promise<StoreDir> {
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw refusal(path, `cannot be read (${error.code ?? error.message})`, error)
  })
  if (found === null) return (await finishInterruptedSwap(path)) ? { kind: 'store' } : { kind: 'new' }
  if (!found.isDirectory()) throw refusal(path, 'is not a directory (a regular file or another kind of entry)')
  const entries = await readdir(path).catch((error: NodeJS.ErrnoException) => {
    throw refusal(path, `cannot be listed (${error.code ?? error.message})`, error)
  })
  if (entries.length === 0) return { kind: 'new' }
  if (!entries.includes(LEVELDB_MARKER)) {
    if (entries.some(isStoreFile)) return { kind: 'damaged', why: `the LevelDB file ${LEVELDB_MARKER} is missing (${entries.length} entries remain)` }
    throw refusal(path, `is a directory that holds something other than a Wharf store (${entries.length} entries, no LevelDB ${LEVELDB_MARKER} file)`)
  }
  const current = (await readFile(join(path, LEVELDB_MARKER), 'utf8').catch(() => '')).trim()
  if (!/^MANIFEST-\d+$/.test(current)) return { kind: 'damaged', why: `the LevelDB file ${LEVELDB_MARKER} is unreadable (${JSON.stringify(current.slice(0, 40))})` }
  if (!entries.includes(current)) return { kind: 'damaged', why: `the LevelDB file ${LEVELDB_MARKER} names ${current}, which is missing` }
  return { kind: 'store' }
}

function isStoreFile(name: string): boolean {
  return STORE_FILE.test(name) || name === MARK_FILE || name.startsWith(BEFORE_OPEN_PREFIX) || name.startsWith(DAMAGED_PREFIX) || name.startsWith(SCRUB_PREFIX)
}

/** After opening: a LevelDB store that has keys, none of them Wharf's, belongs to someone else. */
export async function checkWharfKeys(db: Db, path: string): Promise<void> {
  const any = await db.keys({ limit: 1 }).all()
  if (any.length === 0) return
  const records = await db.keys({ gte: FIRST_KEY, lte: LAST_KEY, limit: 1 }).all()
  if (records.length > 0) return
  if ((await db.get(FLOOR_KEY)) !== undefined || (await db.get(SNAPSHOT_KEY)) !== undefined || (await db.get(COMPLETE_KEY)) !== undefined || (await db.get(STORE_ID_KEY)) !== undefined) return
  throw refusal(path, `is a LevelDB store that was not written by Wharf (first key ${JSON.stringify(any[0])})`)
}

/** What to give instead, ending every refusal of a path (the CLI, which creates no store, says its own). */
export const PATH_ADVICE = 'give an empty or new directory, or an existing Wharf store'

function refusal(path: string, what: string, cause?: unknown): StorageError {
  return new StorageError(`the Wharf path ${JSON.stringify(path)} ${what}; ${PATH_ADVICE}`, { cause })
}
