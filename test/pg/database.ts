// A database of its own for one test file on the run's PostgreSQL server (global-setup.ts):
// created before the file's tests, dropped after them (connections forced off), so files never
// see each other's schemas. Each Wharf or PgLog in the file takes a fresh schema in it.
import { afterAll, beforeAll, expect, inject } from 'vitest'
import { Wharf, type OpenOptions } from '../../src/index.js'
import { connect } from '../../src/storage/pg-driver.js'
import { closedAfterEach } from '../unit/helpers.js'

let files = 0

export function pgTestDatabase(): { url(): string; schema(): string } {
  const name = `wharf_test_${process.pid}_${++files}_${Math.random().toString(36).slice(2, 8)}`
  const admin = inject('pgUrl')
  const url = new URL(admin)
  url.pathname = '/' + name
  let schemas = 0
  beforeAll(async () => {
    const pool = await connect(admin)
    await pool.query(`CREATE DATABASE ${name}`)
    await pool.end()
  })
  afterAll(async () => {
    const pool = await connect(admin)
    await pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await pool.end()
  })
  return { url: () => url.toString(), schema: () => `s${++schemas}` }
}

/**
 * For a describe block: opens a Wharf on `db`'s server as cluster member `node` of `schema`
 * (`root:2` unless `options` say otherwise), closed after each test.
 */
export function clusterMembers(db: { url(): string }): (schema: string, node: string, options?: OpenOptions) => Promise<Wharf> {
  const opened = closedAfterEach()
  return async (schema, node, options = {}) => {
    const wharf = await Wharf.open({ postgres: db.url(), schema, node, channels: 'root:2', ...options })
    opened.push(wharf)
    return wharf
  }
}

/** pg_terminate_backend on the session holding the lease of `schema` (the scheduler's), waiting
 * (up to 10 s) until that backend has exited: only then is its lock free for another to take. */
export async function terminateLockHolder(url: string, schema: string): Promise<void> {
  const pool = await connect(url)
  try {
    const { rows } = await pool.query(
      "SELECT pg_terminate_backend(pid, 10000) AS ok FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
      ['wharf:' + schema],
    )
    expect(rows.map((r) => r.ok)).toEqual([true])
  } finally {
    await pool.end()
  }
}
