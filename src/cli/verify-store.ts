// `wharf verify`'s checks of a store no process holds, run on a private copy of it
// (store-copy-for-reading.ts: LevelDB has no read-only open, and its open rewrites files). Each
// check collects every problem it finds instead of stopping at the first, with the storage layer's
// own decoders and checks, so verify refuses exactly what an open would:
//
// 1. LevelDB can read every entry (in a child process: a damaged table can abort the reader).
// 2. The log: every record's header and CRC (decodeBatch), records following each other from the
//    compaction floor, the snapshot's CRC and place; keys outside every range Wharf writes.
// 3. The end-of-log mark: present, this store's, and not past the end of the log.
// 4. History: every finished job's view (CRC), its index keys and counts (history-check.ts).
// 5. When the log is whole: the replay an open does, with checkInvariants (engine-open.ts).
// 6. A backup (it holds WHARF-BACKUP): that it holds exactly what its manifest says, as
//    restoreBackup checks it — else verify would pass a backup that restore refuses.

import { readFile } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { parseChannelConfig } from '../engine/core/channel-config.js'
import { LogCorruptionError, StorageLockedError, WharfError } from '../engine/errors.js'
import { openAndReplay } from '../engine/runtime/engine-open.js'
import { decodeBatch, decodeSnapshot } from '../storage/codec.js'
import { STORE_ID_KEY } from '../storage/end-mark.js'
import { decodeMarkFile, markPath, MARK_FILE } from '../storage/end-mark-file.js'
import { findHistoryDamage } from '../storage/history-repair.js'
import { isBackupDir, MANIFEST_FILE, readManifest, type BackupManifest } from '../storage/backup-manifest.js'
import { manifestDifferences } from '../storage/restore.js'
import { StoreScan } from '../storage/store-scan.js'
import { levelChild } from '../storage/level-child.js'
import { LevelLog } from '../storage/level-log.js'
import { checkWharfKeys } from '../storage/level-path.js'
import { FIRST_KEY, FLOOR_KEY, LAST_KEY, SNAPSHOT_KEY, seqOfKey, type Db } from '../storage/level-recovery.js'
import { allStrayKeys } from '../storage/stray-keys.js'
import { refusalOf } from './client.js'
import { checkStorePath, CLI_CHANNELS } from './local-client.js'
import { lockHolder } from './store-lock.js'
import { copyForReading } from './store-copy-for-reading.js'

/** Items of one kind named in a problem, at most (the count says how many more). */
const LISTED_MAX = 20

export interface LogSummary {
  /** Batch records in the log. */
  records: number
  /** Events in the readable records. */
  events: number
  /** Seqs up to this one were compacted into the snapshot (0: none). */
  floorSeq: number
  /** The last seq of the last readable record (the floor when there is none). */
  lastSeq: number
  snapshotSeq: number | null
}

export interface StoreCheck {
  path: string
  log: LogSummary | null
  /** The seq the end-of-log mark says was acknowledged; null without a readable mark. */
  markSeq: number | null
  /** Readable finished-job views in history. */
  finished: number | null
  /** Jobs in memory after the replay (not finished); null when the replay did not run. */
  live: number | null
  /** A backup's comparison with its manifest (restore.ts); null for a store that is not a backup. */
  backup: { manifest: 'matches' | 'differs' | 'unreadable'; keys: number | null; seq: number | null } | null
  problems: string[]
}

const LOCKED_HINT = 'verify reads a store nobody writes: stop the app first, or verify a backup of it (`await wharf.backup(dir)`, then `wharf verify --path dir`)'

/** Check the store at `path`; throws a Refusal when it cannot be checked at all (none there, in use). */
export async function checkStore(path: string): Promise<StoreCheck> {
  const found = await checkStorePath(path)
  const check: StoreCheck = { path, log: null, markSeq: null, finished: null, live: null, backup: null, problems: [] }
  if (found.kind === 'damaged') {
    check.problems.push(`LevelDB cannot open the store: ${found.why}`)
    return check
  }
  const pid = await lockHolder(path)
  if (pid !== null) throw refusalOf(new StorageLockedError(path), `process ${pid} holds it; ${LOCKED_HINT}`)
  const copy = await copyForReading(path, LOCKED_HINT)
  try {
    await checkCopy(copy.dir, check)
  } finally {
    await copy.remove()
  }
  return check
}

async function checkCopy(dir: string, check: StoreCheck): Promise<void> {
  const scan = await levelChild('scan', dir)
  if (!scan.ok) {
    check.problems.push(`LevelDB cannot read every entry of the store (${scan.message}); nothing more was checked`)
    return
  }
  const db: Db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false })
  await db.open()
  let logWhole: boolean
  try {
    // Another program's LevelDB is refused as an open refuses it, not checked as a damaged store.
    await checkWharfKeys(db, check.path).catch((error: unknown) => {
      throw error instanceof WharfError ? refusalOf(error) : error
    })
    const before = check.problems.length
    check.log = await checkLog(db, check.path, check.problems)
    await checkStrayKeys(db, check.problems)
    check.markSeq = await checkMark(db, dir, check.log.lastSeq, check.problems)
    logWhole = check.problems.length === before
    check.finished = await checkHistory(db, check.problems)
    if (await isBackupDir(dir)) check.backup = await checkManifest(db, dir, check.problems)
  } finally {
    await db.close()
  }
  if (logWhole) await replayCopy(dir, check)
  else check.problems.push('the log was not replayed (the problems above stop an open)')
}

/** Every record decoded (header, CRC, body), in order from the floor; the snapshot decoded and placed. */
async function checkLog(db: Db, where: string, problems: string[]): Promise<LogSummary> {
  const floorText = Buffer.from((await db.get(FLOOR_KEY)) ?? Buffer.from('0')).toString('utf8')
  const floorSeq = /^\d{1,16}$/.test(floorText) ? Number(floorText) : 0
  if (String(floorSeq) !== floorText) problems.push(`the compaction floor (key ${JSON.stringify(FLOOR_KEY)}) holds ${JSON.stringify(floorText.slice(0, 40))}, not a seq`)
  const log: LogSummary = { records: 0, events: 0, floorSeq, lastSeq: floorSeq, snapshotSeq: null }
  // After an unreadable record the next one cannot be checked against it, only against its key.
  let after: { seq: number; exact: boolean } = { seq: floorSeq, exact: true }
  for await (const [key, value] of db.iterator({ gte: FIRST_KEY, lte: LAST_KEY })) {
    log.records++
    let keySeq: number | null = null
    try {
      keySeq = seqOfKey(key, after.seq + 1, where)
      const events = decodeBatch(value, keySeq, where)
      const first = events[0]!.seq
      if (first <= after.seq || (after.exact && first !== after.seq + 1)) {
        const what = first > after.seq + 1 ? `events ${after.seq + 1}..${first - 1} are missing` : 'the record overlaps the previous one'
        problems.push(`corrupt event log at seq ${after.seq + 1}: ${what} (the next record starts at seq ${first})`)
      }
      log.events += events.length
      log.lastSeq = events[events.length - 1]!.seq
      after = { seq: log.lastSeq, exact: true }
    } catch (error) {
      if (!(error instanceof LogCorruptionError)) throw error
      problems.push(error.message)
      after = { seq: Math.max(after.seq, keySeq ?? after.seq), exact: false }
    }
  }
  await checkSnapshot(db, where, log, problems)
  return log
}

async function checkSnapshot(db: Db, where: string, log: LogSummary, problems: string[]): Promise<void> {
  const bytes = await db.get(SNAPSHOT_KEY)
  if (bytes === undefined) {
    if (log.floorSeq > 0) problems.push(`events up to seq ${log.floorSeq} were compacted into a snapshot, but there is no snapshot: the jobs they held are lost`)
    return
  }
  try {
    log.snapshotSeq = decodeSnapshot(bytes, where).seq
  } catch (error) {
    if (!(error instanceof LogCorruptionError)) throw error
    problems.push(error.message)
    return
  }
  if (log.snapshotSeq < log.floorSeq) problems.push(`the snapshot is at seq ${log.snapshotSeq}, below the compaction floor (seq ${log.floorSeq}): events between them are lost`)
  if (log.snapshotSeq > log.lastSeq) problems.push(`the snapshot is at seq ${log.snapshotSeq}, past the end of the log (seq ${log.lastSeq})`)
}

async function checkStrayKeys(db: Db, problems: string[]): Promise<void> {
  const stray = await allStrayKeys(db)
  if (stray.length === 0) return
  problems.push(`${stray.length} key(s) lie outside every range Wharf writes (garbled keys of a damaged table; what they held is missing where it belongs): ${listed(stray.map((k) => JSON.stringify(k)))}`)
}

/** The mark's seq; problems when it is missing, another store's, or past the log's end. */
async function checkMark(db: Db, dir: string, lastSeq: number, problems: string[]): Promise<number | null> {
  const id = await db.get(STORE_ID_KEY)
  const storeId = id === undefined ? null : Buffer.from(id).toString('utf8')
  const bytes = await readFile(markPath(dir)).catch(() => null)
  const mark = bytes === null ? null : decodeMarkFile(bytes)
  if (mark === null) {
    // A store without an id was written before the mark existed: it never had one.
    if (storeId !== null) problems.push(`the end-of-log mark ${MARK_FILE} is ${bytes === null ? 'missing' : 'unreadable'}: a lost tail of the log cannot be detected`)
    return null
  }
  if (storeId !== null && mark.storeId !== storeId) problems.push(`the end-of-log mark ${MARK_FILE} belongs to another store (id ${mark.storeId}; this store is ${storeId})`)
  else if (mark.seq > lastSeq) problems.push(`the log ends at seq ${lastSeq} but seq ${mark.seq} was acknowledged (end-of-log mark): events ${lastSeq + 1}..${mark.seq} are missing`)
  return mark.seq
}

/** Readable views; every damaged view, orphan or missing index entry and wrong count as a problem. */
async function checkHistory(db: Db, problems: string[]): Promise<number> {
  const { damage, views } = await findHistoryDamage(db)
  problems.push(...damage.problems())
  return views
}

/** A backup against its manifest and end-of-log mark, entry by entry (what restoreBackup checks). */
async function checkManifest(db: Db, dir: string, problems: string[]): Promise<NonNullable<StoreCheck['backup']>> {
  let manifest: BackupManifest
  try {
    manifest = await readManifest(dir)
  } catch (error) {
    problems.push(`the backup's manifest cannot be read: ${(error as Error).message}; restore would refuse it`)
    return { manifest: 'unreadable', keys: null, seq: null }
  }
  const scan = new StoreScan(dir)
  let differences: string[]
  try {
    // Raw keys, as a backup digested them (a garbled key is not valid UTF-8).
    for await (const [key, value] of db.iterator<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })) scan.add(key, value)
    const mark = await readFile(markPath(dir)).then(decodeMarkFile, () => null)
    differences = manifestDifferences(scan.finish(), manifest, mark)
  } catch (error) {
    if (!(error instanceof LogCorruptionError)) throw error
    // The log's damage is named above; it also stops the comparison.
    differences = [`it cannot be compared entry by entry (${error.message})`]
  }
  if (differences.length > 0) problems.push(`the backup differs from its manifest ${MANIFEST_FILE}: ${differences.join('; ')}`)
  return { manifest: differences.length > 0 ? 'differs' : 'matches', keys: manifest.keys, seq: manifest.seq }
}

/** The replay and audit an open does (no recovery: nothing is appended), on the copy. */
async function replayCopy(dir: string, check: StoreCheck): Promise<void> {
  const warnings: string[] = []
  const log = new LevelLog(dir, { onCorruption: 'throw', onWarning: (message) => warnings.push(message) })
  try {
    const replayed = await openAndReplay(log, parseChannelConfig(CLI_CHANNELS))
    check.live = replayed.state.jobs.size
    await log.close()
  } catch (error) {
    warnings.push((error as Error)?.message ?? String(error))
  }
  // The copy's path means nothing to the caller: name the store.
  check.problems.push(...warnings.map((w) => `replay: ${w.replaceAll(dir, check.path)}`))
}

function listed(items: readonly string[]): string {
  return items.slice(0, LISTED_MAX).join(', ') + (items.length > LISTED_MAX ? `, and ${items.length - LISTED_MAX} more` : '')
}
