// The scheduler's lease on a schema: a session-level advisory lock, and the term it was taken
// with. PostgreSQL drops the lock when its session ends (the process died, its connection was
// cut, pg_terminate_backend), and then another process may take it and bump the term; the term,
// checked inside every write (pg-log.ts), is what fences a scheduler that has not noticed yet.
//
// The lock lives on a connection of its own (a one-connection client, not a connection reserved
// from the log's pool: the driver leaves a query on a dead reserved connection waiting for ever).
// The client reconnects after its connection was cut, on a new session without the lock: the
// backend pid, read with every query, tells the two apart. After a query of the session failed,
// the next one goes to a new client: the driver can send it on the dying connection and never
// settle it (reproduced: after pg_terminate_backend, the first query fails and the second waits
// for ever). A query that does not settle in LEASE_QUERY_TIMEOUT_MS counts as failed, the same
// way: a scheduler whose session went silent learns it lost the lock instead of waiting for ever.

import { advisoryLockHeld } from './pg-cluster.js'
import { StorageError } from '../engine/errors.js'
import { connect, type PgPool, type PgRows } from './pg-driver.js'

const KEY = 'hashtextextended($1, 0)'

/** How long a query of the lease session may take before the session counts as lost (ms). */
export const LEASE_QUERY_TIMEOUT_MS = 30_000

export class PgLease {
  /** The session's client (a promise: a client given up is replaced at once, not after an await,
   * so that two queries failing together replace it once). */
  private sql: Promise<PgPool> | null = null
  /** The backend whose session holds the lock (null: not held). */
  private holder: number | null = null

  constructor(
    private readonly url: string,
    private readonly where: string,
    private readonly schema: string,
  ) {}

  get held(): boolean {
    return this.holder !== null
  }

  async open(): Promise<void> {
    this.sql = this.client()
    await this.sql
  }

  private client(): Promise<PgPool> {
    return connect(this.url, this.where, 1)
  }

  /** Migrate under a lock of its own (blocking, so that followers wait for a migrating peer). */
  async migrating<T>(work: () => Promise<T>): Promise<T> {
    const key = ['wharf-migrate:' + this.schema]
    // Waits while a peer migrates, for as long as that takes: no timeout on this one.
    await this.ask(`SELECT pg_advisory_lock(${KEY}), pg_backend_pid() AS pid`, key, null)
    try {
      return await work()
    } finally {
      await this.ask(`SELECT pg_advisory_unlock(${KEY})`, key)
    }
  }

  /**
   * Take the schema's lock if no session holds it; true when this one does. `unless`: an SQL
   * condition (no parameters) under which it is left free, judged in the statement that would
   * take it — so that a session that must not lead never holds the lock, not even for a moment:
   * taken and then given back, it failed the check of a scheduler made in between, which was
   * deposed.
   */
  async tryTake(unless?: string): Promise<boolean> {
    if (await this.check()) return true
    const take = unless === undefined ? `pg_try_advisory_lock(${KEY})` : `CASE WHEN ${unless} THEN false ELSE pg_try_advisory_lock(${KEY}) END`
    const [row] = (await this.ask(`SELECT ${take} AS locked, pg_backend_pid() AS pid`, ['wharf:' + this.schema])).rows
    this.holder = row?.locked === true ? Number(row.pid) : null
    return this.held
  }

  /** Is the lock still held by this client's session (its backend is the one that took it)? */
  async check(): Promise<boolean> {
    if (this.holder === null) return false
    try {
      const [row] = (await this.ask('SELECT pg_backend_pid() AS pid')).rows
      if (Number(row?.pid) !== this.holder) this.holder = null
    } catch {
      this.holder = null // the query failed with the session: the lock went with it
    }
    return this.held
  }

  /**
   * Release the lock now (close, or a deposed scheduler that took it back after its term ended),
   * then NOTIFY `channel` with `payload` when given: unlocked first, so that a follower woken by it
   * takes the lock at once. (Unlocking a lock this session lost does nothing.)
   */
  async release(notify?: { channel: string; payload: string }): Promise<void> {
    if (this.holder === null) return
    this.holder = null
    const unlock = `pg_advisory_unlock(${KEY})`
    if (notify === undefined) await this.ask(`SELECT ${unlock}`, ['wharf:' + this.schema])
    else await this.ask(`SELECT ${unlock}, pg_notify($2, $3)`, ['wharf:' + this.schema, notify.channel, notify.payload])
  }

  /**
   * Hold the advisory lock of `key` (a member's: pg-cluster.ts) on this client's session, taking
   * it again if the session was replaced since (a reconnection). It ends with the session, which
   * is how the others learn at once that this process died. True while held.
   */
  async holdKey(key: string): Promise<boolean> {
    const held = advisoryLockHeld(KEY, 'pg_backend_pid()')
    const [row] = (await this.ask(`SELECT CASE WHEN ${held} THEN true ELSE pg_try_advisory_lock(${KEY}) END AS held, pg_backend_pid() AS pid`, [key])).rows
    return row?.held === true
  }

  /** Close the client (its session ends, and the lock with it). */
  async end(): Promise<void> {
    this.holder = null
    const sql = this.sql
    this.sql = null
    await (await sql?.catch(() => null))?.end()
  }

  /**
   * One query of the session. If it fails or does not settle within `timeoutMs` (null: no limit),
   * the session is given up (its lock with it) and the next query goes to a new client.
   */
  private async ask(text: string, params?: readonly unknown[], timeoutMs: number | null = LEASE_QUERY_TIMEOUT_MS): Promise<PgRows> {
    const current = this.session()
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const sql = await current
      const query = sql.query(text, params)
      const silent = new Promise<never>((_, reject) => {
        if (timeoutMs !== null) timer = setTimeout(() => reject(new StorageError(`the lease session on ${this.where} did not answer within ${timeoutMs} ms`)), timeoutMs)
      })
      const rows = await Promise.race([query, silent])
      // Answered by a client given up meanwhile, on a connection the driver made again for it
      // (giveUp): that session is ended — from this one, the client refusing statements once
      // ended —, and a lock it took goes with it. (Every statement that takes one reads the pid.)
      if (this.sql !== current) {
        const pid = rows.rows[0]?.pid
        if (pid !== undefined && this.sql !== null) void this.ask('SELECT pg_terminate_backend($1)', [pid]).catch(() => undefined)
        // (Its connection broke: a connection lost, as the outage it is part of — pg-driver.ts.)
        throw new StorageError(`the lease session on ${this.where} was replaced while a query of it waited`, { cause: { code: 'CONNECTION_CLOSED' } })
      }
      return rows
    } catch (error) {
      if (this.sql === current) this.giveUp(current)
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * The session's client failed (`current`): the next query goes to a new one, and this one is
   * destroyed at once — not ended as usual, which still sends what waits on it for a while. The
   * driver keeps the statements queued on a client whose connection broke and sends them once it
   * connects again, even after it was destroyed (a reconnection under way goes on): a lock asked
   * for on it just before (a member's, the node name's, the lease) was taken on that connection,
   * beside this session's next one (whose try of it failed: "another process opened under the
   * node name", seen after a server restart under load), and held until that client ended, if
   * ever — then freed: a live member found dead. Such an answer is refused, and its session
   * ended (ask()).
   */
  private giveUp(current: Promise<PgPool>): void {
    this.holder = null
    const next = this.client()
    next.catch(() => undefined) // (its failure is the next query's)
    this.sql = next
    void current.then((sql) => sql.destroy()).catch(() => undefined)
  }

  private session(): Promise<PgPool> {
    if (this.sql === null) return Promise.reject(new Error(`the lease on ${this.where} is closed`))
    return this.sql
  }
}
