// The end-of-log mark: LevelLog's record, outside LevelDB (end-mark-file.ts), of the highest seq
// it has seen durable. LevelDB drops a damaged tail of its write-ahead log on recovery and opens
// without an error, so the log alone cannot tell that acknowledged events are gone; the mark can.
//
// The rule: the mark never claims a seq the log has not made durable — it is written only after
// the write that made it durable (in 'fsync' mode: synced before a call the batch answers
// resolves, and within MARK_INTERVAL_MS for a batch no call waits for; in 'process' mode:
// batched, at most one write per MARK_INTERVAL_MS, off the append's path, never synced, like the
// log's own writes). It may lag the log: it claims a lower bound, which is always safe.
//
// The store's identity (a random id made when the store is created) is kept in both the file and
// LevelDB (STORE_ID_KEY), so a mark file copied from another store is refused, not believed.

import { LogCorruptionError, StorageError } from '../engine/errors.js'
import { MarkFile, markPath, newStoreId, type Mark } from './end-mark-file.js'
import type { Db } from './level-recovery.js'

export const STORE_ID_KEY = 'm:id'
/** A mark no caller waits for ('process' mode, and 'fsync' batches no call waits for): at most
 * one write per this many ms, and only when the log has grown. */
export const MARK_INTERVAL_MS = 100

export interface EndMarkOptions {
  durability: 'process' | 'fsync'
  onCorruption: 'throw' | 'truncate'
  warn: (message: string) => void
}

const DONE: Promise<void> = Promise.resolve()

export class EndMark {
  /** The highest seq the log has told us is durable (advance, lower); >= mark.seq. */
  private target: number
  /** Whether the last write of `mark` was synced. */
  private synced = true
  private pendingSync = false
  private queued: Promise<void> | null = null
  private chain: Promise<void> = DONE
  private timer: NodeJS.Timeout | null = null
  private failureReported = false

  constructor(
    private readonly file: MarkFile,
    /** What the file holds now. */
    private mark: Mark,
    private readonly options: EndMarkOptions,
  ) {
    this.target = mark.seq
  }

  get path(): string {
    return this.file.path
  }

  /** The highest seq the mark says was acknowledged, counting writes not yet made. */
  get claimedSeq(): number {
    return this.target
  }

  /**
   * The log made every event up to `seq` durable. 'fsync', when a caller waits for it
   * (`acknowledges`): resolves once the mark says so on disk. Otherwise schedules a write (synced
   * in 'fsync' mode) within MARK_INTERVAL_MS and returns null (nothing to wait for): a batch no
   * call waits for (handlers' outcomes, starts) needs no synced mark of its own before its effects,
   * and the next batch a caller waits for is marked with every seq before it. Never rejects: a
   * mark that cannot be written lags the log, which is safe; it is reported once.
   */
  advance(seq: number, acknowledges = true): Promise<void> | null {
    if (!Number.isSafeInteger(seq) || seq < this.target) throw new Error(`end-of-log mark: advance to seq ${seq} from ${this.target}`)
    this.target = seq
    const fsync = this.options.durability === 'fsync'
    if (fsync && acknowledges) return this.flush(true).catch((error: unknown) => this.reportFailure(error))
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.flush(fsync).catch((error: unknown) => this.reportFailure(error))
      }, MARK_INTERVAL_MS)
      this.timer.unref()
    }
    return null
  }

  /**
   * The log now ends at `seq` (a truncation, or an accepted loss): lower the mark, synced, before
   * anything else is appended. Returns how many events the mark claimed beyond `seq`. Rejects if
   * the write fails, since the old mark would claim seqs the log no longer has.
   */
  async lower(seq: number): Promise<number> {
    const lost = Math.max(0, this.target - seq)
    if (lost === 0) return 0
    this.target = seq
    await this.flush(true)
    return lost
  }

  /** Write what is pending (not synced in 'process' mode, as the log is not) and close the file. */
  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    try {
      await this.flush(this.options.durability === 'fsync').catch((error: unknown) => this.reportFailure(error))
    } finally {
      await this.file.close()
    }
  }

  /** Close without writing (a failed open). */
  async abandon(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    await this.chain
    await this.file.close()
  }

  /** Group commit: every caller until the queued write starts shares it; it writes `target`. */
  private flush(sync: boolean): Promise<void> {
    this.pendingSync ||= sync
    if (this.queued === null) {
      const run = this.chain.then(() => this.writeNow())
      this.queued = run
      this.chain = run.catch(() => undefined)
    }
    return this.queued
  }

  private async writeNow(): Promise<void> {
    const sync = this.pendingSync
    this.queued = null
    this.pendingSync = false
    if (this.target === this.mark.seq && (this.synced || !sync)) return
    const next: Mark = { storeId: this.mark.storeId, generation: this.mark.generation + 1, seq: this.target }
    await this.file.write(next, sync)
    this.mark = next
    this.synced = sync
  }

  private reportFailure(error: unknown): void {
    if (this.failureReported) return
    this.failureReported = true
    const why = (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error)
    this.options.warn(`cannot write the end-of-log mark ${JSON.stringify(this.path)} (${why}); it stays at seq ${this.mark.seq}, so a loss of later events would go unnoticed`)
  }
}

/**
 * Open the mark of the store in `storePath`, whose log ends at `end` (null: its last record is
 * corrupt, and the truncation that will read it lowers the mark), and check the log against it.
 * With 'throw', a log that ends below its mark is a LogCorruptionError naming the missing seqs.
 *
 *   id in LevelDB | WHARF-END            | outcome
 *   none          | none or unreadable   | a new store, or one older than the mark: create one
 *   none          | valid                | check the log against it, then adopt its id
 *   some          | none or unreadable   | corruption (replaceLostMark)
 *   some          | valid, other id      | StorageError, even with 'truncate'
 *   some          | valid, same id       | check the log against it
 */
export async function openEndMark(db: Db, storePath: string, end: number | null, floor: number, options: EndMarkOptions): Promise<EndMark> {
  const path = markPath(storePath)
  const stored = await db.get(STORE_ID_KEY)
  const storeId = stored === undefined ? null : Buffer.from(stored).toString('utf8')
  const known = end ?? floor
  const found = await MarkFile.open(path)
  if (found === null || found.mark === null) {
    await found?.file.close()
    if (storeId === null) return createMark(db, path, known, options)
    return replaceLostMark(path, storeId, known, found === null ? 'is missing' : 'is unreadable (no valid slot)', options)
  }
  if (storeId !== null && found.mark.storeId !== storeId) {
    await found.file.close()
    throw new StorageError(
      `the end-of-log mark ${JSON.stringify(path)} belongs to another store (id ${found.mark.storeId}; this store is ${storeId}): the mark file or the LevelDB files were copied from elsewhere. Put back this store's own ${JSON.stringify(path)}; if it is lost, delete the file and open with onCorruption: 'truncate' to start a new mark at the log's end`,
    )
  }
  const mark = new EndMark(found.file, found.mark, options)
  try {
    if (end !== null) await checkEnd(mark, end, options)
    // A mark whose id LevelDB lacks: the creation stopped between the file and the key, or
    // LevelDB lost its contents (a rebuild by 'truncate' that salvaged nothing). Checked first,
    // so the second is reported, not adopted.
    if (storeId === null) await db.put(STORE_ID_KEY, Buffer.from(found.mark.storeId), { sync: true })
  } catch (error) {
    await mark.abandon()
    throw error
  }
  return mark
}

/**
 * A new store, or one written before the mark existed: a mark at the end of its log. File first,
 * then the key, so that a store with an id in LevelDB always had a mark file.
 */
async function createMark(db: Db, path: string, known: number, options: EndMarkOptions): Promise<EndMark> {
  const mark: Mark = { storeId: newStoreId(), generation: 0, seq: known }
  const file = await MarkFile.create(path, mark)
  try {
    await db.put(STORE_ID_KEY, Buffer.from(mark.storeId), { sync: true })
  } catch (error) {
    await file.close()
    throw error
  }
  return new EndMark(file, mark, options)
}

async function checkEnd(mark: EndMark, end: number, options: EndMarkOptions): Promise<void> {
  const acknowledged = mark.claimedSeq
  if (acknowledged <= end) return
  const what = `the log ends at seq ${end} but seq ${acknowledged} was acknowledged (end-of-log mark in ${JSON.stringify(mark.path)}): events ${end + 1}..${acknowledged} are missing`
  if (options.onCorruption === 'throw') {
    throw new LogCorruptionError(`corrupt event log at seq ${end + 1}: ${what}; open with onCorruption: 'truncate' to accept the loss`, end + 1)
  }
  const lost = await mark.lower(end)
  options.warn(`corrupt event log at seq ${end + 1}: ${what}; accepted (onCorruption: 'truncate'): ${lost} acknowledged event(s) lost, the end-of-log mark now says seq ${end}`)
}

/**
 * The store was created with a mark (its id is in LevelDB) but the file is gone or spoilt. That is
 * corruption, not a fresh start: a store that lost a file from its directory (a partial copy, a
 * disk fault) may have lost log files with it, and making a new mark silently would hide exactly
 * the loss the mark exists to show. 'truncate' accepts it and starts a new mark at the log's end.
 */
async function replaceLostMark(path: string, storeId: string, known: number, why: string, options: EndMarkOptions): Promise<EndMark> {
  const what = `the end-of-log mark ${JSON.stringify(path)} ${why}; this store was created with one, and without it a lost tail of the log cannot be detected`
  if (options.onCorruption === 'throw') {
    throw new LogCorruptionError(`corrupt event log at seq ${known + 1}: ${what}. Put the file back (a copy of a store must include it), or open with onCorruption: 'truncate' to accept the log as it is (it ends at seq ${known})`, known + 1)
  }
  const mark: Mark = { storeId, generation: 0, seq: known }
  const file = await MarkFile.create(path, mark)
  options.warn(`${what}; wrote a new one at the log's end, seq ${known} (onCorruption: 'truncate'): events acknowledged after it, if any, cannot be checked`)
  return new EndMark(file, mark, options)
}
