// The PostgreSQL driver (porsager's `postgres`, chosen by the measurements in the README), loaded
// only when a Wharf opens on PostgreSQL: an embedded Wharf never loads it, and does not need it
// installed (it is an optional peer dependency). Only types are imported statically here. PgLog
// and PgHistory see the three things they need through PgPool, so the driver stays in this file.

import type postgresDriver from 'postgres'
import type { ReservedSql, Sql } from 'postgres'
import { StorageError, WharfError } from '../engine/errors.js'
import { arrayLiteral } from './pg-arrays.js'
import type { Socket } from 'node:net'
import { coalescingSocket, type SocketTarget } from './pg-socket.js'
import { tlsModeOf } from './pg-tls.js'
import { takeTlsFiles } from './pg-tls-files.js'
import { connectionUrlProblem, redactedUrl } from './pg-url.js'

export { redactedUrl }

/** The version the tests and benches run; the peer dependency accepts its minor updates. */
export const DRIVER = 'postgres@3.4.9'

/** Connections of one PgLog's pool: appends go one at a time; reads (jobs(), pages) beside them. */
const POOL_MAX = 4

export type PgRow = Record<string, unknown>

export interface PgRows {
  rows: PgRow[]
  /** Rows the statement changed (or returned). */
  count: number
}

export interface PgQueries {
  /**
   * One statement, parameters as $1…; bytea comes back as a Buffer, bigint as a string. Several
   * calls made without awaiting in between are pipelined, in order, on one connection.
   */
  query(text: string, params?: readonly unknown[]): Promise<PgRows>
}

export interface PgPool extends PgQueries {
  /** `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: PgQueries) => Promise<T>): Promise<T>
  /**
   * The statements `write` makes (at once, not after an await), in one transaction sent together
   * with its BEGIN and COMMIT on one connection: one round trip, where transaction() takes three
   * (BEGIN, the statements, COMMIT — each awaited). The COMMIT is sent before any result is read,
   * so a statement must fail, not return fewer rows, when the transaction must not commit: a
   * failed statement aborts the transaction, and the COMMIT rolls it back. Resolves with the
   * statements' results once committed; rejects with the first failure. `after`: statements sent
   * right behind the COMMIT (in the same round trip), each a transaction of its own — they run
   * whether or not it committed, so each checks that itself; they only announce (NOTIFY), and
   * their failures are ignored (listeners also poll).
   */
  pipelined(write: (tx: PgQueries) => readonly Promise<PgRows>[], after?: (q: PgQueries) => readonly Promise<PgRows>[]): Promise<PgRows[]>
  /**
   * A connection of its own (a session-level advisory lock lives on it), until `release`; the
   * pool cannot end while one is out.
   */
  session(): Promise<PgQueries & { release(): void }>
  /**
   * LISTEN on `channel` (a connection of its own, re-listened after a reconnect: notifications
   * sent meanwhile are lost, so listeners also poll). Resolves with the UNLISTEN.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>
  end(): Promise<void>
  /** End at once: the statements waiting on its connections are refused, never sent. */
  destroy(): Promise<void>
}

type Driver = typeof postgresDriver

/**
 * Seconds a closed connection waits before it connects again, by how many connections of the
 * pool failed in a row (the driver's count, reset once one connects): 50 ms doubling, at most
 * RECONNECT_MAX_S. The driver's own delay grows to 20 s (3^n/100): after a server was down for
 * 3 s, the first call to go through came 1.4–17 s after it was back (0.23–0.34 s now; scratch
 * restart.mts: stop, 3 s, start, calls from 3 loops). A call waits for this before it connects,
 * so it also bounds how long one takes to fail while the server is away.
 */
const RECONNECT_MAX_S = 0.5

export function reconnectDelay(failures: number): number {
  return Math.min(RECONNECT_MAX_S, 0.05 * 2 ** failures)
}

/**
 * A pool on `url`, notices dropped (CREATE … IF NOT EXISTS is noisy). A server or connection error
 * of a query escapes as a StorageError naming `where` (the schema and server), never raw.
 */
export async function connect(url: string, where = redactedUrl(url), max = POOL_MAX): Promise<PgPool> {
  let postgres: Driver
  try {
    postgres = (await import('postgres')).default
  } catch (error) {
    throw new StorageError(`Wharf.open({ postgres }) needs the PostgreSQL driver package \`postgres\`, which is not installed: npm install ${DRIVER}`, { cause: error })
  }
  // `socket` is a documented option its types leave out. connect_timeout is left to the driver:
  // 30 s unless the URL (?connect_timeout=5, as libpq reads it) or PGCONNECT_TIMEOUT says.
  // fetch_types off: the driver's catalog query on each new connection (array types) was sent with
  // its promise dropped, so a connection lost under it — a server restarting as the pool
  // reconnects — was an unhandled rejection, which ends the app's process (porsager/postgres
  // #1192, #1205, #1223). Wharf writes its array parameters itself (pg-arrays.ts), and its socket
  // sends a Sync once a new connection is ready, so that the driver hands it to the reserve()
  // waiting on it (pg-ready.ts), which it fails to do without the query (#751). TLS is the
  // socket's too (pg-tls.ts), in the mode the driver read from the URL: the driver sees plain
  // protocol, and the socket sees when a connection is ready. backoff: see reconnectDelay.
  const options = { max, onnotice: () => undefined, fetch_types: false, backoff: reconnectDelay }
  let sql: Sql
  try {
    const { url: driverUrl, files } = takeTlsFiles(url)
    // The driver's own reading of the URL and environment, for the TLS mode alone.
    const read = postgres(driverUrl, options as Parameters<Driver>[1])
    const tls = tlsModeOf(read.options.ssl, (read.options as { sslnegotiation?: unknown }).sslnegotiation, files)
    void read.end() // (it never connected)
    const socket = (target: SocketTarget): Promise<Socket> => coalescingSocket(target, tls)
    sql = postgres(driverUrl, { ...options, ssl: false, socket } as Parameters<Driver>[1])
  } catch (error) {
    // No cause: the driver's TypeError carries the URL, password included (its `input`).
    throw new StorageError(`PostgreSQL connection URL ${where} cannot be used: ${connectionUrlProblem(url) ?? (error instanceof Error ? error.message : String(error))}`)
  }
  return {
    query: queriesOf(sql, where).query,
    transaction: (work) => named(sql.begin((tx: unknown) => work(queriesOf(tx as Sql, where))) as Promise<never>, where),
    pipelined: async (write, after) => {
      const reserved = await reserveWithin(sql, where)
      const queries = queriesOf(reserved, where)
      // A connection lost under it is the pool's to reconnect: released, the driver would
      // hand it out again as if it were open, and what is sent on it would never settle.
      let lost = false
      const watched: PgQueries = {
        query: (text, params) => {
          const result = queries.query(text, params)
          result.catch((error: unknown) => (lost ||= connectionLost(error)))
          return result
        },
      }
      try {
        return await pipelinedOn(watched, write, after)
      } finally {
        if (!lost) reserved.release()
      }
    },
    session: async () => {
      const reserved = await reserveWithin(sql, where)
      return { ...queriesOf(reserved, where), release: () => reserved.release() }
    },
    listen: async (channel, onNotify) => {
      const listening = await named(sql.listen(channel, onNotify), where)
      return () => listening.unlisten()
    },
    end: () => sql.end({ timeout: 5 }),
    destroy: () => sql.end({ timeout: 0 }),
  }
}

/**
 * sql.reserve(), given up with a StorageError after the pool's connect_timeout. The driver loses
 * a reserve that waited while a connection of its pool reconnected (it takes the reserve as the
 * connection's first statement, then hands the connection to the next waiting call, or to
 * nobody): the call waited for good — after a server came back, say, with calls made while it was
 * away (pg-pool.test.ts). A reserve given up and granted later goes straight back.
 */
async function reserveWithin(sql: Sql, where: string): Promise<ReservedSql> {
  const reserving = sql.reserve()
  const seconds = sql.options.connect_timeout
  // connect_timeout=0 is libpq's (and the driver's) "no limit": then neither is this wait.
  if (!(seconds > 0)) return named(reserving, where)
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageError(`PostgreSQL failed on ${where}: no connection free or made within ${seconds} s (connect_timeout)`)), seconds * 1000)
  })
  try {
    return await Promise.race([named(reserving, where), late])
  } catch (error) {
    reserving.then((reserved) => reserved.release(), () => undefined)
    throw error
  } finally {
    clearTimeout(timer)
  }
}

function queriesOf(sql: Sql, where: string): PgQueries {
  return {
    query: (text, params) => named(run(sql, text, params), where),
  }
}

/** PgPool.pipelined on the connection `tx` holds alone. */
async function pipelinedOn(tx: PgQueries, write: (tx: PgQueries) => readonly Promise<PgRows>[], after?: (q: PgQueries) => readonly Promise<PgRows>[]): Promise<PgRows[]> {
  let open = true
  // Statements go out in the order they are made: one made after COMMIT would run on its own.
  const sealed: PgQueries = { query: (text, params) => (open ? tx.query(text, params) : Promise.reject(new Error('a pipelined transaction takes its statements at once, not after an await'))) }
  const begin = tx.query('BEGIN')
  let statements: readonly Promise<PgRows>[]
  try {
    statements = write(sealed)
  } catch (error) {
    open = false
    await Promise.allSettled([begin, tx.query('ROLLBACK')]) // the connection goes back idle
    throw error
  }
  open = false
  const commit = tx.query('COMMIT')
  const announced = after?.(tx) ?? []
  const all = await settledUnlessCut([begin, ...statements, commit])
  if ('cut' in all) throw all.cut // (and what was announced behind it will not settle either)
  await settledUnlessCut(announced)
  // The first failure is the cause: the statements after it failed for the aborted transaction.
  const failed = all.find((settled) => settled.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return all.slice(1, -1).map((settled) => (settled as PromiseFulfilledResult<PgRows>).value)
}

/**
 * Promise.allSettled of statements pipelined on a reserved connection, or, once one of them
 * failed because the connection was lost, that failure alone (`cut`): the driver never settles the
 * statements still queued on a reserved connection when it closes (those behind a statement it
 * is preparing, say), and a server that terminated the backend mid-transaction rolled it back.
 */
async function settledUnlessCut(statements: readonly Promise<PgRows>[]): Promise<PromiseSettledResult<PgRows>[] | { cut: unknown }> {
  let cut!: (reason: unknown) => void
  const lost = new Promise<{ cut: unknown }>((resolve) => (cut = (reason) => resolve({ cut: reason })))
  for (const statement of statements) statement.catch((error: unknown) => (connectionLost(error) ? cut(error) : undefined))
  return Promise.race([Promise.allSettled(statements), lost])
}

/** The driver's own connection errors (CONNECTION_CLOSED, CONNECTION_DESTROYED …) and the
 * system's (ECONNRESET …), as they come, or as the cause of the StorageError named() makes. */
export function connectionLost(error: unknown): boolean {
  const code = (error instanceof StorageError ? (error.cause as { code?: unknown } | undefined) : (error as { code?: unknown } | undefined))?.code
  return typeof code === 'string' && /^(CONNECTION_|E[A-Z]+$)/.test(code)
}

async function run(sql: Sql, text: string, params: readonly unknown[] | undefined): Promise<PgRows> {
  // An array parameter goes as its literal (pg-arrays.ts), typed by the statement's cast.
  const values = params === undefined ? [] : params.map((p) => (Array.isArray(p) ? arrayLiteral(p) : p))
  // Prepared (named, once per connection and text): an unprepared statement with parameters
  // costs the driver a round trip of its own to learn their types (Parse/Describe, then
  // Bind/Execute), and holds back the statements pipelined after it — a batch's transaction of
  // six statements made twelve round trips. Texts vary only by schema and a few fixed variants
  // (never by values), so each connection prepares a bounded set.
  const result = await sql.unsafe(text, values as never[], { prepare: values.length > 0 })
  return { rows: result as unknown as PgRow[], count: result.count }
}

/** A server error (it has a severity), a connection error (ECONNREFUSED, CONNECT_TIMEOUT …) or a
 * TLS one (ETLS from pg-tls.ts; Node's: DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID …). */
async function named<T>(work: Promise<T>, where: string): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (!(error instanceof Error) || error instanceof WharfError) throw error
    const code = (error as { code?: unknown }).code
    if ('severity' in error || (typeof code === 'string' && /^(E[A-Z]+$|CONNECT|ERR_TLS_|ERR_SSL_|UNABLE_TO_)|CERT/.test(code))) {
      throw new StorageError(`PostgreSQL failed on ${where}: ${error.message}`, { cause: error })
    }
    throw error
  }
}

