// 'truncate' recovery of a store LevelDB itself cannot read whole: a missing CURRENT or MANIFEST,
// or a table with a damaged block (LevelDB reports LEVEL_CORRUPTION). Repairing in place is not
// enough: LevelDB keeps reading a damaged table during compactions long after the keys in it were
// deleted, and fails the store later. So the store is rebuilt:
//
//   1. copy its files to <path>.repair-<time>, and run LevelDB's repair there (never on the store:
//      repair rewrites what it cannot read) — it salvages every readable entry of every log and
//      table into a consistent database;
//   2. copy every key of that into a fresh database, <path>.rebuilding-<time>, with WHARF-END,
//      range by range (level-salvage.ts); both LevelDB steps run in a child process
//      (level-child.ts), because a damaged entry can abort it — when the repair aborts, the
//      ranges are copied from a plain copy of the files instead;
//   3. swap with two renames: <path> becomes <path>.damaged-<time> (kept whole, as evidence),
//      <path>.rebuilding-<time> becomes <path>.
//
// A crash between the two renames leaves no <path> but both siblings of one time: the next open
// finishes the swap (finishInterruptedSwap) instead of creating an empty store. Wharf's own
// checks then run on the rebuilt store as on any other: what LevelDB could not salvage shows up as
// a gap, a log below its end-of-log mark or a missing snapshot, and is recovered or refused there.

import { copyFile, mkdir, open, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { LogCorruptionError, StorageError } from '../engine/errors.js'
import { MARK_FILE, syncDirectory as syncDir } from './end-mark-file.js'
import { stampNow } from './evidence.js'
import { levelChild } from './level-child.js'
import { salvage } from './level-salvage.js'

const REBUILDING = '.rebuilding-'
const DAMAGED = '.damaged-'

export interface Rebuilt {
  /** The old store directory, as it was (with any evidence an open kept inside it). */
  kept: string
  /** Keys in the rebuilt store. */
  keys: number
  /** What LevelDB could not read even after its repair, described; null when it read everything. */
  unreadable: string | null
}

/** Rebuild the closed store at `path` from what LevelDB can salvage of it; see the file comment. */
export async function rebuildStore(path: string, why: string): Promise<Rebuilt> {
  const stamp = stampNow()
  const repair = `${path}.repair-${stamp}`
  const target = `${path}${REBUILDING}${stamp}`
  const kept = `${path}${DAMAGED}${stamp}`
  const refuse = (what: string): never => {
    throw new LogCorruptionError(`the Wharf store ${JSON.stringify(path)} is damaged (${why}) and cannot be rebuilt: ${what}; it was left as it was: restore it from a backup`, 0)
  }
  try {
    await copyFiles(path, repair)
    const repaired = await levelChild('repair', repair)
    if (!repaired.ok) {
      // LevelDB's repair aborts on some damage: salvage from a plain copy instead.
      await rm(repair, { recursive: true, force: true })
      await copyFiles(path, repair)
    }
    const salvaged = await salvage(repair, target)
    if (!salvaged.opened) refuse(`LevelDB cannot open it${repaired.ok ? '' : `, and its repair failed (${repaired.message})`}`)
    await copyMark(path, target)
    await syncDir(target)
    await rename(path, kept)
    await rename(target, path)
    await syncDir(dirname(path))
    const repairNote = repaired.ok ? '' : ` (LevelDB's repair failed: ${repaired.message})`
    const unreadable = salvaged.holes.length === 0 ? null : `LevelDB could not read${repairNote}: ${salvaged.holes.join('; ')} — lost, and Wharf's checks report what they held`
    return { kept, keys: salvaged.keys, unreadable }
  } catch (error) {
    await rm(target, { recursive: true, force: true })
    if (error instanceof LogCorruptionError) throw error
    throw new StorageError(`cannot rebuild the damaged Wharf store ${JSON.stringify(path)} (${why}): ${(error as Error)?.message ?? String(error)}; it was left as it was`, { cause: error })
  } finally {
    await rm(repair, { recursive: true, force: true })
  }
}

/** No `path`, but a finished rebuild beside a kept store of the same time: complete the swap. */
export async function finishInterruptedSwap(path: string): Promise<boolean> {
  const name = basename(path)
  const siblings = await readdir(dirname(path)).catch(() => [] as string[])
  for (const sibling of siblings.sort().reverse()) {
    if (!sibling.startsWith(name + REBUILDING)) continue
    const stamp = sibling.slice(name.length + REBUILDING.length)
    if (!siblings.includes(name + DAMAGED + stamp)) continue
    await rename(join(dirname(path), sibling), path)
    await syncDir(dirname(path))
    return true
  }
  return false
}

/** WHARF-END goes with the data it vouches for, synced. No mark: Wharf's open reports that. */
async function copyMark(from: string, to: string): Promise<void> {
  const copied = await copyFile(join(from, MARK_FILE), join(to, MARK_FILE)).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false
      throw error
    },
  )
  if (!copied) return
  const handle = await open(join(to, MARK_FILE), 'r+')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function copyFiles(from: string, to: string): Promise<void> {
  await mkdir(to)
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isFile() && entry.name !== 'LOCK') await copyFile(join(from, entry.name), join(to, entry.name))
  }
}
