// The EventLog on PostgreSQL (0.3, first milestone: one process per schema). One row per
// committed batch, appended in one transaction with the history it projects: durable = committed,
// as the server's synchronous_commit has it; group commit is the engine's (one append per tick).
//
// Election and fencing, as the next milestone builds on them: open() takes a session advisory
// lock on the schema (held by one reserved connection for the life of the log) — today a second
// process is refused with SchemaLockedError — and then bumps the term in `meta`. Every append,
// snapshot and compaction checks that term inside its transaction, the `meta` row locked FOR
// SHARE, so a scheduler whose term has been superseded can never write, even past a lost lock:
// a takeover's term bump waits for, or is seen by, every write in flight.

import type { WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import { LogCorruptionError, SchemaLockedError, StorageError } from '../engine/errors.js'
import { decodeBatch, decodeSnapshot, encodeBatch, encodeSnapshot } from './codec.js'
import { checkCompaction, checkSnapshotSeq, type EventLog, type Snapshot } from './event-log.js'
import { NO_HISTORY_WRITE, type HistoryWrite } from './history.js'
import { connect, redactedUrl, type PgPool, type PgQueries } from './pg-driver.js'
import { PgHistory } from './pg-history.js'
import { migrate, PG_SCHEMA_VERSION, schemaIdent } from './pg-schema.js'

export interface PgLogOptions {
  /** Default 'wharf'. */
  schema?: string
  /** Advanced (tests): the newest schema version this log migrates to. */
  schemaVersion?: number
}

/** Batch rows fetched per round trip while reading. */
const READ_CHUNK = 256

type Lifecycle = 'closed' | 'opening' | 'open' | 'closing'

export class PgLog implements EventLog {
  readonly schema: string
  readonly history: PgHistory
  private readonly s: string
  private readonly where: string
  private readonly schemaVersion: number
  private lifecycle: Lifecycle = 'closed'
  private sql: PgPool | null = null
  /** This process's term as scheduler: every write checks it. */
  private term = 0
  private lastSeq = 0
  private floorSeq = 0
  private writes: Promise<unknown> = Promise.resolve()
  /** The connection whose session holds the advisory lock, from open() to close(). */
  private session: (PgQueries & { release(): void }) | null = null

  constructor(
    private readonly url: string,
    options: PgLogOptions = {},
  ) {
    this.schema = options.schema ?? 'wharf'
    this.s = schemaIdent(this.schema)
    this.schemaVersion = options.schemaVersion ?? PG_SCHEMA_VERSION
    this.where = `schema ${JSON.stringify(this.schema)} of ${redactedUrl(url)}`
    this.history = new PgHistory(() => this.requireSql(), this.s, this.where)
  }

  async open(): Promise<void> {
    if (this.lifecycle !== 'closed') throw new Error(`the event log in ${this.where} is already ${this.lifecycle}`)
    this.lifecycle = 'opening'
    let sql: PgPool | null = null
    try {
      sql = this.sql = await connect(this.url, this.where)
      // The lock lives as long as the session of the connection that took it: until close().
      const session = (this.session = await sql.session())
      const [got] = (await session.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', ['wharf:' + this.schema])).rows
      if (got?.locked !== true) throw new SchemaLockedError(this.schema)
      await migrate(sql, this.schema, this.schemaVersion)
      const [meta] = (await sql.query(`UPDATE ${this.s}.meta SET term = term + 1 WHERE id = 1 RETURNING term, floor_seq`)).rows
      if (meta === undefined) throw new LogCorruptionError(`corrupt event log in ${this.where}: its meta row is missing`, 0)
      this.term = Number(meta.term)
      this.floorSeq = Number(meta.floor_seq)
      const [tail] = (await sql.query(`SELECT last_seq FROM ${this.s}.log ORDER BY first_seq DESC LIMIT 1`)).rows
      this.lastSeq = tail === undefined ? this.floorSeq : Number(tail.last_seq)
      await this.history.load()
      this.lifecycle = 'open'
    } catch (error) {
      this.lifecycle = 'closed'
      this.sql = null
      this.session?.release()
      this.session = null
      await sql?.end()
      throw error
    }
  }

  async append(batch: readonly WharfEvent[], history: HistoryWrite = NO_HISTORY_WRITE): Promise<void> {
    this.requireOpen()
    if (batch.length === 0) {
      if (history !== NO_HISTORY_WRITE) throw new RangeError('a history write needs the events that make it')
      return
    }
    const bytes = encodeBatch(batch) // before queueing: the encoding overlaps the previous write
    const first = batch[0]!.seq
    const last = batch[batch.length - 1]!.seq
    await this.serialize(async () => {
      if (first !== this.lastSeq + 1) throw new Error(`batch starts at seq ${first}, log ends at ${this.lastSeq}`)
      await this.fenced(async (tx) => {
        const inserted = tx.query(
          `INSERT INTO ${this.s}.log (first_seq, last_seq, term, body) SELECT $1, $2, term, $3 FROM ${this.s}.meta WHERE id = 1 AND term = $4 FOR SHARE`,
          [first, last, bytes, this.term],
        )
        const staged = history === NO_HISTORY_WRITE ? [] : this.history.stage(tx, history)
        const [rows] = await Promise.all([inserted, ...staged])
        return rows.count
      })
      this.lastSeq = last
      if (history !== NO_HISTORY_WRITE) this.history.commit(history)
    })
  }

  async initHistory(views: readonly JobView[]): Promise<void> {
    this.requireOpen()
    await this.serialize(() => this.fenced(async (tx) => {
      const staged = this.history.stage(tx, { put: views, del: [] })
      await Promise.all(staged)
      return this.termHeld(tx)
    }))
    this.history.commit({ put: views, del: [] })
  }

  async *read(afterSeq = 0): AsyncIterable<readonly WharfEvent[]> {
    const sql = this.requireOpen()
    const after = Math.max(0, afterSeq)
    // Start at the record holding after+1; with none, the log must start right after the floor.
    const [holder] = (await sql.query(`SELECT first_seq FROM ${this.s}.log WHERE first_seq <= $1 ORDER BY first_seq DESC LIMIT 1`, [after + 1])).rows
    let from = holder === undefined ? 0 : Number(holder.first_seq)
    let expected: number | null = holder === undefined ? this.floorSeq + 1 : null
    for (;;) {
      const { rows } = await sql.query(`SELECT first_seq, body FROM ${this.s}.log WHERE first_seq >= $1 ORDER BY first_seq LIMIT ${READ_CHUNK}`, [from])
      for (const row of rows) {
        const events = decodeBatch(row.body as Uint8Array, Number(row.first_seq), this.where)
        if (expected !== null && events[0]!.seq !== expected) throw this.gap(expected, events[0]!.seq)
        const lastOf = events[events.length - 1]!.seq
        expected = lastOf + 1
        if (lastOf <= after) continue
        yield events[0]!.seq > after ? events : events.filter((e) => e.seq > after)
      }
      if (rows.length < READ_CHUNK) return
      from = expected!
    }
  }

  async readSnapshot(): Promise<Snapshot | null> {
    const sql = this.requireOpen()
    const [row] = (await sql.query(`SELECT snapshot FROM ${this.s}.meta WHERE id = 1`)).rows
    const snapshot = row?.snapshot === null || row === undefined ? null : decodeSnapshot(row.snapshot as Uint8Array, this.where)
    const base = snapshot?.seq ?? 0
    if (base < this.floorSeq) {
      throw new LogCorruptionError(`corrupt event log at seq ${base + 1} in ${this.where}: events up to seq ${this.floorSeq} were compacted, but ${snapshot === null ? 'there is no snapshot' : `the snapshot is at seq ${base}`}`, base + 1)
    }
    if (base > this.lastSeq) throw new LogCorruptionError(`corrupt event log at seq ${this.lastSeq + 1} in ${this.where}: the snapshot is at seq ${base} but the log ends at seq ${this.lastSeq}`, this.lastSeq + 1)
    return snapshot
  }

  async writeSnapshot(snapshot: Snapshot): Promise<void> {
    this.requireOpen()
    const bytes = encodeSnapshot(snapshot)
    await this.serialize(async () => {
      checkSnapshotSeq(snapshot.seq, this.floorSeq, this.lastSeq)
      await this.fenced(async (tx) => (await tx.query(`UPDATE ${this.s}.meta SET snapshot = $1, snapshot_seq = $2 WHERE id = 1 AND term = $3`, [bytes, snapshot.seq, this.term])).count)
    })
  }

  async compact(uptoSeq: number): Promise<void> {
    this.requireOpen()
    await this.serialize(async () => {
      const [meta] = (await this.requireSql().query(`SELECT snapshot_seq FROM ${this.s}.meta WHERE id = 1`)).rows
      checkCompaction(uptoSeq, meta?.snapshot_seq === null || meta === undefined ? null : Number(meta.snapshot_seq))
      let floor = this.floorSeq
      await this.fenced(async (tx) => {
        const held = await this.termHeld(tx)
        const [deleted] = (await tx.query(`WITH d AS (DELETE FROM ${this.s}.log WHERE last_seq <= $1 RETURNING last_seq) SELECT max(last_seq) AS floor FROM d`, [uptoSeq])).rows
        if (deleted?.floor !== null && deleted !== undefined) floor = Number(deleted.floor)
        await tx.query(`UPDATE ${this.s}.meta SET floor_seq = $1 WHERE id = 1`, [floor])
        return held
      })
      this.floorSeq = floor
    })
  }

  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return
    if (this.lifecycle !== 'open') throw new Error(`the event log in ${this.where} is ${this.lifecycle}; close after it settles`)
    this.lifecycle = 'closing'
    try {
      await this.writes // appends accepted before close still land
      // Ending the pool ends the lock's session, which releases the advisory lock.
      this.session?.release()
      await this.requireSql().end()
    } finally {
      this.session = null
      this.sql = null
      this.lifecycle = 'closed'
    }
  }

  // ---- internals ----

  /**
   * Run `write` in a transaction that commits only if it reports 1 (the rows it changed under this
   * term): 0 means another scheduler's term is current, and nothing is written.
   */
  private async fenced(write: (tx: PgQueries) => Promise<number>): Promise<void> {
    const sql = this.requireSql()
    await sql.transaction(async (tx) => {
      const count = await write(tx)
      if (count !== 1) throw new StorageError(`this Wharf is no longer the scheduler of ${this.where}: its term ${this.term} was superseded by another process; nothing was written`)
    })
  }

  /** 1 when this process's term is current (the meta row locked until commit), else 0. */
  private async termHeld(tx: PgQueries): Promise<number> {
    return (await tx.query(`SELECT 1 FROM ${this.s}.meta WHERE id = 1 AND term = $1 FOR SHARE`, [this.term])).count
  }

  private requireOpen(): PgPool {
    if (this.lifecycle !== 'open' || this.sql === null) throw new Error(`the event log in ${this.where} is closed`)
    return this.sql
  }

  /** Inside the write chain: the pool stays usable while close() drains accepted writes. */
  private requireSql(): PgPool {
    if (this.sql === null) throw new Error(`the event log in ${this.where} is closed`)
    return this.sql
  }

  private serialize<T>(write: () => Promise<T>): Promise<T> {
    const run = this.writes.then(write)
    this.writes = run.catch(() => undefined) // a failed write does not block the next
    return run
  }

  private gap(expected: number, found: number): LogCorruptionError {
    const what = found > expected ? `events ${expected}..${found - 1} are missing` : 'the record overlaps the previous one'
    return new LogCorruptionError(`corrupt event log at seq ${expected} in ${this.where}: ${what} (next record starts at seq ${found})`, expected)
  }
}
