// History on PostgreSQL: the same contract as LevelHistory (test/unit/history.test.ts runs both).
// PgLog.append puts the statements stage() returns in the transaction of the batch whose events
// made them, so history and log commit or roll back together. Text columns hold escaped strings
// (key-escape.ts: PostgreSQL text cannot hold \x00) in the "C" collation, so uuid order, and so the
// `after` cursors, are the strings' order as LevelDB keys have it. Counts per channel are kept in a
// table (stats() reads them synchronously, from memory, loaded on open and moved on commit). A
// cluster follower moves them by the batches it applies (followed()), from counts loaded with the
// log seq they are as of, so that a batch is counted once: either in the loaded counts, or by it.

import type { JobView } from '../engine/core/view.js'
import { LogCorruptionError } from '../engine/errors.js'
import {
  batchUuidOf,
  channelOf,
  countInto,
  finishedAtOf,
  type FinishedCounts,
  type FinishedCursor,
  type FinishedJob,
  type HistoryQuery,
  type HistoryStore,
  type HistoryWrite,
} from './history.js'
import { esc, unesc } from './key-escape.js'
import type { PgPool, PgQueries, PgRow, PgRows } from './pg-driver.js'
import { decodeView, encodeView, ViewDecodeError } from './view-codec.js'

/** Rows per INSERT: 10 parameters a row would pass PostgreSQL's limit; arrays (unnest) do not. */
const PUT_CHUNK = 5_000

const escOrNull = (s: string | null): string | null => (s === null ? null : esc(s))

export class PgHistory implements HistoryStore {
  /** A PostgreSQL store is created with its log: it has seen every event. */
  readonly complete = true
  private readonly perChannel = new Map<string, FinishedCounts>()
  /** The log seq the counts are as of (a follower's: the last batch it counted, or the load's). */
  private countedSeq = 0
  /** A followed batch could not be counted: refresh() loads the counts again. */
  private stale = false
  /** What followed() counted while a load was under way (counted again past the load's seq). */
  private recording: { write: HistoryWrite | null; lastSeq: number }[] | null = null
  private loads: Promise<void> = Promise.resolve()

  constructor(
    private readonly sql: () => PgPool,
    /** The quoted schema (pg-schema.ts). */
    private readonly s: string,
    private readonly where: string,
  ) {}

  /** Read the counts (PgLog.open, once the schema is migrated; a follower after catching up),
   * one load at a time. */
  load(): Promise<void> {
    const loaded = this.loads.then(() => this.loadNow())
    this.loads = loaded.catch(() => undefined)
    return loaded
  }

  /** A follower: load the counts again if a batch it applied could not be counted. */
  async refresh(): Promise<void> {
    if (this.stale) await this.load()
  }

  followed(write: HistoryWrite | null, lastSeq: number): void {
    this.recording?.push({ write, lastSeq })
    if (lastSeq <= this.countedSeq) return // the loaded counts hold it
    this.countedSeq = lastSeq
    if (write === null) this.stale = true
    else this.commit(write)
  }

  private async loadNow(): Promise<void> {
    const during: { write: HistoryWrite | null; lastSeq: number }[] = []
    this.recording = during
    let rows: PgRow[]
    try {
      // The counts and the log's end in one statement: one snapshot, so `at` is what they hold.
      const at = `coalesce((SELECT last_seq FROM ${this.s}.log ORDER BY first_seq DESC LIMIT 1), (SELECT floor_seq FROM ${this.s}.meta WHERE id = 1), 0)`
      rows = (await this.sql().query(`SELECT a.at, c.channel, c.done, c.cancelled FROM (SELECT ${at} AS at) a LEFT JOIN ${this.s}.history_counts c ON true`)).rows
    } finally {
      this.recording = null
    }
    // Cleared only now: a follower reloads them while stats() may read them (no empty moment).
    this.perChannel.clear()
    for (const row of rows) {
      if (row.channel === null) continue
      const counts = { done: Number(row.done), cancelled: Number(row.cancelled) }
      if (counts.done < 0 || counts.cancelled < 0) throw this.corrupt(`history counts of channel ${JSON.stringify(row.channel)} are negative`)
      if (counts.done + counts.cancelled > 0) this.perChannel.set(unesc(row.channel as string), counts)
    }
    this.countedSeq = Number(rows[0]?.at ?? 0)
    this.stale = false
    // Batches applied while the counts were read: those past them count now.
    for (const { write, lastSeq } of during) this.followed(write, lastSeq)
  }

  /** The statements that make `write` durable, to run in the batch's transaction, in order. */
  stage(tx: PgQueries, write: HistoryWrite): Promise<PgRows>[] {
    const s = this.s
    const out: Promise<PgRows>[] = []
    if (write.del.length > 0) out.push(tx.query(`DELETE FROM ${s}.history WHERE uuid = ANY($1::text[])`, [write.del.map((v) => esc(v.uuid))]))
    for (let i = 0; i < write.put.length; i += PUT_CHUNK) out.push(this.insert(tx, write.put.slice(i, i + PUT_CHUNK)))
    const deltas = new Map<string, FinishedCounts>()
    countInto(deltas, write.put, 1)
    countInto(deltas, write.del, -1)
    if (deltas.size > 0) {
      const channels = [...deltas.keys()]
      out.push(
        tx.query(
          `INSERT INTO ${s}.history_counts AS c (channel, done, cancelled) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ` +
            'ON CONFLICT (channel) DO UPDATE SET done = c.done + excluded.done, cancelled = c.cancelled + excluded.cancelled',
          [channels.map(esc), channels.map((c) => deltas.get(c)!.done), channels.map((c) => deltas.get(c)!.cancelled)],
        ),
      )
    }
    return out
  }

  private insert(tx: PgQueries, jobs: readonly FinishedJob[]): Promise<PgRows> {
    const n = jobs.length
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []]
    for (let i = 0; i < n; i++) {
      const job = jobs[i]!
      cols[0]!.push(esc(job.uuid))
      cols[1]!.push(job.state)
      cols[2]!.push(esc(channelOf(job)))
      cols[3]!.push(esc(job.model))
      cols[4]!.push(esc(job.method))
      cols[5]!.push(escOrNull(job.identityKey))
      cols[6]!.push(escOrNull(job.graphUuid))
      cols[7]!.push(finishedAtOf(job))
      cols[8]!.push(encodeView(job))
      cols[9]!.push(escOrNull(batchUuidOf(job)))
    }
    return tx.query(
      `INSERT INTO ${this.s}.history (uuid, state, channel, model, method, identity_key, graph_uuid, finished_at, view, batch_uuid) ` +
        'SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bytea[], $10::text[])',
      cols,
    )
  }

  /** The transaction holding stage(write) committed: count it. */
  commit(write: HistoryWrite): void {
    countInto(this.perChannel, write.del, -1)
    countInto(this.perChannel, write.put, 1)
  }

  async get(uuid: string): Promise<JobView | undefined> {
    const { rows } = await this.sql().query(`SELECT uuid, view FROM ${this.s}.history WHERE uuid = $1`, [esc(uuid)])
    return rows.length === 0 ? undefined : this.decode(rows[0]!)
  }

  async page(q: HistoryQuery): Promise<JobView[]> {
    const where: string[] = []
    const params: unknown[] = []
    const filter = (column: string, value: string | undefined): void => {
      if (value === undefined) return
      params.push(column === 'state' ? value : esc(value))
      where.push(`${column} = $${params.length}`)
    }
    filter('state', q.state)
    filter('channel', q.channel)
    filter('model', q.model)
    filter('method', q.method)
    filter('graph_uuid', q.graphUuid)
    filter('identity_key', q.identityKey)
    filter('batch_uuid', q.batchUuid)
    if (q.after !== undefined) {
      params.push(esc(q.after))
      where.push(`uuid ${q.desc ? '<' : '>'} $${params.length}`)
    }
    params.push(q.limit)
    const text =
      `SELECT uuid, view FROM ${this.s}.history ${where.length === 0 ? '' : 'WHERE ' + where.join(' AND ')} ` +
      `ORDER BY uuid ${q.desc ? 'DESC' : 'ASC'} LIMIT $${params.length}`
    return (await this.sql().query(text, params)).rows.map((row) => this.decode(row))
  }

  async finishedUpTo(atMs: number, limit: number, cursor?: FinishedCursor): Promise<JobView[]> {
    const at = atMs === Infinity ? Number.MAX_SAFE_INTEGER : atMs
    const { rows } =
      cursor === undefined
        ? await this.sql().query(`SELECT uuid, view FROM ${this.s}.history WHERE finished_at <= $1 ORDER BY finished_at, uuid LIMIT $2`, [at, limit])
        : await this.sql().query(
            `SELECT uuid, view FROM ${this.s}.history WHERE finished_at <= $1 AND (finished_at, uuid) > ($2::bigint, $3::text) ORDER BY finished_at, uuid LIMIT $4`,
            [at, cursor.atMs, esc(cursor.uuid), limit],
          )
    return rows.map((row) => this.decode(row))
  }

  counts(): ReadonlyMap<string, FinishedCounts> {
    return this.perChannel
  }

  private decode(row: PgRow): JobView {
    const uuid = unesc(row.uuid as string)
    try {
      return decodeView(row.view as Uint8Array, uuid)
    } catch (error) {
      if (error instanceof ViewDecodeError) throw this.corrupt(`the history entry of job ${uuid} is ${error.message}`)
      throw error
    }
  }

  private corrupt(what: string): LogCorruptionError {
    return new LogCorruptionError(`corrupt history in ${this.where}: ${what}`, 0)
  }
}
