// WHARF-BACKUP, the file that makes a directory a backup: what the backup holds (its last seq, its
// identity, how many entries and bytes) and the sha256 of its entries (store-scan.ts). A restore
// recomputes them from the backup's LevelDB and refuses any difference; the file is written last
// into the temporary directory, so a backup without it was never finished.

import { open, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ScanSummary } from './store-scan.js'
import { StorageError } from '../engine/errors.js'

export const MANIFEST_FILE = 'WHARF-BACKUP'
const FORMAT = 'wharf-backup/1'

export interface BackupManifest {
  format: typeof FORMAT
  /** The backup's own store id (also in its LevelDB and its WHARF-END). */
  storeId: string
  /** The store it was taken from, for the record. */
  sourceStoreId: string | null
  seq: number
  keys: number
  bytes: number
  sha256: string
}

export function manifestOf(copied: ScanSummary, storeId: string): BackupManifest {
  return { format: FORMAT, storeId, sourceStoreId: copied.storeId, seq: copied.seq, keys: copied.keys, bytes: copied.bytes, sha256: copied.sha256 }
}

/** Write the manifest into `dir`, synced (the caller syncs the directory). */
export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  const handle = await open(join(dir, MANIFEST_FILE), 'wx')
  try {
    await handle.writeFile(JSON.stringify(manifest, null, 2) + '\n')
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** The manifest of the backup in `dir`; throws a plain Error saying what is wrong with it. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  const text = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`its ${MANIFEST_FILE} file cannot be read (${error.code ?? error.message}): it is not a backup written by wharf.backup(), or an unfinished one`)
  })
  let parsed: Partial<BackupManifest> | null
  try {
    parsed = JSON.parse(text) as Partial<BackupManifest> | null
  } catch {
    parsed = null
  }
  const count = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    parsed.format === FORMAT &&
    typeof parsed.storeId === 'string' &&
    typeof parsed.sha256 === 'string' &&
    count(parsed.seq) &&
    count(parsed.keys) &&
    count(parsed.bytes)
  if (!valid) throw new Error(`its ${MANIFEST_FILE} file is damaged or of an unknown format (expected ${FORMAT})`)
  return parsed as BackupManifest
}

/** Refuse to open `path` as a store when it is a backup: opening recovers the jobs running at its
 * point, writing into it, and restoreBackup() would then refuse it as not whole. */
export async function refuseBackupDir(path: string): Promise<void> {
  if (!(await isBackupDir(path))) return
  throw new StorageError(`the Wharf path ${JSON.stringify(path)} is a backup (it holds ${MANIFEST_FILE}), not a store: opening it would write into it, and it could no longer be restored; restore it with restoreBackup(${JSON.stringify(path)}, targetPath) and open the target`)
}

/** Whether `path` holds a backup's manifest. */
export async function isBackupDir(path: string): Promise<boolean> {
  return (await stat(join(path, MANIFEST_FILE)).catch(() => null)) !== null
}
