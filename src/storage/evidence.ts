// The store's files as they were before an open, kept aside while the open runs: LevelDB's own
// open rewrites a store — it replays its write-ahead log (*.log) into a new table, dropping any
// damaged part without an error, deletes that log, and starts a new MANIFEST — so an open that
// then finds corruption would otherwise have destroyed the best evidence of what was lost.
//
// Hard links, not copies: LevelDB never changes a file in place once it has moved past it (a
// table is immutable, an old log or MANIFEST is deleted, CURRENT is replaced by a rename), so a
// second name keeps the old bytes at the cost of a directory entry. Where links are refused
// (some file systems), the file is copied. Wharf's own end-of-log mark (128 bytes) is rewritten in
// place, so it is always copied. The links live in a subdirectory of the store: LevelDB
// touches only the names it parses as its own files (number.log, number.ldb, MANIFEST-number,
// CURRENT, LOCK, LOG), so it never reads or deletes them, and a copy of the store takes them along.
//
// The links are taken before LevelDB's lock is, so each open links into a directory of its own
// (`wharf-before-open-<pid>-<n>`): a second open of a store in use, which the lock then refuses,
// must not remove or replace the links of the open that holds it. After a clean open the links
// are removed — or handed over to the history scrub, which opens them as a store of its own, in a
// child process (history-scrub.ts), and removes them when done; after an open that found
// corruption they are kept under a name with a timestamp (`wharf-damaged-<time>`), and the error
// or warning names it. Those of a process that died opening are removed by the next open that
// holds the lock.

import { copyFile, link, mkdir, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { MARK_FILE } from './end-mark-file.js'

/** Where an open keeps its links while it runs: `wharf-before-open-<pid>-<n>`; a leftover one is from a process that died opening. */
export const BEFORE_OPEN_PREFIX = 'wharf-before-open'
export const DAMAGED_PREFIX = 'wharf-damaged-'
/** Links handed over to a history scrub: `wharf-scrub-<pid>-<n>`; a leftover one is from a process that died. */
export const SCRUB_PREFIX = 'wharf-scrub-'
let handedOver = 0
let taken = 0
/** LevelDB's lock file: its contents mean nothing, and a second name for it would be confusing. */
const SKIPPED = new Set(['LOCK'])
/** Files written in place, which a second name would not keep as they were: copied. The end-of-log
 * mark is rewritten by every later open of the store ('truncate' lowers it, appends raise it). */
const COPIED = new Set([MARK_FILE])

/** A name for a kept copy, sortable and safe in a file name on every platform. */
export function stampNow(): string {
  return new Date().toISOString().replace(/[:.]/g, '-')
}

export class Evidence {
  private constructor(
    private readonly storePath: string,
    private dir: string | null,
    /** This open's links, until they are kept, handed over or removed. */
    readonly linked: string,
  ) {}

  /** Link every regular file of the store at `storePath` into a BEFORE_OPEN_PREFIX directory of this open. */
  static async take(storePath: string): Promise<Evidence> {
    const dir = join(storePath, `${BEFORE_OPEN_PREFIX}-${process.pid}-${++taken}`)
    await mkdir(dir)
    for (const entry of await readdir(storePath, { withFileTypes: true })) {
      if (!entry.isFile() || SKIPPED.has(entry.name)) continue
      if (COPIED.has(entry.name)) await copyFile(join(storePath, entry.name), join(dir, entry.name))
      else await linkOrCopy(join(storePath, entry.name), join(dir, entry.name))
    }
    return new Evidence(storePath, dir, dir)
  }

  /** Keep the files (the open found corruption); returns where they are. Idempotent. */
  async keep(): Promise<string | null> {
    if (this.dir !== this.linked) return this.dir
    const kept = join(this.storePath, DAMAGED_PREFIX + stampNow())
    await rename(this.dir, kept)
    this.dir = kept
    return kept
  }

  /**
   * The open was clean: move the links out of the way of the next open, for a history scrub to
   * read and then remove (rm -r); returns where they are, or null when there are none.
   */
  async handOver(): Promise<string | null> {
    if (this.dir !== this.linked) return null
    const to = join(this.storePath, `${SCRUB_PREFIX}${process.pid}-${++handedOver}`)
    await rename(this.dir, to)
    this.dir = null
    return to
  }

  /** The open was clean: remove the links. A kept copy stays. */
  async discard(): Promise<void> {
    if (this.dir !== this.linked) return
    await rm(this.dir, { recursive: true, force: true })
    this.dir = null
  }
}

/**
 * Remove the links of opens, and those handed over to history scrubs, of a process that died
 * before removing them; `own` is this open's (null: none). Call it holding the store's lock.
 * Housekeeping, never a reason to fail an open: the scrub child of a process just killed may
 * still be ending, its LevelDB writing a file in there while the directory is removed
 * (ENOTEMPTY); that is retried, and what is still left is removed by a later open.
 */
export async function removeLeftovers(storePath: string, own: Evidence | null): Promise<void> {
  for (const name of await readdir(storePath)) {
    if (!name.startsWith(SCRUB_PREFIX) && !name.startsWith(BEFORE_OPEN_PREFIX)) continue
    if (own !== null && join(storePath, name) === own.linked) continue
    await rm(join(storePath, name), { recursive: true, force: true, maxRetries: 3, retryDelay: 50 }).catch(() => {})
  }
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // LevelDB deleted it meanwhile (another process holds the store; its lock refuses this open).
    if (code === 'ENOENT') return
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error
    await copyFile(from, to)
  }
}
