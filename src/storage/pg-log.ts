// The EventLog on PostgreSQL (0.3). One row per committed batch, appended in one transaction with
// the history it projects: durable = committed, as the server's synchronous_commit has it; group
// commit is the engine's (one append per tick).
//
// Election and fencing: open() tries the schema's lease (pg-lease.ts: a session advisory lock).
// The process that gets it is the scheduler and bumps the term in `meta`; without `cluster`, a
// second process is refused with SchemaLockedError; with it (Wharf.open), it opens as a follower:
// it reads (snapshot, log, history, readTail) but never writes, and tryLead() takes over once the
// lock is free. Every append, snapshot and compaction checks the term inside its transaction, on
// the `meta` row it locks, so a scheduler whose term has been superseded can never write, even
// past a lost lock: a takeover's term bump waits for, or is seen by, every write in flight; the
// refused write rejects with SchedulerDeposedError. Each append is one round trip (BEGIN, its
// statements and COMMIT pipelined), carries what `stageWithAppend` adds for the batch's calls (the
// inbox), and once committed NOTIFYs the schema's channel ('log <last seq>', with the batch itself
// when it is small: notifiedBatch()) and the callers it answered, by a statement sent behind its
// COMMIT: a NOTIFY inside it would hold PostgreSQL's notify lock through the commit's flush, and
// every follower's post (which NOTIFYs) would wait for it.
//
// Appends overlap (pg-write-order.ts): the next one is sent while the one before it commits. Its
// last statement moves `meta.last_seq` from its first seq - 1 to its last seq, and its term is
// checked there too; it waits for the row while the one before holds it (till its commit is
// flushed), then reads the row as that one left it: if that one did not commit, or the term
// moved, the value it sets is null, which the column refuses, and the transaction rolls back (the
// COMMIT is already sent: a statement that matched no row would commit the rest). So no batch
// commits after a lost one, a deposed scheduler writes nothing, and readers see the log grow in
// order (a commit after another is visible after it). Each append's notices go behind its own
// COMMIT, so those of two overlapping appends may arrive out of order: a follower told of a batch
// that is not its next one reads the log (runtime/replica.ts). What overlapping cannot hide is
// the commit's flush: the next append writes its commit record only once the one before it has
// released the row, after its flush; it hides the round trip and the statements before its check.

import type { WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import { LogCorruptionError, NodeNameInUseError, SchedulerDeposedError, SchemaLockedError, StorageError } from '../engine/errors.js'
import { decodeBatch, decodeSnapshot, encodeBatch, encodeSnapshotInTurns } from './codec.js'
import { checkCompaction, checkSnapshotSeq, type DecidedTick, type EventLog, type Snapshot } from './event-log.js'
import { NO_HISTORY_WRITE, type HistoryWrite } from './history.js'
import { connect, connectionLost, redactedUrl, type PgPool, type PgQueries, type PgRows } from './pg-driver.js'
import { PgHistory } from './pg-history.js'
import { NOTICE_MAX, notifyChannel, sendNotices, type Notice, type Staged } from './pg-channels.js'
import { PgLease } from './pg-lease.js'
import { memberLockKey, nodeLockKey, PgClusterTables, publishedOf, type PublishedChannels } from './pg-cluster.js'
import { migrate, PG_SCHEMA_VERSION, schemaIdent } from './pg-schema.js'
import { WriteOrder } from './pg-write-order.js'

export interface PgLogOptions {
  /** Default 'wharf'. */
  schema?: string
  /** Advanced (tests): the newest schema version this log migrates to. */
  schemaVersion?: number
  /** Open as a follower when another process holds the schema (else: SchemaLockedError). */
  cluster?: boolean
  /** With `cluster`: false never takes the lease, at open or later (the `wharf` CLI's member:
   * it reads and sends calls, and must not become the scheduler of the app's jobs). */
  campaign?: boolean
  /** With `cluster`: this process's node name. Its lock is taken first thing at open (else
   * NodeNameInUseError), and held with the lease's session. */
  node?: string
  /** With `cluster`: this process's channel configuration (canonical text, channel-config.ts),
   * published in `meta` by each term it takes (runtime/cluster-channels.ts). */
  channels?: string
}

/** What an append adds for the calls of its tick, run in its transaction after the batch. */
export type AppendStage = (tx: PgQueries, lastSeq: number) => Staged

/** Batch rows fetched per round trip while reading (readTail's default limit). */
export const READ_CHUNK = 256

/** How long a tick that only records handlers' successes waits for a call (lingerMs): about the
 * time an awaited enqueue's answer takes to reach its caller and the caller's next enqueue to
 * arrive, on loopback (BENCH_ONLY=cluster, produce + consume). */
const PG_LINGER_MS = 2

/** The failure of an append's check of the log's end (its last_seq set null), or of its row's
 * insert (a batch that overlaps the log): not another statement's own failure. */
function refusedForItsPlace(error: unknown): boolean {
  const code = ((error as { cause?: { code?: unknown } }).cause ?? (error as { code?: unknown })).code
  return code === '23502' || code === '23505'
}

/** An append's NOTIFY payload: 'log <last seq>', then '<first seq> <batch, base64>' if it fits. */
function logPayload(first: number, last: number, bytes: Buffer): string {
  const encoded = bytes.toString('base64')
  return encoded.length <= NOTICE_MAX ? `log ${last} ${first} ${encoded}` : `log ${last}`
}

/** After a server restart, how long followers leave the lease to the scheduler of the term (ms):
 * time for it to connect again (at most half a second apart) and reach its next lease check (a
 * heartbeat, every second), with room for a loaded machine. */
export const RESTART_GRACE_MS = 5000

type Lifecycle = 'closed' | 'opening' | 'open' | 'closing'

export class PgLog implements EventLog {
  readonly schema: string
  readonly history: PgHistory
  /** The schema's NOTIFY channel: 'log <seq>' after each append, and the cluster's messages. */
  readonly channel: string
  private readonly s: string
  private readonly where: string
  private readonly schemaVersion: number
  private readonly cluster: boolean
  /** False: this log never takes the lease (PgLogOptions.campaign). */
  readonly campaigns: boolean
  /** This process's node name in the cluster (null: none, not a cluster member). */
  private readonly node: string | null
  /** This process's channel configuration, published by each term it takes (null: none). */
  private readonly channels: string | null
  /** The channel configuration of the current term's scheduler, as this log last read or wrote it. */
  published: PublishedChannels | null = null
  /** The one this log's last term replaced (null: none was published). */
  replacedChannels: PublishedChannels | null = null
  private lifecycle: Lifecycle = 'closed'
  private sql: PgPool | null = null
  /** This process's term as scheduler (0: a follower, which never writes): every write checks it. */
  private termHeldNow = 0
  /** The log's last seq as this process knows it committed (what it read, or appended since). */
  private lastSeq = 0
  private floorSeq = 0
  private readonly writes = new WriteOrder()
  /** EventLog.overlapsAppends: an append may be made while the one before it is in flight. */
  readonly overlapsAppends = true
  /** EventLog.lingerMs: a tick that only records handlers' successes waits this long for a call
   * to share its append (each append is a commit flush on the scheduler's ordered chain). */
  readonly lingerMs = PG_LINGER_MS

  /** EventLog.unreachable: the server is away — a connection lost, refused or timed out, a server
   * shutting down or starting up (57P01–57P03), a connection exception (08…) — not the log damaged. */
  unreachable(error: unknown): boolean {
    if (connectionLost(error)) return true
    const code = error instanceof StorageError ? (error.cause as { code?: unknown } | undefined)?.code : undefined
    return typeof code === 'string' && /^(CONNECT_TIMEOUT$|57P0[123]$|08)/.test(code)
  }
  private readonly lease: PgLease
  /** Set by the cluster's scheduler: what an append adds for its tick's calls (null: nothing). */
  stageWithAppend: ((tick: DecidedTick) => AppendStage | null) | null = null

  constructor(
    private readonly url: string,
    options: PgLogOptions = {},
  ) {
    this.schema = options.schema ?? 'wharf'
    this.s = schemaIdent(this.schema)
    this.channel = notifyChannel(this.schema)
    this.schemaVersion = options.schemaVersion ?? PG_SCHEMA_VERSION
    this.cluster = options.cluster ?? false
    this.campaigns = !this.cluster || (options.campaign ?? true)
    this.node = this.cluster ? (options.node ?? null) : null
    this.channels = this.cluster && this.schemaVersion >= 7 ? (options.channels ?? null) : null
    this.where = `schema ${JSON.stringify(this.schema)} of ${redactedUrl(url)}`
    this.history = new PgHistory(() => this.requireSql(), this.s, this.where)
    this.lease = new PgLease(url, this.where, this.schema)
  }

  /** 'scheduler' while this log holds the lease and may write; 'follower' otherwise. */
  get role(): 'scheduler' | 'follower' {
    return this.termHeldNow > 0 ? 'scheduler' : 'follower'
  }

  /** The term this log writes under (0 for a follower). */
  get term(): number {
    return this.termHeldNow
  }

  /** `meta`'s published channel configuration, as columns to select (none before version 7: an
   * older layout, which tests open). */
  private get channelColumns(): string {
    return this.schemaVersion >= 7 ? 'channels, channels_node' : '1 AS none'
  }

  /** The log's last seq as this process knows it committed (what it read, or appended since). */
  get lastCommittedSeq(): number {
    return this.lastSeq
  }

  async open(): Promise<void> {
    if (this.lifecycle !== 'closed') throw new Error(`the event log in ${this.where} is already ${this.lifecycle}`)
    this.lifecycle = 'opening'
    let sql: PgPool | null = null
    try {
      sql = this.sql = await connect(this.url, this.where)
      await this.lease.open()
      // The name first: a process refused for it has written nothing, not even a migration.
      if (this.node !== null && !(await this.lease.holdKey(nodeLockKey(this.schema, this.node)))) throw await this.nodeInUse(this.node)
      await this.lease.migrating(() => migrate(sql!, this.schema, this.schemaVersion))
      const leads = this.campaigns && (await this.lease.tryTake())
      if (!leads && !this.cluster) throw new SchemaLockedError(this.schema)
      if (leads) await this.bumpTerm()
      else await this.readEnds()
      await this.history.load()
      this.lifecycle = 'open'
    } catch (error) {
      this.lifecycle = 'closed'
      this.sql = null
      await this.lease.end()
      await sql?.end()
      throw error
    }
  }

  /**
   * A follower takes over if the lease is free: a new term, and the log's ends read again. True
   * when this log is (now) the scheduler. The caller catches up on the log before deciding.
   */
  async tryLead(): Promise<boolean> {
    this.requireOpen()
    if (this.termHeldNow > 0) return true
    if (!this.campaigns || !(await this.lease.tryTake(this.cluster && this.schemaVersion >= 2 ? this.schedulerReturns() : undefined))) return false
    await this.writes.alone(async () => {
      await this.bumpTerm()
      await this.history.load()
    })
    return true
  }

  /**
   * SQL: the lease is free because the server restarted (which ended every session), and the
   * current term's scheduler may still take it back: its last heartbeat predates the server's
   * start, which is under RESTART_GRACE_MS ago. Followers try the lease four times as often as a
   * scheduler checks it, so without this wait one of them took it after most restarts: the
   * scheduler was deposed (its Wharf must be opened again) and its running handlers' jobs
   * recovered. Judged in the statement that takes the lock (PgLease.tryTake): a follower that
   * took it, then read this and gave it back, held it meanwhile — and a scheduler checking its
   * lease then found it another's, and was deposed all the same (seen under load).
   */
  private schedulerReturns(): string {
    return (
      `EXISTS (SELECT 1 FROM ${this.s}.member m JOIN ${this.s}.meta t ON t.id = 1 AND t.term = m.term WHERE m.role = 'scheduler' ` +
      `AND m.seen_at < pg_postmaster_start_time() AND now() < pg_postmaster_start_time() + make_interval(secs => ${RESTART_GRACE_MS / 1000}))`
    )
  }

  /**
   * The scheduler's check of its lease (a heartbeat): true while it holds the lock under its term.
   * False once another process has, or may have, taken over: its writes are fenced from now on.
   */
  async checkLease(): Promise<boolean> {
    this.requireOpen()
    if (this.termHeldNow === 0) return false
    if (await this.lease.tryTake()) {
      const [meta] = (await this.requireSql().query(`SELECT term FROM ${this.s}.meta WHERE id = 1`)).rows
      if (Number(meta?.term) === this.termHeldNow) return true
      await this.lease.release() // a later term was taken meanwhile: leave the lock to others
    }
    return false
  }

  /**
   * A new term, and the log's ends as of it. The meta row is locked first, in a statement of its
   * own: the bump then reads the log with a snapshot taken after every append of the term before
   * has ended (under READ COMMITTED, each statement takes one), and sets `last_seq` from it — a
   * Wharf of schema version 4 appends without moving it. A cluster member publishes its channel
   * configuration with the term (and NOTIFYs 'channels': the followers adopt it at once).
   */
  private async bumpTerm(): Promise<void> {
    const s = this.s
    let replaced: PublishedChannels | null = null
    const meta = await this.requireSql().transaction(async (tx) => {
      replaced = publishedOf((await tx.query(`SELECT ${this.channelColumns} FROM ${s}.meta WHERE id = 1 FOR UPDATE`)).rows[0])
      const end = `coalesce((SELECT last_seq FROM ${s}.log ORDER BY first_seq DESC LIMIT 1), floor_seq)`
      const publish = this.channels === null ? '' : ', channels = $1, channels_node = $2'
      const [row] = (
        await tx.query(
          `UPDATE ${s}.meta SET term = term + 1, last_seq = ${end}${publish} WHERE id = 1 RETURNING term, last_seq, floor_seq, ${this.channelColumns}`,
          this.channels === null ? [] : [this.channels, this.node],
        )
      ).rows
      if (this.channels !== null) await sendNotices(tx, [[this.channel, 'channels']])
      return row
    })
    if (meta === undefined) throw new LogCorruptionError(`corrupt event log in ${this.where}: its meta row is missing`, 0)
    this.published = publishedOf(meta)
    this.replacedChannels = replaced
    this.termHeldNow = Number(meta.term)
    this.lastSeq = Number(meta.last_seq)
    this.floorSeq = Number(meta.floor_seq)
  }

  /**
   * A follower, before it replays the snapshot (it fell behind a compaction): read the log's ends
   * again — they are the scheduler's, and moved since this log opened — so that readSnapshot()
   * and read() check the snapshot and the log against where they are now.
   */
  async followEnds(): Promise<void> {
    this.requireOpen()
    // A follower that just took the lease catches up before it decides: its ends were read as it
    // took it, and only it moves them now.
    if (this.termHeldNow > 0) return
    await this.readEnds()
  }

  private async readEnds(): Promise<void> {
    const sql = this.requireSql()
    const [meta] = (await sql.query(`SELECT floor_seq, ${this.channelColumns} FROM ${this.s}.meta WHERE id = 1`)).rows
    if (meta === undefined) throw new LogCorruptionError(`corrupt event log in ${this.where}: its meta row is missing`, 0)
    this.floorSeq = Number(meta.floor_seq)
    this.published = publishedOf(meta)
    const [tail] = (await sql.query(`SELECT last_seq FROM ${this.s}.log ORDER BY first_seq DESC LIMIT 1`)).rows
    this.lastSeq = tail === undefined ? this.floorSeq : Number(tail.last_seq)
  }

  /** The last seq committed to the log as of now (a follower's waits catch up to it first). */
  async headSeq(): Promise<number> {
    const sql = this.requireOpen()
    const [row] = (await sql.query(`SELECT coalesce((SELECT last_seq FROM ${this.s}.log ORDER BY first_seq DESC LIMIT 1), floor_seq) AS head FROM ${this.s}.meta WHERE id = 1`)).rows
    if (row === undefined) throw new LogCorruptionError(`corrupt event log in ${this.where}: its meta row is missing`, 0)
    return Number(row.head)
  }

  async append(batch: readonly WharfEvent[], history: HistoryWrite = NO_HISTORY_WRITE, tick?: DecidedTick): Promise<void> {
    this.requireOpen()
    const stage = tick === undefined || this.stageWithAppend === null ? null : this.stageWithAppend(tick)
    if (batch.length === 0) {
      if (history !== NO_HISTORY_WRITE) throw new RangeError('a history write needs the events that make it')
      if (stage !== null) await this.writeAlone(stage)
      return
    }
    const bytes = encodeBatch(batch) // before queueing: the encoding overlaps the previous write
    const first = batch[0]!.seq
    const last = batch[batch.length - 1]!.seq
    const payload = logPayload(first, last, bytes)
    return this.writes.append(
      () => {
        // One round trip (PgPool.pipelined): the COMMIT goes with the statements, so every check
        // is made by failing. The meta row comes last: the statements before it run while
        // the append before this one commits.
        let notices: Notice[] = [[this.channel, payload]]
        let held!: () => void
        const holding = new Promise<void>((resolve) => (held = resolve))
        const done = this.fencedPipeline(
          (tx) => {
            // A batch that takes finished jobs out of history waits for the append before it
            // first: that one may have just put them there, and a DELETE run before it commits
            // would not see those rows (they would stay in history, counted out). Statements
            // go out in the order they are made, so the lock is made first.
            const waits = history !== NO_HISTORY_WRITE && history.del.length > 0 ? [tx.query(`SELECT 1 FROM ${this.s}.meta WHERE id = 1 FOR NO KEY UPDATE`)] : []
            const staged = stage?.(tx, last)
            if (staged !== undefined) notices = notices.concat(staged.notices)
            const statements = [
              ...waits,
              tx.query(`INSERT INTO ${this.s}.log (first_seq, last_seq, term, body) VALUES ($1, $2, $3, $4)`, [first, last, this.termHeldNow, bytes]),
              ...(history === NO_HISTORY_WRITE ? [] : this.history.stage(tx, history)),
              ...(staged?.statements ?? []),
            ]
            // The new value is computed from the row as a locking subquery returns it: once the
            // append before this one has ended, the row as it left it. (An UPDATE alone computes
            // it from the row as its snapshot had it, and checks the column's NOT NULL before it
            // waits for the row: it failed while the append before this one still committed.)
            const moved = tx.query(
              `UPDATE ${this.s}.meta SET last_seq = CASE WHEN l.last_seq = $1 AND l.term = $2 THEN $3::bigint END ` +
                `FROM (SELECT last_seq, term FROM ${this.s}.meta WHERE id = 1 FOR NO KEY UPDATE) l WHERE meta.id = 1`,
              [first - 1, this.termHeldNow, last],
            )
            moved.then(held, held)
            return [...statements, moved]
          },
          // The notices go behind the COMMIT, in a transaction of their own that waits for no
          // flush (Staged says why), if the batch's row is there: they only ever announce a commit.
          (q) => [
            sendNotices(q, notices, `CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) s WHERE EXISTS (SELECT 1 FROM ${this.s}.log WHERE first_seq = $3 AND term = $4)`, [
              first,
              this.termHeldNow,
            ]),
          ],
          first,
        ).then((results) => {
          if (results[results.length - 1]!.count !== 1) throw new LogCorruptionError(`corrupt event log in ${this.where}: its meta row is missing`, first)
          // Committed: appends commit in order, but their answers may come back out of it.
          this.lastSeq = Math.max(this.lastSeq, last)
          if (history !== NO_HISTORY_WRITE) this.history.commit(history)
        })
        return { holding, done }
      },
      () => new Error(`the batch of seqs ${first}..${last} in ${this.where} is not written: the batch before it was not`),
    )
  }

  /** What `stage` writes, fenced by the term, in a transaction of its own (a tick that appended
   * no events still answers its calls), after the appends queued before it. */
  async writeAlone(stage: AppendStage): Promise<void> {
    this.requireOpen()
    await this.writes.alone(() =>
      this.fenced(async (tx) => {
        const held = this.termHeld(tx)
        const { statements, notices } = stage(tx, this.lastSeq)
        // (Its notices in it: this path is rare, and a statement after the commit would cost a round trip.)
        return (await Promise.all([held, ...statements, ...(notices.length === 0 ? [] : [sendNotices(tx, notices)])]))[0]
      }),
    )
  }

  /**
   * The batch an append's NOTIFY carried (payload 'log <last> <first> <base64>'), as committed;
   * null when it carried none (too large: read the log). A corrupt one throws, as a read would.
   */
  notifiedBatch(payload: string): readonly WharfEvent[] | null {
    const [, , first, encoded] = payload.split(' ', 4)
    if (encoded === undefined) return null
    return decodeBatch(Buffer.from(encoded, 'base64'), Number(first), this.where)
  }

  /**
   * The batches committed after `afterSeq`, in order, at most `limit` rows; null when the log was
   * compacted past `afterSeq` (a follower that fell that far behind replays the snapshot).
   */
  async readTail(afterSeq: number, limit = READ_CHUNK): Promise<(readonly WharfEvent[])[] | null> {
    const sql = this.requireOpen()
    const { rows } = await sql.query(`SELECT first_seq, body FROM ${this.s}.log WHERE last_seq > $1 ORDER BY first_seq LIMIT $2`, [afterSeq, limit])
    const batches: (readonly WharfEvent[])[] = []
    let expected = afterSeq + 1
    for (const row of rows) {
      const events = decodeBatch(row.body as Uint8Array, Number(row.first_seq), this.where)
      if (events[0]!.seq > expected) return batches.length === 0 ? null : batches
      batches.push(events[0]!.seq >= expected ? events : events.filter((e) => e.seq >= expected))
      expected = events[events.length - 1]!.seq + 1
    }
    if (rows.length === 0) {
      const [meta] = (await sql.query(`SELECT floor_seq FROM ${this.s}.meta WHERE id = 1`)).rows
      if (Number(meta?.floor_seq) > afterSeq) return null
    }
    return batches
  }

  /**
   * Hold cluster member `worker`'s session lock, and the node name's, on the lease's session
   * (pg-cluster.ts), taking them again after a reconnection. False when the name's lock is another
   * session's now: this one's was cut, and another process opened under the name meanwhile.
   */
  async holdMemberLocks(worker: string): Promise<boolean> {
    this.requireOpen()
    const [, named] = await Promise.all([this.lease.holdKey(memberLockKey(this.schema, worker)), this.node === null || this.lease.holdKey(nodeLockKey(this.schema, this.node))])
    return named
  }

  /** The refusal of an open under a name a live process holds, with that process's heartbeat age
   * (none when its member row is not written yet, or the tables not even created). */
  private async nodeInUse(node: string): Promise<NodeNameInUseError> {
    const age = await new PgClusterTables(this.schema, this.channel).heartbeatAge(this.requireSql(), node).catch(() => null)
    return new NodeNameInUseError(this.schema, node, age)
  }

  /** The pool, for the cluster's own tables (inbox, reply, member: pg-cluster.ts). */
  get pool(): PgPool {
    return this.requireOpen()
  }

  async initHistory(views: readonly JobView[]): Promise<void> {
    this.requireOpen()
    await this.writes.alone(() => this.fenced(async (tx) => {
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
    const bytes = await encodeSnapshotInTurns(snapshot)
    await this.writes.alone(async () => {
      checkSnapshotSeq(snapshot.seq, this.floorSeq, this.lastSeq)
      await this.fenced(async (tx) => (await tx.query(`UPDATE ${this.s}.meta SET snapshot = $1, snapshot_seq = $2 WHERE id = 1 AND term = $3`, [bytes, snapshot.seq, this.termHeldNow])).count)
    })
  }

  async compact(uptoSeq: number): Promise<void> {
    this.requireOpen()
    await this.writes.alone(async () => {
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
      await this.writes.settled() // appends accepted before close still land
      // Followers are told at once (else they find the lock free at their next try).
      await this.lease.release({ channel: this.channel, payload: 'leave' }).catch(() => undefined)
      // Ending the lease's client ends its session, which releases the advisory lock if held.
      await Promise.all([this.lease.end(), this.requireSql().end()])
    } finally {
      this.termHeldNow = 0
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
    try {
      await this.requireSql().transaction(async (tx) => {
        const count = await write(tx)
        if (count !== 1) throw this.deposed()
      })
    } catch (error) {
      throw await this.writeFailure(error)
    }
  }

  /** The statements `write` makes, in one pipelined transaction (PgPool.pipelined) that fails
   * unless this process's term is current and the log ends at `first` - 1; `after`'s behind its
   * COMMIT. */
  private async fencedPipeline(write: (tx: PgQueries) => readonly Promise<PgRows>[], after: (q: PgQueries) => readonly Promise<PgRows>[], first: number): Promise<PgRows[]> {
    try {
      return await this.requireSql().pipelined(write, after)
    } catch (error) {
      throw await this.writeFailure(error, first)
    }
  }

  /**
   * What a failed fenced write rejects with: SchedulerDeposedError when another term is current;
   * for an append (`first`), a refusal naming where the log ends when it does not end right
   * before the batch (its check failed, or its row's insert, for a batch that overlaps the log).
   */
  private async writeFailure(error: unknown, first?: number): Promise<unknown> {
    // A statement can fail because of what the next scheduler wrote (a finished job already in
    // history), or fail the term check (pipelined): under a superseded term, that is the cause.
    if (error instanceof SchedulerDeposedError || this.termHeldNow === 0) return error
    const [meta] = (await this.requireSql().query(`SELECT term, last_seq FROM ${this.s}.meta WHERE id = 1`).catch(() => ({ rows: [] }))).rows
    if (meta === undefined) return error
    if (Number(meta.term) !== this.termHeldNow) return this.deposed()
    // The log's end is only ever moved by this term now: what it says is committed (an append
    // whose answer was lost may have committed).
    const end = Number(meta.last_seq)
    this.lastSeq = Math.max(this.lastSeq, end)
    if (first === undefined || end === first - 1 || !refusedForItsPlace(error)) return error
    return new Error(`batch starts at seq ${first}, log ends at ${end}`, { cause: error })
  }

  /** 1 when this process's term is current (the meta row locked until commit), else 0. */
  private async termHeld(tx: PgQueries): Promise<number> {
    return (await tx.query(`SELECT 1 FROM ${this.s}.meta WHERE id = 1 AND term = $1 FOR SHARE`, [this.termHeldNow])).count
  }

  private deposed(): SchedulerDeposedError {
    const what = this.termHeldNow === 0 ? 'this Wharf is a follower' : `its term ${this.termHeldNow} was superseded by another process`
    return new SchedulerDeposedError(`this Wharf is no longer the scheduler of ${this.where}: ${what}; nothing was written`, this.schema)
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

  private gap(expected: number, found: number): LogCorruptionError {
    const what = found > expected ? `events ${expected}..${found - 1} are missing` : 'the record overlaps the previous one'
    return new LogCorruptionError(`corrupt event log at seq ${expected} in ${this.where}: ${what} (next record starts at seq ${found})`, expected)
  }
}
