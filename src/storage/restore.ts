// restoreBackup(backupDir, targetPath): put a backup written by wharf.backup() in place as a store.
// The backup itself is only read, never opened by LevelDB (opening recovers a write-ahead log and
// would rewrite a damaged one, losing the evidence): its files are copied into a temporary sibling
// of the target, that copy is opened and checked entry by entry against the backup's manifest and
// end-of-log mark, given an identity of its own (backup.ts says why), and only then renamed into
// place. A damaged backup is refused with an InvalidBackupError naming it; nothing appears at the
// target.

import { copyFile, open, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { InvalidBackupError } from '../engine/errors.js'
import { MANIFEST_FILE, readManifest, type BackupManifest } from './backup-manifest.js'
import { decodeMarkFile, MARK_FILE, newStoreId, type Mark } from './end-mark-file.js'
import { checkFreshTarget, checkOutside, checkPathArg, publishDirectory } from './fresh-dir.js'
import { openRawDb, sealStore } from './store-copy.js'
import { StoreScan, type ScanSummary } from './store-scan.js'

/** What restoreBackup() put in place. */
export interface RestoreResult {
  /** The restored store, as given: open it with Wharf.open({ path }). */
  path: string
  /** The last event it holds (the backup's). */
  seq: number
  keys: number
  bytes: number
  /** The restored store's own id. */
  storeId: string
}

/** The target, as refusals name it. */
const TARGET = 'restoreBackup(): the target directory'

/** LevelDB's lock file: the copy makes its own. */
const SKIPPED = new Set([MANIFEST_FILE, MARK_FILE, 'LOCK'])

/**
 * Restore the backup in `backupDir` (written by wharf.backup()) as a new store at `targetPath`,
 * which must be new or an empty directory. Refuses a damaged or incomplete backup with an
 * InvalidBackupError naming it, and writes nothing at the target then.
 */
export async function restoreBackup(backupDir: string, targetPath: string): Promise<RestoreResult> {
  checkPathArg(backupDir, 'restoreBackup(): the backup directory')
  await checkFreshTarget(targetPath, TARGET)
  await checkOutside(targetPath, backupDir, TARGET)
  const refuse = (why: string, cause?: unknown): InvalidBackupError =>
    new InvalidBackupError(backupDir, `${why}; nothing was written at ${JSON.stringify(targetPath)}`, { cause })
  const { manifest, mark, files } = await readBackup(backupDir).catch((error: unknown) => {
    throw refuse((error as Error).message, error)
  })
  return publishDirectory(targetPath, TARGET, async (temp) => {
    await copyFiles(backupDir, temp, files)
    const db = openRawDb(temp, false)
    try {
      let found: ScanSummary
      try {
        await db.open()
        found = await scanAll(db, backupDir)
        checkAgainst(found, manifest, mark)
      } catch (error) {
        throw refuse((error as Error)?.message ?? String(error), error)
      }
      const storeId = newStoreId()
      await sealStore(db, temp, storeId, found.seq)
      return { path: targetPath, seq: found.seq, keys: found.keys, bytes: found.bytes, storeId }
    } finally {
      await db.close() // sealStore closed it already, unless something failed first
    }
  })
}

/** The backup's manifest, mark and LevelDB files, read without opening it. */
async function readBackup(dir: string): Promise<{ manifest: BackupManifest; mark: Mark; files: string[] }> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`it cannot be read (${error.code ?? error.message})`)
  })
  if (!info.isDirectory()) throw new Error('it is not a directory')
  const manifest = await readManifest(dir)
  const mark = decodeMarkFile(await readFile(join(dir, MARK_FILE)).catch(() => new Uint8Array(0)))
  if (mark === null) throw new Error(`its end-of-log mark ${MARK_FILE} is missing or damaged`)
  const entries = await readdir(dir, { withFileTypes: true })
  const odd = entries.find((e) => !e.isFile())
  if (odd !== undefined) throw new Error(`it holds ${JSON.stringify(odd.name)}, which is not a file (a backup is one flat directory)`)
  const files = entries.map((e) => e.name).filter((name) => !SKIPPED.has(name))
  if (!files.includes('CURRENT')) throw new Error('it has no LevelDB CURRENT file')
  return { manifest, mark, files }
}

/** Copy `files` from `from` into `to`, each synced (the caller syncs the directory). */
async function copyFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const name of files) {
    await copyFile(join(from, name), join(to, name))
    const handle = await open(join(to, name), 'r+')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
}

async function scanAll(db: ReturnType<typeof openRawDb>, where: string): Promise<ScanSummary> {
  const scan = new StoreScan(where)
  for await (const [key, value] of db.iterator()) scan.add(key, value)
  return scan.finish()
}

/** The copy must hold exactly what the backup wrote: same entries, same point, same identity. */
function checkAgainst(found: ScanSummary, manifest: BackupManifest, mark: Mark): void {
  const differences = manifestDifferences(found, manifest, mark)
  if (differences.length > 0) throw new Error(`what it holds differs from its manifest: ${differences.join('; ')}`)
}

/** How what a scan of a backup found differs from its manifest and end-of-log mark (`wharf
 * verify` of a backup says the same); empty when it holds exactly what the backup wrote. */
export function manifestDifferences(found: ScanSummary, manifest: BackupManifest, mark: Mark | null): string[] {
  const differences: string[] = []
  const compare = (what: string, got: unknown, want: unknown): void => {
    if (got !== want) differences.push(`${what}: ${JSON.stringify(got)}, the manifest says ${JSON.stringify(want)}`)
  }
  compare('entries', found.keys, manifest.keys)
  compare('bytes', found.bytes, manifest.bytes)
  compare('last seq', found.seq, manifest.seq)
  compare('store id', found.storeId, manifest.storeId)
  compare('sha256 of the entries', found.sha256, manifest.sha256)
  if (mark !== null) {
    compare(`${MARK_FILE} seq`, mark.seq, manifest.seq)
    compare(`${MARK_FILE} store id`, mark.storeId, manifest.storeId)
  }
  return differences
}
