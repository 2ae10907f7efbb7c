// The PostgreSQL driver choice, measured: node-postgres (`pg`) against porsager's `postgres` on
// the operations PgLog performs — a batch row appended in its own transaction, a transaction that
// appends a batch with its history rows (one multi-row insert), and a replay reading 10,000 rows
// in order — plus the same append with the batch stored as jsonb instead of bytea. Each with
// synchronous_commit on (the server's default: a commit waits for the disk) and off (the
// driver's own cost shows).

import pg from 'pg'
import postgres from 'postgres'
import { Wharf } from '../index.js'
import { runNoops } from './storage-benches.js'

const BODY = Buffer.alloc(2_048, 7)
const VIEW = Buffer.alloc(200, 3)
const JSON_BODY = JSON.stringify(Array.from({ length: 40 }, (_, i) => [3, 1, `01JBENCH${String(i).padStart(18, '0')}`, { n: i }]))

export interface DriverBench {
  name: string
  /** n transactions, each one INSERT of a ~2 KB bytea. */
  insertOne(n: number): Promise<void>
  /** n transactions, each one batch row and `rows` history rows in one multi-row INSERT. */
  insertMany(n: number, rows: number): Promise<void>
  /** Every row of the 10,000-row table, in seq order. */
  readAll(): Promise<number>
  /** n transactions, each one INSERT of the batch as jsonb. */
  insertJson(n: number): Promise<void>
  close(): Promise<void>
}

const SETUP = [
  'DROP SCHEMA IF EXISTS bench CASCADE',
  'CREATE SCHEMA bench',
  'CREATE TABLE bench.log (seq bigint PRIMARY KEY, body bytea NOT NULL)',
  'CREATE TABLE bench.log_json (seq bigint PRIMARY KEY, body jsonb NOT NULL)',
  'CREATE TABLE bench.views (uuid text PRIMARY KEY, body bytea NOT NULL)',
  'CREATE TABLE bench.replay (seq bigint PRIMARY KEY, body bytea NOT NULL)',
  "INSERT INTO bench.replay SELECT g, decode(repeat('ab', 300), 'hex') FROM generate_series(1, 10000) g",
]

/** Fresh tables for one driver's run (the replay table holds 10,000 rows of 300 B). */
export async function prepareBench(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined })
  for (const statement of SETUP) await sql.unsafe(statement)
  await sql.end()
}

let next = 0

/** synchronous_commit off: the driver's own cost, without the wait for the disk. */
export type CommitMode = 'on' | 'off'

export function benchPg(url: string, commit: CommitMode): DriverBench {
  const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c synchronous_commit=${commit}` })
  const inTransaction = async (work: (client: pg.PoolClient) => Promise<unknown>): Promise<void> => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await work(client)
      await client.query('COMMIT')
    } finally {
      client.release()
    }
  }
  return {
    name: 'pg',
    async insertOne(n) {
      for (let i = 0; i < n; i++) await inTransaction((c) => c.query('INSERT INTO bench.log (seq, body) VALUES ($1, $2)', [++next, BODY]))
    },
    async insertMany(n, rows) {
      for (let i = 0; i < n; i++) {
        const uuids = Array.from({ length: rows }, () => `u${++next}`)
        await inTransaction(async (c) => {
          await c.query('INSERT INTO bench.log (seq, body) VALUES ($1, $2)', [next, BODY])
          await c.query('INSERT INTO bench.views (uuid, body) SELECT * FROM unnest($1::text[], $2::bytea[])', [uuids, uuids.map(() => VIEW)])
        })
      }
    },
    async readAll() {
      const result = await pool.query('SELECT seq, body FROM bench.replay ORDER BY seq')
      return result.rows.length
    },
    async insertJson(n) {
      for (let i = 0; i < n; i++) await inTransaction((c) => c.query('INSERT INTO bench.log_json (seq, body) VALUES ($1, $2)', [++next, JSON_BODY]))
    },
    close: () => pool.end(),
  }
}

export function benchPostgres(url: string, commit: CommitMode): DriverBench {
  const sql = postgres(url, { max: 1, onnotice: () => undefined, connection: { synchronous_commit: commit } })
  return {
    name: 'postgres',
    async insertOne(n) {
      for (let i = 0; i < n; i++) await sql.begin((tx) => tx`INSERT INTO bench.log (seq, body) VALUES (${++next}, ${BODY})`)
    },
    async insertMany(n, rows) {
      for (let i = 0; i < n; i++) {
        const uuids = Array.from({ length: rows }, () => `u${++next}`)
        await sql.begin((tx) => [
          tx`INSERT INTO bench.log (seq, body) VALUES (${next}, ${BODY})`,
          tx`INSERT INTO bench.views (uuid, body) SELECT * FROM unnest(${tx.array(uuids)}::text[], ${tx.array(uuids.map(() => VIEW))}::bytea[])`,
        ])
      }
    },
    async readAll() {
      return (await sql`SELECT seq, body FROM bench.replay ORDER BY seq`).length
    },
    async insertJson(n) {
      for (let i = 0; i < n; i++) await sql.begin((tx) => tx`INSERT INTO bench.log_json (seq, body) VALUES (${++next}, ${JSON_BODY}::jsonb)`)
    },
    close: () => sql.end(),
  }
}

let schemas = 0

/** n no-op jobs enqueue→done on a PostgreSQL-backed Wharf, producer in rounds of 1,000. */
export async function benchPgLifecycle(url: string, n: number, capacity: number): Promise<void> {
  const wharf = await Wharf.open({ postgres: url, schema: `lifecycle_${++schemas}`, channels: `root:${capacity}`, snapshotEvery: 0 })
  await runNoops(wharf, n)
  if (wharf.stats().states.done !== n) throw new Error('PostgreSQL bench lost jobs')
  await wharf.close()
}
