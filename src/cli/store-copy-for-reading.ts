// A private copy of a store for `wharf verify` to open: LevelDB's open rewrites a store's files
// (it replays the write-ahead log into a new table, starts a new MANIFEST, may compact), and
// verify must leave the store exactly as it was — classic-level has no read-only open. Tables
// (*.ldb, *.sst) are hard-linked where the file system allows, since LevelDB never changes a
// table once written (it only deletes it, which removes the copy's name); every other file is
// copied. The store's files are listed before and after: if anything changed meanwhile, a
// process is writing to it and the copy may mix two moments, so it is refused.

import { copyFile, link, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StorageLockedError } from '../engine/errors.js'
import { Refusal, refusalOf } from './client.js'

const TABLE = /^\d+\.(ldb|sst)$/
/** LevelDB's lock file: the copy takes its own. */
const SKIPPED = new Set(['LOCK'])

export interface ReadingCopy {
  dir: string
  remove(): Promise<void>
}

/** Name, size and mtime of every regular file directly in `path`, by name. */
async function listing(path: string): Promise<Array<[name: string, size: number, mtimeMs: number]>> {
  const entries = await readdir(path, { withFileTypes: true })
  const rows: Array<[string, number, number]> = []
  for (const entry of entries) {
    if (!entry.isFile() || SKIPPED.has(entry.name)) continue
    const info = await stat(join(path, entry.name)).catch(() => null)
    rows.push([entry.name, info?.size ?? -1, info?.mtimeMs ?? -1])
  }
  return rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

async function linkOrCopy(from: string, to: string, name: string): Promise<void> {
  if (TABLE.test(name)) {
    try {
      return await link(from, to)
    } catch {
      // Another file system (EXDEV), or links refused: copy instead.
    }
  }
  await copyFile(from, to)
}

/**
 * A file system error of the copy as a refusal saying where the copy is made: a temporary
 * directory without room for a large store's files (a small tmpfs) is the likely cause, and
 * TMPDIR the way out. Anything else (a bug) as it is.
 */
function copyRefusal(path: string, error: unknown): unknown {
  if (typeof (error as NodeJS.ErrnoException | null)?.code !== 'string') return error
  return new Refusal({
    name: 'StorageError',
    code: 'STORAGE',
    message: `cannot make the private copy of ${JSON.stringify(path)} that is read (${(error as Error).message}); it is made in ${tmpdir()}: free space there, or set TMPDIR to a directory with room for the store's files`,
  })
}

/** Copy the store at `path` into a new temporary directory; `lockedHint` says what to do if it is in use. */
export async function copyForReading(path: string, lockedHint: string): Promise<ReadingCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-verify-')).catch((error: unknown) => {
    throw copyRefusal(path, error)
  })
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true })
  try {
    const before = await listing(path)
    for (const [name] of before) await linkOrCopy(join(path, name), join(dir, name), name)
    if (JSON.stringify(await listing(path)) !== JSON.stringify(before)) {
      throw refusalOf(new StorageLockedError(path), `its files changed while they were read, so a process is writing to it; ${lockedHint}`)
    }
  } catch (error) {
    await remove()
    throw error instanceof Refusal ? error : copyRefusal(path, error)
  }
  return { dir, remove }
}
