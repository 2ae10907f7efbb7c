// Proves PgLog keeps the EventLog contract on a real PostgreSQL server (shared suite), and what
// only it does: one row per batch, tables created and versioned on open, a newer schema refused,
// a second opener of a held schema refused by name (SchemaLockedError) unless it opens as a cluster
// member, and every write fenced by the scheduler's term (a bumped term makes appends fail with
// SchedulerDeposedError and write nothing, also when the bump commits while an append waits on it).
import { afterEach, describe, expect, it } from 'vitest'
import { SchedulerDeposedError, SchemaLockedError, StorageError } from '../../src/engine/errors.js'
import { connect, type PgPool } from '../../src/storage/pg-driver.js'
import { PgLog } from '../../src/storage/pg-log.js'
import { PG_SCHEMA_VERSION } from '../../src/storage/pg-schema.js'
import { historyQuery } from '../../src/storage/history.js'
import { esc } from '../../src/storage/key-escape.js'
import { encodeView } from '../../src/storage/view-codec.js'
import { pgTestDatabase } from '../pg/database.js'
import { doneView, eventLogContract, makeBatch, readAll } from './event-log-contract.js'
import { failure } from './helpers.js'

const db = pgTestDatabase()

/** Every migration, each recorded once. */
const allVersions = (): number[] => Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1)

eventLogContract('PgLog', async () => {
  const schema = db.schema()
  const opened: PgLog[] = []
  const make = (): PgLog => {
    const log = new PgLog(db.url(), { schema })
    opened.push(log)
    return log
  }
  return {
    log: make(),
    reopen: make,
    cleanup: async () => {
      for (const log of opened) await log.close()
    },
  }
})

describe('PgLog', () => {
  const logs: PgLog[] = []
  const pools: PgPool[] = []
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close()
    for (const pool of pools.splice(0)) await pool.end()
  })
  const logOn = (schema: string, options: { schemaVersion?: number } = {}): PgLog => {
    const log = new PgLog(db.url(), { schema, ...options })
    logs.push(log)
    return log
  }
  const admin = async (): Promise<PgPool> => {
    const pool = await connect(db.url())
    pools.push(pool)
    return pool
  }

  it('writes one row per batch, with the term of the process that appended it', async () => {
    const schema = db.schema()
    const log = logOn(schema)
    await log.open()
    await log.append(makeBatch(1, 3))
    await log.append(makeBatch(4, 2))
    const rows = (await (await admin()).query(`SELECT first_seq, last_seq, term FROM ${schema}.log ORDER BY first_seq`)).rows
    expect(rows.map((r) => [Number(r.first_seq), Number(r.last_seq), Number(r.term)])).toEqual([[1, 3, 1], [4, 5, 1]])
  })

  it('creates its tables at the current schema version on first open, and a reopen does not migrate again', async () => {
    const schema = db.schema()
    await logOn(schema).open()
    await logs.pop()!.close()
    await logOn(schema).open()
    const versions = (await (await admin()).query(`SELECT version FROM ${schema}.schema_version`)).rows.map((r) => r.version)
    expect(versions).toEqual(allVersions())
  })

  it('refuses a schema written by a newer Wharf, changing nothing', async () => {
    const schema = db.schema()
    const log = logOn(schema)
    await log.open()
    await log.append(makeBatch(1, 2))
    await log.close()
    const pool = await admin()
    await pool.query(`INSERT INTO ${schema}.schema_version (version) VALUES (${PG_SCHEMA_VERSION + 1})`)
    const error = await failure(() => logOn(schema).open())
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toMatch(new RegExp(`"${schema}" is at version ${PG_SCHEMA_VERSION + 1}.*knows versions up to ${PG_SCHEMA_VERSION}: upgrade Wharf`))
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.log`)).rows[0]!.n).toBe(1)
  })

  it('migrates an older schema up to the current version on open', async () => {
    const schema = db.schema()
    // A schema left at version 0: the version table exists, nothing else (a crash mid-first-open).
    const pool = await admin()
    await pool.query(`CREATE SCHEMA ${schema}`)
    await pool.query(`CREATE TABLE ${schema}.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
    const log = logOn(schema)
    await log.open()
    await log.append(makeBatch(1, 1))
    expect((await pool.query(`SELECT version FROM ${schema}.schema_version`)).rows.map((r) => r.version)).toEqual(allVersions())
  })

  it('fills the batch column of history rows written before version 6 from their views, so that jobs of a batch are found there', async () => {
    const schema = db.schema()
    const old = logOn(schema, { schemaVersion: 5 })
    await old.open()
    await old.close()
    // Rows as a Wharf of version 5 wrote them: no batch column; the batch is in the view only.
    const pool = await admin()
    const rows = [doneView('a', { batchUuid: 'b\u00001' }), doneView('b'), doneView('c', { batchUuid: 'b2' })]
    for (const view of rows) {
      await pool.query(`INSERT INTO ${schema}.history (uuid, state, channel, model, method, finished_at, view) VALUES ($1, 'done', 'root', 'res.partner', 'send', 2000, $2)`, [esc(view.uuid), encodeView(view)])
    }
    const log = logOn(schema)
    await log.open()
    expect((await log.history.page(historyQuery({ batchUuid: 'b\u00001' }))).map((v) => v.uuid)).toEqual(['a'])
    expect((await log.history.page(historyQuery({ batchUuid: 'b2' }))).map((v) => v.uuid)).toEqual(['c'])
  })

  it('refuses a second process on a held schema with SchemaLockedError, and takes it once the first closes', async () => {
    const schema = db.schema()
    const first = logOn(schema)
    await first.open()
    await first.append(makeBatch(1, 2))
    const second = logOn(schema)
    const error = await failure(() => second.open())
    expect(error).toBeInstanceOf(SchemaLockedError)
    expect(error).toMatchObject({ code: 'SCHEMA_LOCKED', schema })
    expect((error as Error).message).toMatch(/in use by another Wharf process.*next milestone/)
    await first.close()
    await second.open()
    expect(await readAll(second)).toEqual([makeBatch(1, 2)])
    await second.append(makeBatch(3, 1))
  })

  it('fences every write by term: once another term is current, appends, snapshots and compaction fail and write nothing', async () => {
    const schema = db.schema()
    const log = logOn(schema)
    await log.open()
    await log.append(makeBatch(1, 2), { put: [], del: [] })
    const pool = await admin()
    await pool.query(`UPDATE ${schema}.meta SET term = term + 1`)
    await expect(log.append(makeBatch(3, 1))).rejects.toThrow(/no longer the scheduler.*term 1 was superseded/)
    await expect(log.writeSnapshot({ seq: 2, formatVersion: 1, state: null })).rejects.toThrow(SchedulerDeposedError)
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.log`)).rows[0]!.n).toBe(1)
    expect((await pool.query(`SELECT snapshot FROM ${schema}.meta`)).rows[0]!.snapshot).toBeNull()
    // Each open is a new term: the next process writes again.
    await log.close()
    const next = logOn(schema)
    await next.open()
    await next.append(makeBatch(3, 1))
    expect((await pool.query(`SELECT term FROM ${schema}.log WHERE first_seq = 3`)).rows[0]!.term).toBe('3')
  })

  it("fences an append sent while a takeover's term bump waits to commit: it waits, then fails, writes nothing (history included) and announces nothing", async () => {
    const schema = db.schema()
    const log = logOn(schema)
    await log.open()
    await log.append(makeBatch(1, 2))
    const pool = await admin()
    const notified: string[] = []
    const unlisten = await pool.listen(log.channel, (payload) => notified.push(payload.split(' ', 2).join(' ')))
    await log.append(makeBatch(3, 1)) // announced once committed
    const takeover = await pool.session()
    try {
      await takeover.query('BEGIN')
      await takeover.query(`UPDATE ${schema}.meta SET term = term + 1`)
      // Sent with its COMMIT (one round trip): its check of the term waits for the bump's row lock.
      const appending = failure(() => log.append(makeBatch(4, 1), { put: [doneView('a')], del: [] }))
      const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM "${schema}".meta WHERE id = 1 FOR NO KEY UPDATE%'`
      while ((await pool.query(waiting)).rows[0]!.n === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      await takeover.query('COMMIT')
      expect(await appending).toBeInstanceOf(SchedulerDeposedError)
    } finally {
      takeover.release()
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.log`)).rows[0]!.n).toBe(2)
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.history`)).rows[0]!.n).toBe(0)
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.history_counts`)).rows[0]!.n).toBe(0)
    await log.append(makeBatch(4, 1)).catch(() => undefined) // its connection went back idle: the next write is refused alike
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.log`)).rows[0]!.n).toBe(2)
    // Nothing announced what was not committed: notices come in commit order, and this one last.
    await pool.query(`SELECT pg_notify($1, 'end')`, [log.channel])
    while (!notified.includes('end')) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(notified).toEqual(['log 3', 'end'])
    await unlisten()
  })

  it('names a server it cannot reach in a StorageError', async () => {
    const url = new URL(db.url())
    url.port = '1'
    const log = new PgLog(url.toString(), { schema: 'wharf' })
    const error = await failure(() => log.open())
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toMatch(/schema "wharf" of postgres:\/\/postgres@127\.0\.0\.1:1\//)
  })
})
