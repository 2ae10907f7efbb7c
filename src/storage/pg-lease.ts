// The scheduler's lease on a schema: a session-level advisory lock, and the term it was taken
// with. PostgreSQL drops the lock when its session ends (the process died, its connection was
// cut, pg_terminate_backend), and then another process may take it and bump the term; the term,
// checked inside every write (pg-log.ts), is what fences a scheduler that has not noticed yet.
//
// The lock lives on a connection of its own (a one-connection client, not a connection reserved
// from the log's pool: the driver leaves a query on a dead reserved connection waiting for ever).
// The client reconnects after its connection was cut, on a new session without the lock: the
// backend pid, read with every query, tells the two apart.

import { crc32Text } from './crc32.js'
import { advisoryLockHeld } from './pg-cluster.js'
import { connect, type PgPool } from './pg-driver.js'

/** The NOTIFY channel of a schema's cluster: at most 63 bytes, as PostgreSQL requires. */
export function notifyChannel(schema: string): string {
  const name = 'wharf_' + schema
  if (name.length <= 63) return name
  return `wharf_${schema.slice(0, 48)}_${crc32Text(schema).toString(16)}`
}

const KEY = 'hashtextextended($1, 0)'

export class PgLease {
  private sql: PgPool | null = null
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
    this.sql = await connect(this.url, this.where, 1)
  }

  /** Migrate under a lock of its own (blocking, so that followers wait for a migrating peer). */
  async migrating<T>(work: () => Promise<T>): Promise<T> {
    const key = ['wharf-migrate:' + this.schema]
    await this.session().query(`SELECT pg_advisory_lock(${KEY})`, key)
    try {
      return await work()
    } finally {
      await this.session().query(`SELECT pg_advisory_unlock(${KEY})`, key)
    }
  }

  /** Take the schema's lock if no session holds it; true when this one does. */
  async tryTake(): Promise<boolean> {
    if (await this.check()) return true
    const [row] = (await this.session().query(`SELECT pg_try_advisory_lock(${KEY}) AS locked, pg_backend_pid() AS pid`, ['wharf:' + this.schema])).rows
    this.holder = row?.locked === true ? Number(row.pid) : null
    return this.held
  }

  /** Is the lock still held by this client's session (its backend is the one that took it)? */
  async check(): Promise<boolean> {
    if (this.holder === null) return false
    try {
      const [row] = (await this.session().query('SELECT pg_backend_pid() AS pid')).rows
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
    if (notify === undefined) await this.session().query(`SELECT ${unlock}`, ['wharf:' + this.schema])
    else await this.session().query(`SELECT ${unlock}, pg_notify($2, $3)`, ['wharf:' + this.schema, notify.channel, notify.payload])
  }

  /**
   * Hold the advisory lock of `key` (a member's: pg-cluster.ts) on this client's session, taking
   * it again if the session was replaced since (a reconnection). It ends with the session, which
   * is how the others learn at once that this process died. True while held.
   */
  async holdKey(key: string): Promise<boolean> {
    const held = advisoryLockHeld(KEY, 'pg_backend_pid()')
    const [row] = (await this.session().query(`SELECT CASE WHEN ${held} THEN true ELSE pg_try_advisory_lock(${KEY}) END AS held`, [key])).rows
    return row?.held === true
  }

  /** Close the client (its session ends, and the lock with it). */
  async end(): Promise<void> {
    this.holder = null
    const sql = this.sql
    this.sql = null
    await sql?.end()
  }

  private session(): PgPool {
    if (this.sql === null) throw new Error(`the lease on ${this.where} is closed`)
    return this.sql
  }
}
