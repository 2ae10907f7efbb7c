// The scheduler's lease on a schema: a session-level advisory lock, held by one reserved
// connection, and the term it was taken with. PostgreSQL drops the lock when that session ends
// (the process died, its connection was cut, pg_terminate_backend), and then another process may
// take it and bump the term; the term, checked inside every write (pg-log.ts), is what fences a
// scheduler that has not noticed yet. A session that failed once is never queried again (the
// driver leaves a query on a dead reserved connection waiting for ever): a new one is reserved.

import { crc32Text } from './crc32.js'
import type { PgPool, PgQueries } from './pg-driver.js'

type Session = PgQueries & { release(): void }

const LOCK = 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked'

/** The NOTIFY channel of a schema's cluster: at most 63 bytes, as PostgreSQL requires. */
export function notifyChannel(schema: string): string {
  const name = 'wharf_' + schema
  if (name.length <= 63) return name
  return `wharf_${schema.slice(0, 48)}_${crc32Text(schema).toString(16)}`
}

export class PgLease {
  private session: Session | null = null
  /** The advisory lock is held by `session`. */
  held = false

  constructor(
    private readonly sql: () => PgPool,
    private readonly schema: string,
  ) {}

  /** Migrate under a lock of its own (blocking, so that followers wait for a migrating peer). */
  async migrating<T>(work: () => Promise<T>): Promise<T> {
    const session = await this.current()
    const key = ['wharf-migrate:' + this.schema]
    await session.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', key)
    try {
      return await work()
    } finally {
      await session.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', key)
    }
  }

  /** Take the schema's lock if no session holds it; true when this one does. */
  async tryTake(): Promise<boolean> {
    if (this.held) return true
    const [row] = (await this.onSession((s) => s.query(LOCK, ['wharf:' + this.schema]))).rows
    this.held = row?.locked === true
    return this.held
  }

  /**
   * Is the lock still this session's? A failed session is replaced and the lock tried again: true
   * when it is held again (the caller then checks its term), false when another process holds it.
   */
  async check(): Promise<boolean> {
    try {
      await this.onSession((s) => s.query('SELECT 1'))
      return this.held
    } catch {
      this.held = false
      return this.tryTake()
    }
  }

  /** Release the lock now (close, or a deposed scheduler that took it back after its term ended). */
  async release(): Promise<void> {
    if (!this.held) return
    this.held = false
    await this.onSession((s) => s.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', ['wharf:' + this.schema]))
  }

  /** Give the session back to the pool (ending the pool ends it, and the lock with it). */
  end(): void {
    this.session?.release()
    this.session = null
    this.held = false
  }

  private async current(): Promise<Session> {
    this.session ??= await this.sql().session()
    return this.session
  }

  /** `work` on the session; if it fails, the session is dropped (and the lock with it). */
  private async onSession<T>(work: (session: Session) => Promise<T>): Promise<T> {
    const session = await this.current()
    try {
      return await work(session)
    } catch (error) {
      if (this.session === session) {
        this.session = null
        this.held = false
        session.release()
      }
      throw error
    }
  }
}
