// The durable EventLog, on LevelDB (classic-level). One record per committed batch (group commit):
// a batch is durable or absent as a whole, because one LevelDB write is atomic.
//
// Keys (utf8, so they sort the same in every abstract-level backend):
//   e<16-digit zero-padded first seq>   one batch record (codec.ts), in seq order
//   m:floor                             last seq deleted by compaction, decimal (absent: 0)
//   s                                   the latest snapshot record (codec.ts)
//   m:id                                the store's identity, also in its end-of-log mark
//
// Beside LevelDB, the file WHARF-END holds the end-of-log mark (end-mark.ts): the highest seq
// known durable, checked on open, because LevelDB silently drops a damaged tail of its WAL.
//
// Writes go through one promise chain, so a batch is checked against the end of the log only
// after every earlier write has landed (or failed, leaving nothing behind). Opening the store
// directory safely — no database created over files, the files before the open kept aside while
// it runs, a store LevelDB cannot read whole rebuilt — lives in level-open.ts; truncating the log
// in level-recovery.ts; history's audit in history-repair.ts; stray keys in stray-keys.ts.

import { rm } from 'node:fs/promises'
import type { WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import { LogCorruptionError, StorageError } from '../engine/errors.js'
import { claimedSnapshotSeq, decodeBatch, decodeSnapshot, encodeBatch, encodeSnapshot, encodeSnapshotInTurns, inspectRecord } from './codec.js'
import { openEndMark, type EndMark } from './end-mark.js'
import { checkCompaction, checkSnapshotSeq, type Acknowledgement, type DecidedTick, type EventLog, type Snapshot } from './event-log.js'
import { NO_HISTORY_WRITE, type HistoryScrub, type HistoryWrite, type ScrubOptions } from './history.js'
import { LevelHistory } from './level-history.js'
import { checkLevelLogArgs } from './level-log-options.js'
import { LeanBatch } from './lean-batch.js'
import { auditHistory } from './history-repair.js'
import { scrubDone, scrubInChild } from './history-scrub.js'
import { removeLeftovers, type Evidence } from './evidence.js'
import { checkStrayKeys } from './stray-keys.js'
import { checkWharfKeys } from './level-path.js'
import { refuseBackupDir } from './backup-manifest.js'
import { isLevelCorruption, isLevelError } from './level-corruption.js'
import { namedLevelError, openLevelStore, rebuild } from './level-open.js'
import { FIRST_KEY, FLOOR_KEY, LAST_KEY, SNAPSHOT_KEY, planSnapshotBase, planTruncation, recordKey, seqOfKey, type Db, type Op } from './level-recovery.js'

export { recordKey }

export interface LevelLogOptions {
  /**
   * 'process' (default): survives kill -9; the end-of-log mark is written at most every 100 ms.
   * 'fsync': every write is synced, survives power loss; the mark is synced before append resolves.
   */
  durability?: 'process' | 'fsync'
  /**
   * 'throw' (default): a corrupt record, or a log that ends below its end-of-log mark, fails.
   * 'truncate': drop the corrupt record and all after it; accept a lost tail; both warned.
   */
  onCorruption?: 'throw' | 'truncate'
  /** Told about every recovery 'truncate' performs. Default: process.emitWarning. */
  onWarning?: (message: string) => void
  /**
   * Keep the store's files as they were before a clean open (linked aside by every open) for
   * scrubHistory() to check, instead of removing them once the log has been read (default false;
   * Wharf.open passes its own scrubHistory option, default true). Unused, they go at close.
   */
  scrubHistory?: boolean
  /**
   * Refuse a backup (a directory holding WHARF-BACKUP) with a StorageError before anything is
   * written (default false; Wharf.open passes true). Opening one recovers the jobs running at its
   * point, which writes into it, and restoreBackup() then refuses it as not whole. Backup and
   * verify, which only read, open backups.
   */
  refuseBackup?: boolean
}

/** Records fetched per native round trip while reading. */
const READ_CHUNK = 64
/** What one such round trip may hold (classic-level's highWaterMarkBytes, a soft limit: it stops
 * after passing it). Its default, 16 KiB, is about one record of 256 lifecycle events, so a
 * nextv(READ_CHUNK) came back with two records: 1,470 thread-pool round trips to replay a
 * million events (3,908 records), 82 with this bound. */
const READ_CHUNK_BYTES = 1 << 20
/** Records deleted per atomic compaction batch (each batch also moves the floor, so any prefix of
 * the batches is a consistent log). */
const COMPACT_CHUNK = 1000

type Lifecycle = 'closed' | 'opening' | 'open' | 'closing'

export class LevelLog implements EventLog {
  readonly path: string
  private readonly onCorruption: 'throw' | 'truncate'
  private readonly warn: (message: string) => void
  private readonly writeOptions: { sync: boolean }
  private readonly durability: 'process' | 'fsync'
  private mark: EndMark | null = null
  /** The store's files before this open, until it is known whether it met corruption. */
  private evidence: Evidence | null = null
  private corruptionSeen = false
  private readonly scrubWanted: boolean
  private readonly refuseBackup: boolean
  /** After a clean open: the files from before it, for the history scrub (which removes them). */
  private scrubCopy: string | null = null
  /** 'truncate' checked (and repaired) all of history at this open: the views it read. */
  private audited: number | null = null
  private scrub: HistoryScrub | null = null
  private lifecycle: Lifecycle = 'closed'
  private db: Db | null = null
  /** null: the last record is corrupt and a read must recover it before anything is appended. */
  private lastSeq: number | null = 0
  private floorSeq = 0
  /** The seq of the snapshot this process wrote last (compact need not read it back: it can
   * hold every live job); null when the store's snapshot is another's. */
  private writtenSnapshotSeq: number | null = null
  private writes: Promise<unknown> = Promise.resolve()
  /**
   * A write LevelDB failed (a full disk): nothing more is written until the store is opened
   * again. LevelDB 1.20 does not stop by itself, but its write-ahead log writer counts a record
   * that failed half-written as written, so every record after it lands misaligned and the next
   * open drops them all: acknowledged writes, lost (without an error when the end-of-log mark
   * had not caught up). Its own open reads the log up to the failed record, which is its end.
   */
  private failedWrite: unknown = null
  /** A warning that reports no recovery (this.warn's do). */
  private readonly notice: (message: string) => void
  /** LevelDB's compaction of the records the last compact() deleted (never rejects). */
  private tidying: Promise<void> = Promise.resolve()
  readonly history: LevelHistory

  constructor(path: string, options: LevelLogOptions = {}) {
    checkLevelLogArgs(path, options)
    this.path = path
    this.history = new LevelHistory(() => this.requireDb(), path)
    this.onCorruption = options.onCorruption ?? 'throw'
    const warn = options.onWarning ?? ((m) => process.emitWarning(m, { code: 'WHARF_LOG_RECOVERED' }))
    // Every warning reports a recovery: the files from before this open are kept (settleEvidence).
    this.warn = (message) => {
      this.corruptionSeen = true
      warn(message)
    }
    this.notice = warn
    this.durability = options.durability ?? 'process'
    this.writeOptions = { sync: this.durability === 'fsync' }
    this.scrubWanted = options.scrubHistory ?? false
    this.refuseBackup = options.refuseBackup ?? false
  }

  async open(): Promise<void> {
    if (this.lifecycle !== 'closed') throw new Error(`the event log at ${JSON.stringify(this.path)} is already ${this.lifecycle}`)
    this.lifecycle = 'opening'
    this.corruptionSeen = false
    this.failedWrite = null
    this.audited = null
    try {
      if (this.refuseBackup) await refuseBackupDir(this.path)
      for (let attempt = 1; this.db === null; attempt++) {
        const opened = await openLevelStore(this.path, { onCorruption: this.onCorruption, warn: this.warn })
        this.evidence = opened.evidence
        try {
          await this.load(opened.db)
          this.db = opened.db
        } catch (error) {
          await this.mark?.abandon()
          this.mark = null
          await opened.db.close()
          // 'truncate' read every entry before opening, but a seek can still meet a damaged block
          // that the read passed: rebuild, once, as if the read had failed.
          if (attempt > 1 || this.onCorruption !== 'truncate' || !isLevelCorruption(error)) throw this.named(error)
          await rebuild(this.path, `LevelDB cannot read every entry (${(error as Error).message})`, this.evidence, { onCorruption: this.onCorruption, warn: this.warn })
          this.evidence = null
        }
      }
      this.lifecycle = 'open'
    } catch (error) {
      this.lifecycle = 'closed'
      await this.settleEvidence(error)
      throw error
    }
  }

  /** Everything open reads before the log itself: bounds, mark, history (with 'truncate', repaired). */
  private async load(db: Db): Promise<void> {
    await checkWharfKeys(db, this.path)
    await checkStrayKeys(db, this.path, this.onCorruption, this.warn)
    await this.loadBounds(db)
    const empty = this.lastSeq === 0 && this.floorSeq === 0 && (await db.get(SNAPSHOT_KEY)) === undefined
    this.mark = await openEndMark(db, this.path, this.lastSeq, this.floorSeq, { durability: this.durability, onCorruption: this.onCorruption, warn: this.warn })
    await removeLeftovers(this.path, this.evidence) // of a process that died opening or scrubbing; the lock is ours now
    if (this.onCorruption === 'truncate') this.audited = await auditHistory(db, this.path, this.warn)
    await this.history.load(db, empty, this.writeOptions)
  }

  /** LevelDB's own errors escape named (its corruption as LogCorruptionError), never raw. */
  private named(error: unknown): unknown {
    const named = namedLevelError(error, this.path)
    if (named instanceof LogCorruptionError) this.corruptionSeen = true
    return named
  }

  /** A corruption met after open (reading the log): named, and the files from before it kept. */
  private async failed(error: unknown): Promise<unknown> {
    const named = this.named(error)
    if (named instanceof LogCorruptionError) await this.settleEvidence(named)
    return named
  }

  /**
   * After the open failed, or once the log has been read (first append or close): keep the files
   * from before this open if it met corruption, else remove them. Named in a corruption error.
   */
  private async settleEvidence(error?: unknown): Promise<void> {
    const evidence = this.evidence
    if (evidence === null) return
    this.evidence = null
    if (error instanceof LogCorruptionError) this.corruptionSeen = true
    if (!this.corruptionSeen) {
      // A clean open: the files from before it are the state it opened, for the history scrub.
      if (this.scrubWanted && this.audited === null) this.scrubCopy = await evidence.handOver()
      else await evidence.discard()
      return
    }
    const kept = await evidence.keep()
    if (error instanceof LogCorruptionError && kept !== null) error.message += `; the store's files as they were before this open are kept in ${JSON.stringify(kept)}`
    else if (kept !== null) this.warn(`the Wharf store ${JSON.stringify(this.path)} was recovered; its files as they were before this open are kept in ${JSON.stringify(kept)}`)
  }

  async append(batch: readonly WharfEvent[], history: HistoryWrite = NO_HISTORY_WRITE): Promise<void> {
    await (await this.appendDurable(batch, history))?.acknowledged
  }

  /** append() that resolves once the batch is durable, with the end-of-log mark's write that
   * acknowledges it still to settle ('fsync' mode: a second synced write, which the next batch's
   * write and the batch's handlers overlap; 'process' mode, or a batch no call waits for
   * (`answers` false): null, the mark is written later). */
  async appendDurable(batch: readonly WharfEvent[], history: HistoryWrite = NO_HISTORY_WRITE, _tick?: DecidedTick, answers = true): Promise<Acknowledgement | null> {
    this.requireOpen()
    if (batch.length === 0) {
      if (history !== NO_HISTORY_WRITE) throw new RangeError('a history write needs the events that make it')
      return null
    }
    // Encoded before queueing, so the JSON work overlaps the previous batch's write.
    if (this.evidence !== null) await this.settleEvidence() // the log has been read by now
    const bytes = encodeBatch(batch)
    const first = batch[0]!.seq
    const last = batch[batch.length - 1]!.seq
    let marked = null as Promise<void> | null
    await this.serialize(async () => {
      const db = this.requireDb()
      const end = this.knownEnd()
      if (first !== end + 1) throw new Error(`batch starts at seq ${first}, log ends at ${end}`)
      if (history === NO_HISTORY_WRITE) await this.written(db.put(recordKey(first), bytes, this.writeOptions))
      else {
        // One LevelDB batch: the record and the history it projects are durable or absent together.
        // A lean batch: abstract-level clones every op (several per finished job here), which
        // costs more than the write itself (lean-batch.ts).
        const batch = new LeanBatch(db)
        const staged = this.history.stage(batch, history, first)
        batch.put(recordKey(first), bytes)
        await this.written(batch.write(this.writeOptions))
        this.history.commit(history, staged)
      }
      this.lastSeq = last
      // Told inside the chain, so marks follow the log's order; awaited by the caller, so the
      // next batch's write overlaps this mark's sync ('fsync' mode; 'process' does not wait).
      marked = this.requireMark().advance(last, answers)
    })
    return marked === null ? null : { acknowledged: marked }
  }

  async initHistory(views: readonly JobView[]): Promise<void> {
    this.requireOpen()
    await this.serialize(async () => {
      const batch = this.requireDb().batch()
      const staged = this.history.stageInit(batch, views)
      await batch.write({ sync: true })
      this.history.commitInit(views, staged)
    })
  }

  /** EventLog.leaveHistoryLive. Only 'truncate' drops events, so only it reads history here. */
  async leaveHistoryLive(live: Iterable<string>): Promise<void> {
    this.requireOpen()
    if (this.onCorruption !== 'truncate') return
    const views: JobView[] = []
    for (const uuid of live) {
      const view = await this.history.get(uuid)
      if (view !== undefined) views.push(view)
    }
    if (views.length === 0) return
    const write = { put: [], del: views }
    await this.serialize(async () => {
      const batch = this.requireDb().batch()
      const staged = this.history.stage(batch, write, this.knownEnd())
      await batch.write({ sync: true })
      this.history.commit(write, staged)
    })
    const uuids = views.slice(0, 20).map((view) => view.uuid).join(', ') + (views.length > 20 ? ', …' : '')
    this.warn(
      `history in ${JSON.stringify(this.path)} held ${views.length} job(s) the recovered log has live, finished by events the recovery dropped; ` +
        `each is live again, left history (${uuids}) (onCorruption: 'truncate'): it may run again`,
    )
  }

  async *read(afterSeq = 0): AsyncIterable<readonly WharfEvent[]> {
    const db = this.requireOpen()
    const after = Math.max(0, afterSeq)
    // Start at the record holding after+1 (its key may be lower); with none, the log must start
    // right after the compacted floor, so that is what the first record is checked against.
    const found = after < this.floorSeq ? [] : await db.keys({ gte: FIRST_KEY, lte: recordKey(after + 1), reverse: true, limit: 1 }).all().catch(async (error: unknown) => {
      throw await this.failed(error)
    })
    let expected: number | null = found.length > 0 ? null : this.floorSeq + 1
    let bad: { key: string; error: LogCorruptionError } | null = null
    const it = db.iterator({ gte: found[0] ?? FIRST_KEY, lte: LAST_KEY, highWaterMarkBytes: READ_CHUNK_BYTES })
    // One chunk read ahead: LevelDB reads the next one while this one is decoded and folded.
    let ahead: Promise<[string, Uint8Array][]> | null = it.nextv(READ_CHUNK)
    try {
      scan: for (;;) {
        const entries: [string, Uint8Array][] = await ahead!
        ahead = null
        if (entries.length === 0) break
        ahead = it.nextv(READ_CHUNK)
        for (const [key, value] of entries) {
          let events: WharfEvent[]
          try {
            events = decodeBatch(value, seqOfKey(key, expected ?? after + 1, this.path), this.path)
            if (expected !== null && events[0]!.seq !== expected) throw this.gap(expected, events[0]!.seq)
          } catch (error) {
            if (!(error instanceof LogCorruptionError) || this.onCorruption === 'throw') throw error
            bad = { key, error }
            break scan
          }
          const last = events[events.length - 1]!.seq
          expected = last + 1
          if (last <= after) continue
          yield events[0]!.seq > after ? events : events.filter((e) => e.seq > after)
        }
      }
      if (bad !== null) await this.truncate(db, bad.key, after, bad.error)
    } catch (error) {
      throw await this.failed(error)
    } finally {
      // A read ahead nobody takes (a corrupt record, an error, a reader that stopped early).
      if (ahead !== null) await ahead.catch(() => undefined)
      await it.close()
    }
  }

  async readSnapshot(): Promise<Snapshot | null> {
    const db = this.requireOpen()
    try {
      return await this.readCheckedSnapshot(db)
    } catch (error) {
      throw await this.failed(error)
    }
  }

  private async readCheckedSnapshot(db: Db): Promise<Snapshot | null> {
    const bytes = await db.get(SNAPSHOT_KEY)
    let snapshot: Snapshot | null = null
    if (bytes !== undefined) {
      try {
        snapshot = decodeSnapshot(bytes, this.path)
      } catch (error) {
        if (!(error instanceof LogCorruptionError) || this.onCorruption === 'throw') throw error
        if (this.floorSeq > 0) return this.restartEmpty(db, `${error.message}; events up to seq ${this.floorSeq} were compacted into it`)
        // Nothing was compacted, so the log alone still rebuilds the state: drop the snapshot.
        this.writtenSnapshotSeq = null
        await this.serialize(() => db.del(SNAPSHOT_KEY, { sync: true }))
        this.warn(`${error.message}; deleted the snapshot, replay starts from the beginning of the log`)
        return null
      }
    }
    return this.checkSnapshotBounds(db, snapshot)
  }

  async writeSnapshot(snapshot: Snapshot): Promise<void> {
    this.requireOpen()
    const bytes = await encodeSnapshotInTurns(snapshot)
    await this.serialize(async () => {
      const db = this.requireDb()
      checkSnapshotSeq(snapshot.seq, this.floorSeq, this.knownEnd())
      // One put is one LevelDB write batch: the old snapshot or the new one, never half.
      await this.written(db.put(SNAPSHOT_KEY, bytes, this.writeOptions))
      this.writtenSnapshotSeq = snapshot.seq
    })
  }

  async compact(uptoSeq: number): Promise<void> {
    this.requireOpen()
    await this.serialize(async () => {
      const db = this.requireDb()
      let snapshotSeq = this.writtenSnapshotSeq
      if (snapshotSeq === null) {
        const snapshot = await db.get(SNAPSHOT_KEY)
        snapshotSeq = snapshot === undefined ? null : inspectRecord(snapshot, 'snapshot', claimedSnapshotSeq(snapshot), this.path).firstSeq
      }
      checkCompaction(uptoSeq, snapshotSeq)
      // Keys only: a record ends where the next one begins (records follow each other, as every
      // open checks), so only the last record under the cut is read, for its last seq. Reading
      // and checking every record deleted here — the whole log since the last snapshot, over 100
      // MB for a big backlog — held the appends for a third of a second and bought nothing.
      for (let from = FIRST_KEY; ; ) {
        const keys = await db.keys({ gte: from, lte: recordKey(uptoSeq + 1), limit: COMPACT_CHUNK + 1 }).all()
        const ops: Op[] = []
        let floor = this.floorSeq
        for (let i = 0; i + 1 < keys.length; i++) {
          ops.push({ type: 'del', key: keys[i]! })
          floor = seqOfKey(keys[i + 1]!, floor + 1, this.path) - 1
        }
        const last = keys.at(-1)
        const more = keys.length === COMPACT_CHUNK + 1
        // The last key read (no next one in this page): the next page's first, or the record the
        // cut may fall in, read for its last seq.
        if (!more && last !== undefined) {
          const first = seqOfKey(last, floor + 1, this.path)
          const value = first <= uptoSeq ? await db.get(last) : undefined
          const header = value === undefined ? null : inspectRecord(value, 'batch', first, this.path)
          if (header !== null && header.lastSeq <= uptoSeq) {
            ops.push({ type: 'del', key: last })
            floor = header.lastSeq
          }
        }
        if (ops.length > 0) {
          ops.push({ type: 'put', key: FLOOR_KEY, value: Buffer.from(String(floor)) })
          await this.written(db.batch(ops, this.writeOptions))
          this.floorSeq = floor
        }
        if (!more) break
        from = last!
      }
      // The deleted records stay as tombstones until LevelDB compacts them, and every later read
      // of the log (each open) would walk them: compact that key range, once per snapshot — in
      // the background, on LevelDB's thread, so appends go on meanwhile (close waits for it).
      const upto = recordKey(uptoSeq)
      this.tidying = this.tidying.then(() => db.compactRange(FIRST_KEY, upto)).catch((error: unknown) => {
        this.notice(`wharf: compacting the log's deleted records up to seq ${uptoSeq} failed (the next snapshot retries): ${(error as Error)?.message ?? String(error)}`)
      })
    })
  }

  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return
    if (this.lifecycle !== 'open') throw new Error(`the event log at ${JSON.stringify(this.path)} is ${this.lifecycle}; close after it settles`)
    this.lifecycle = 'closing'
    try {
      await this.writes // appends accepted before close still land
      await this.tidying
      await this.scrub?.stop()
      await this.settleEvidence()
      if (this.scrubCopy !== null) await rm(this.scrubCopy, { recursive: true, force: true })
      await this.requireMark().close()
      await this.requireDb().close()
    } finally {
      this.mark = null
      this.db = null
      this.scrub = null
      this.scrubCopy = null
      this.lifecycle = 'closed'
    }
  }

  /**
   * @internal For backup.ts: every key and value of the store as bytes, through one iterator.
   * LevelDB takes its implicit snapshot synchronously, here, so it reads one committed point
   * (whole batches, history with its records) while appends go on; the caller closes it.
   */
  snapshotIterator() {
    return this.requireOpen().iterator<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  }

  /**
   * Check all of history in the background, as it was at this open (history-scrub.ts): on the
   * files from before a clean open, in a child process. Call it once the log has been read (the
   * engine's replay): a corruption met reading it keeps those files as evidence instead. Null
   * for a log made without the scrubHistory option. After 'truncate' (which checked and repaired
   * all of history at this open) it is over at once.
   */
  scrubHistory(options: ScrubOptions = {}): HistoryScrub | null {
    this.requireOpen()
    if (this.scrub !== null) throw new Error(`the history of ${JSON.stringify(this.path)} is already being scrubbed`)
    if (!this.scrubWanted) return null // made without scrubHistory: nothing was kept for it
    if (this.audited !== null) return (this.scrub = scrubDone(this.path, { checked: true, views: this.audited, problems: [] }))
    const copy = this.settleEvidence().then(() => {
      const dir = this.scrubCopy
      this.scrubCopy = null
      return dir // null: a store new at this open, nothing in history yet
    })
    return (this.scrub = scrubInChild(copy, this.path, options.busy ?? (() => false)))
  }

  // ---- internals ----

  private requireOpen(): Db {
    if (this.lifecycle !== 'open' || this.db === null) {
      throw new Error(`the event log at ${JSON.stringify(this.path)} is closed`)
    }
    return this.db
  }

  /** Inside the write chain: the db stays usable while close() drains accepted writes. */
  private requireDb(): Db {
    if (this.db === null) throw new Error(`the event log at ${JSON.stringify(this.path)} is closed`)
    return this.db
  }

  private requireMark(): EndMark {
    if (this.mark === null) throw new Error(`the event log at ${JSON.stringify(this.path)} is closed`)
    return this.mark
  }

  private serialize<T>(write: () => Promise<T>): Promise<T> {
    // LevelDB fails writes with its corruption error once a compaction met a damaged table.
    const run = this.writes
      .then(() => {
        if (this.failedWrite !== null) throw this.writesStopped()
        return write()
      })
      .catch((error: unknown) => {
        throw this.named(error)
      })
    this.writes = run.catch(() => undefined) // a failed write does not block the next
    return run
  }

  /** A write of the open store: one LevelDB fails stops every later one (failedWrite). The
   * failure itself reaches the caller as a StorageError that says so, not as LevelDB's raw
   * LEVEL_IO_ERROR (a corruption stays as it is: named() makes it a LogCorruptionError). */
  private async written(write: Promise<void>): Promise<void> {
    try {
      await write
    } catch (error) {
      if (this.failedWrite !== null || !isLevelError(error)) throw error
      this.failedWrite = error
      if (isLevelCorruption(error)) throw error
      throw new StorageError(
        `the Wharf store ${JSON.stringify(this.path)} failed a write (${(error as Error).message}): what it held is not stored, and nothing more is written to it until it is opened again`,
        { cause: error },
      )
    }
  }

  private writesStopped(): StorageError {
    const why = (this.failedWrite as Error)?.message ?? String(this.failedWrite)
    return new StorageError(
      `the Wharf store ${JSON.stringify(this.path)} failed a write (${why}), so nothing more is written to it: LevelDB could not read back what it wrote after that write. Close it and open it again`,
      { cause: this.failedWrite },
    )
  }

  private knownEnd(): number {
    if (this.lastSeq === null) {
      throw new Error(`the last record of the event log at ${JSON.stringify(this.path)} is corrupt; read the log to the end first, which recovers it (onCorruption: 'truncate')`)
    }
    return this.lastSeq
  }

  private gap(expected: number, found: number): LogCorruptionError {
    const what = found > expected ? `events ${expected}..${found - 1} are missing` : `the record overlaps the previous one`
    return new LogCorruptionError(`corrupt event log at seq ${expected} in ${JSON.stringify(this.path)}: ${what} (next record starts at seq ${found})`, expected)
  }

  /** Floor and last seq, from the meta key and the last record (which is fully checked). */
  private async loadBounds(db: Db): Promise<void> {
    const floor = await db.get(FLOOR_KEY)
    const text = floor === undefined ? '0' : Buffer.from(floor).toString('utf8')
    if (!/^\d{1,16}$/.test(text)) {
      throw new LogCorruptionError(`corrupt event log at seq 0 in ${JSON.stringify(this.path)}: compaction floor ${JSON.stringify(text)}`, 0)
    }
    this.floorSeq = Number(text)
    this.lastSeq = this.floorSeq
    const tail = await db.iterator({ gte: FIRST_KEY, lte: LAST_KEY, reverse: true, limit: 1 }).all()
    if (tail.length === 0) return
    const [key, value] = tail[0]!
    try {
      const events = decodeBatch(value, seqOfKey(key, this.floorSeq + 1, this.path), this.path)
      this.lastSeq = events[events.length - 1]!.seq
    } catch (error) {
      if (!(error instanceof LogCorruptionError) || this.onCorruption === 'throw') throw error
      // Which recovery is consistent depends on where the engine starts reading (see
      // level-recovery.ts), so it waits for that read; appends are refused until then.
      this.lastSeq = null
    }
  }

  /**
   * A snapshot must cover the compacted records (compact() refuses otherwise) and lie within the
   * log. A checksum-valid store can still break either when LevelDB loses some writes and keeps
   * others (a damaged write-ahead log drops a block, a table loses a key): replayed as it is, the
   * tail would not follow the state it is folded into, so it is corruption, named here.
   */
  private async checkSnapshotBounds(db: Db, snapshot: Snapshot | null): Promise<Snapshot | null> {
    const base = snapshot?.seq ?? 0
    const where = `in ${JSON.stringify(this.path)}`
    if (base < this.floorSeq) {
      const what = `corrupt event log at seq ${base + 1} ${where}: events up to seq ${this.floorSeq} were compacted into a snapshot, but ${snapshot === null ? 'there is no snapshot' : `the snapshot is at seq ${base}`}`
      if (this.onCorruption === 'throw') {
        throw new LogCorruptionError(`${what}; the jobs they hold exist nowhere else: restore the store from a backup, or open with onCorruption: 'truncate' to go on without them`, base + 1)
      }
      return this.restartEmpty(db, what)
    }
    const end = this.lastSeq
    if (end === null || base <= end) return snapshot
    const what = `corrupt event log at seq ${end + 1} ${where}: the snapshot is at seq ${base} but the log ends at seq ${end}`
    if (this.onCorruption === 'throw') throw new LogCorruptionError(`${what}; open with onCorruption: 'truncate' to continue from the snapshot`, end + 1)
    // The snapshot holds the state through `base`: it becomes the base of the log.
    await this.serialize(async () => {
      await db.batch(await planSnapshotBase(db, base), { sync: true })
      this.floorSeq = base
      this.lastSeq = base
      await this.requireMark().advance(base)
    })
    this.warn(`${what}; recovered (onCorruption: 'truncate'): the log continues from the snapshot, compacted up to seq ${base}`)
    return snapshot
  }

  /**
   * 'truncate' past a snapshot lost over the compaction floor: the state it held (every job that
   * was live then, channel pauses) exists nowhere else, and the records after it only change that
   * state, so the log starts again from an empty state after the highest seq it ever used. Finished
   * jobs are in history and stay. Written as one synced batch: an empty base (a snapshot whose
   * state is null, EventLog's contract) at that seq, no records, the floor there; then reported
   * with what the dropped records named. The files from before the open are kept (evidence.ts).
   */
  private async restartEmpty(db: Db, what: string): Promise<Snapshot> {
    const mark = this.requireMark()
    const base = Math.max(this.floorSeq, this.lastSeq ?? 0, mark.claimedSeq)
    const named = new Set<string>()
    let records = 0
    for await (const [key, value] of db.iterator({ gte: FIRST_KEY, lte: LAST_KEY })) {
      records++
      try {
        for (const event of decodeBatch(value, seqOfKey(key, this.floorSeq + 1, this.path), this.path)) {
          if (event.type === 'job.created') named.add(event.job.uuid)
          else if ('uuid' in event) named.add(event.uuid)
        }
      } catch (error) {
        if (!(error instanceof LogCorruptionError)) throw error
      }
    }
    const empty: Snapshot = { seq: base, formatVersion: 0, state: null }
    await this.serialize(async () => {
      const ops = await planSnapshotBase(db, base)
      ops.push({ type: 'put', key: SNAPSHOT_KEY, value: encodeSnapshot(empty) })
      this.writtenSnapshotSeq = null
      await db.batch(ops, { sync: true })
      this.floorSeq = base
      this.lastSeq = base
      await mark.advance(base)
    })
    const uuids = [...named].slice(0, 20).join(', ') + (named.size > 20 ? ', …' : '')
    this.warn(
      `${what}; recovered (onCorruption: 'truncate'): every job that was live at that snapshot is lost, with the ${records} record(s) after it` +
        (named.size === 0 ? '' : ` (they named ${named.size} job(s): ${uuids})`) +
        `; finished jobs stay in history, and the log starts again from an empty state at seq ${base}`,
    )
    return empty
  }

  /** 'truncate' recovery, committed as one atomic, synced batch, then reported. */
  private async truncate(db: Db, fromKey: string, afterSeq: number, cause: LogCorruptionError): Promise<void> {
    await this.serialize(async () => {
      const plan = await planTruncation(db, this.path, fromKey, afterSeq, this.floorSeq, cause)
      this.writtenSnapshotSeq = null // the plan may delete the snapshot
      await db.batch(plan.ops, { sync: true })
      this.floorSeq = plan.floorSeq
      this.lastSeq = plan.lastSeq
      // The mark must not claim the seqs just deleted once new events reuse them.
      const lost = await this.requireMark().lower(plan.lastSeq)
      const acknowledged = lost === 0 ? '' : `; ${lost} acknowledged event(s) lost (the end-of-log mark said seq ${plan.lastSeq + lost}, now ${plan.lastSeq})`
      this.warn(`${cause.message}; recovered by truncation: ${plan.summary}${acknowledged}`)
    })
  }
}
