// Whether a process holds a store, found without opening it: LevelDB's open takes its lock but
// also rewrites the store's files (it replays its write-ahead log into a new table), which
// `wharf verify` must not do. LevelDB locks its LOCK file with fcntl(F_SETLK); Linux lists every
// such lock in /proc/locks by inode. Elsewhere there is no such list, and null is the answer
// (verify then relies on seeing the files change while it copies them).

import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** A /proc/locks line: "1: POSIX  ADVISORY  WRITE 10141 fe:00:2318399 0 EOF" (a blocked waiter has "->"). */
const LOCK_LINE = /^\d+:\s+(?:->\s+)?POSIX\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/

/** The pid of the process holding the LevelDB lock of the store at `path`, or null (none, or unknown). */
export async function lockHolder(path: string, locksFile = '/proc/locks'): Promise<number | null> {
  const lock = await stat(join(path, 'LOCK')).catch(() => null)
  if (lock === null) return null
  const locks = await readFile(locksFile, 'utf8').catch(() => null)
  if (locks === null) return null
  // By inode alone: on an overlay file system the device in /proc/locks is the layer's, not the
  // one stat() reports, while the inode is the same.
  for (const line of locks.split('\n')) {
    const m = LOCK_LINE.exec(line)
    if (m !== null && Number(m[2]) === lock.ino) return Number(m[1])
  }
  return null
}
