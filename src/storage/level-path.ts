// What a LevelLog path may name: nothing yet, an empty directory (a store is created there), or a
// directory holding a Wharf store. Anything else — a regular file, someone's photos, another
// application's LevelDB — is refused with a StorageError naming the path, before LevelDB writes
// its own files into it.

import { COMPLETE_KEY } from './level-history.js'
import { STORE_ID_KEY } from './end-mark.js'
import { readdir, stat } from 'node:fs/promises'
import { StorageError } from '../engine/errors.js'
import { FIRST_KEY, FLOOR_KEY, LAST_KEY, SNAPSHOT_KEY, type Db } from './level-recovery.js'

/** The file every LevelDB directory has; its absence means the directory is not a store. */
const LEVELDB_MARKER = 'CURRENT'

/** Before opening: refuse a path that is not a directory, or a non-empty one that is not LevelDB. */
export async function checkStorePath(path: string): Promise<void> {
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw refusal(path, `cannot be read (${error.code ?? error.message})`, error)
  })
  if (found === null) return
  if (!found.isDirectory()) throw refusal(path, 'is not a directory (a regular file or another kind of entry)')
  const entries = await readdir(path).catch((error: NodeJS.ErrnoException) => {
    throw refusal(path, `cannot be listed (${error.code ?? error.message})`, error)
  })
  if (entries.length > 0 && !entries.includes(LEVELDB_MARKER)) {
    throw refusal(path, `is a directory that holds something other than a Wharf store (${entries.length} entries, no LevelDB ${LEVELDB_MARKER} file)`)
  }
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

function refusal(path: string, what: string, cause?: unknown): StorageError {
  return new StorageError(`the Wharf path ${JSON.stringify(path)} ${what}; give an empty or new directory, or an existing Wharf store`, { cause })
}
