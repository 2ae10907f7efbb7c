// wharf.backup(dir): a consistent copy of a running store, written while handlers and appends go
// on. Design:
//
// - One committed point. All of the copy is read through one LevelDB iterator, whose implicit
//   snapshot LevelDB takes synchronously when it is created. Every write of the log is one atomic
//   LevelDB batch (a record with the history it projects; compaction's deletes with the floor
//   they move), so that snapshot holds whole batches only and history that matches its log. The
//   append chain is never held: appends land beside the snapshot, unseen by it.
// - The mark from the copy, not from the live log. The backup's end-of-log mark is the last seq
//   the copied records hold, so it is exactly the point copied — never the live mark, which may
//   lag (process mode) or run ahead of the snapshot.
// - A new identity. The store id pairs a WHARF-END with its LevelDB. A backup that kept the
//   source's id would accept the source's mark file (and the source the backup's): a lower mark
//   paired with a longer log passes silently, which is the pairing the id exists to refuse. From
//   the backup on, the two are different logs, so the backup gets its own id (and its manifest
//   records the source's). A restore gives each restored store a new id again (restore.ts).
// - Published whole. Written into a temporary sibling, synced, its manifest last, then renamed
//   (fresh-dir.ts): nothing at `dir` ever looks like a backup unless it is one.

import { randomBytes } from 'node:crypto'
import { rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { StorageError } from '../engine/errors.js'
import { isBackupDir, manifestOf, writeManifest } from './backup-manifest.js'
import { checkFreshTarget, checkOutside, checkPathArg, publishDirectory } from './fresh-dir.js'
import { LevelLog } from './level-log.js'
import { restoreBackup } from './restore.js'
import { copyStore } from './store-copy.js'

/** What backup() wrote. */
export interface BackupResult {
  /** The backup directory, as given. */
  path: string
  /** The last event it holds: the backup is the log up to this seq, with its history. */
  seq: number
  /** LevelDB entries copied (log records, snapshot, history views and indexes, metadata). */
  keys: number
  /** Bytes of those keys and values. */
  bytes: number
  /** The backup's own store id (see above). */
  storeId: string
}

/** The backup directory, as refusals name it. */
const BACKUP_DIR = 'backup(): the backup directory'

/** Back up the open store of `log` into `dir` (new, or an empty directory). */
export async function backupLevelLog(log: LevelLog, dir: string): Promise<BackupResult> {
  await checkFreshTarget(dir, BACKUP_DIR)
  await checkOutside(dir, log.path, BACKUP_DIR)
  return publishDirectory(dir, BACKUP_DIR, async (temp) => {
    // Taken now, after the checks: this is the point the backup holds.
    const source = log.snapshotIterator()
    const copied = await copyStore(source, temp, log.path)
    const manifest = manifestOf(copied.source, copied.storeId)
    await writeManifest(temp, manifest)
    return { path: dir, seq: manifest.seq, keys: manifest.keys, bytes: manifest.bytes, storeId: copied.storeId }
  })
}

/**
 * Back up the store at `storePath`, which no process holds (the coming `wharf backup --path`):
 * opened as a log only — no engine, so nothing is replayed or recovered, and nothing appended —
 * which also checks it (end-of-log mark, last record) before anything is copied.
 */
export async function backupStore(storePath: string, dir: string): Promise<BackupResult> {
  checkPathArg(storePath, 'backupStore(): the store path')
  await checkFreshTarget(dir, 'backupStore(): the backup directory')
  // LevelLog.open creates a store where there is none: refuse that here instead.
  const found = await stat(join(storePath, 'CURRENT')).catch(() => null)
  if (found === null) throw new StorageError(`backupStore(): ${JSON.stringify(storePath)} holds no Wharf store (no LevelDB CURRENT file); nothing was written`)
  // Before the open below, which rewrites the store's files (a new MANIFEST and write-ahead log).
  await checkOutside(dir, storePath, 'backupStore(): the backup directory')
  if (await isBackupDir(storePath)) return backupOfBackup(storePath, dir)
  const log = new LevelLog(storePath)
  await log.open()
  try {
    return await backupLevelLog(log, dir)
  } finally {
    await log.close()
  }
}

/**
 * A backup as the source: LevelDB's open rewrites a store's files (its write-ahead log becomes a
 * table), so the backup is never opened. It is restored into a scratch sibling of `dir` — which
 * checks it entry by entry against its manifest, as restoreBackup does — and that is backed up.
 */
async function backupOfBackup(backupDir: string, dir: string): Promise<BackupResult> {
  const scratch = join(dirname(dir), `${basename(dir)}.tmp-source-${randomBytes(6).toString('hex')}`)
  try {
    await restoreBackup(backupDir, scratch).catch((error: unknown) => {
      // A refusal says nothing was written at the scratch directory: nor was anything at `dir`.
      if (error instanceof Error) error.message = error.message.replace(JSON.stringify(scratch), JSON.stringify(dir))
      throw error
    })
    return await backupStore(scratch, dir)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
