// Proves PgLog's overlapping appends on a real PostgreSQL server: the next append is sent while
// the one before it commits, waits inside the server for that one's meta row, and commits after
// it, unseen by readers before it; when that one does not commit (rolled back, or its connection
// terminated mid-way), the next one fails and writes nothing, history and notices included; a
// takeover's term bump that comes between two appends in flight fences the later one, and one
// that comes after both sees both. An older schema migrates to the log's end kept in `meta`.
// To hold an append between its statements and its COMMIT (with the meta row locked), the test
// adds a statement to its pipeline that waits for an advisory lock the test holds: reaching into
// PgLog's pool is the only way to stop a pipelined transaction there.
import { afterEach, describe, expect, it } from 'vitest'
import { SchedulerDeposedError } from '../../src/engine/errors.js'
import { encodeBatch } from '../../src/storage/codec.js'
import { connect, type PgPool, type PgQueries } from '../../src/storage/pg-driver.js'
import { PgLog } from '../../src/storage/pg-log.js'
import { migrate } from '../../src/storage/pg-schema.js'
import { pgTestDatabase } from '../pg/database.js'
import { doneView, makeBatch, readAll } from './event-log-contract.js'
import { failure } from './helpers.js'

const db = pgTestDatabase()
const STOP_KEY = 4242

describe('PgLog overlapping appends', () => {
  const logs: PgLog[] = []
  const pools: PgPool[] = []
  const sessions: (PgQueries & { release(): void })[] = []
  afterEach(async () => {
    // The test's pools first: their sessions' advisory locks may hold an append of a log.
    for (const session of sessions.splice(0)) session.release()
    for (const pool of pools.splice(0)) await pool.end()
    for (const log of logs.splice(0)) await log.close().catch(() => undefined)
  })

  /** A scheduler's log on a fresh schema, its first batch (seqs 1..2) appended, and the test's
   * own pool, listening to the log's announcements ('log <last seq>'). */
  async function setup() {
    const schema = db.schema()
    const log = new PgLog(db.url(), { schema })
    logs.push(log)
    await log.open()
    await log.append(makeBatch(1, 2))
    const pool = await connect(db.url())
    pools.push(pool)
    const notified: string[] = []
    await pool.listen(log.channel, (payload) => notified.push(payload.split(' ', 2).join(' ')))
    const session = await pool.session()
    sessions.push(session)
    const count = async (table: string): Promise<number> => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0]!.n as number
    const rows = async (): Promise<number[][]> =>
      (await pool.query(`SELECT first_seq, last_seq FROM ${schema}.log ORDER BY first_seq`)).rows.map((r) => [Number(r.first_seq), Number(r.last_seq)])
    /** Resolves with the pid of a backend (not the asker's, nor `except`) once it waits on a
     * lock in a statement like `pattern`. */
    const waiting = async (pattern: string, except = 0): Promise<number> => {
      for (;;) {
        const [row] = (
          await pool.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND pid <> $2 AND query LIKE $1`, [pattern, except])
        ).rows
        if (row !== undefined) return Number(row.pid)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
    /** Everything announced so far, once a marker sent now comes back (notices come in order). */
    const announced = async (): Promise<string[]> => {
      const marker = `end ${notified.length}`
      await pool.query(`SELECT pg_notify($1, $2)`, [log.channel, marker])
      while (!notified.includes(marker)) await new Promise((resolve) => setTimeout(resolve, 5))
      return notified.filter((n) => !n.startsWith('end '))
    }
    return { schema, log, pool, session, count, rows, waiting, announced }
  }

  /**
   * The next append of `log` stops after its statements (its meta row locked and its end moved),
   * before its COMMIT, until `session` releases STOP_KEY, which it takes now. Resolves with that
   * append's backend pid once it waits there.
   */
  async function stopBeforeCommit(log: PgLog, session: PgQueries, waiting: (pattern: string) => Promise<number>): Promise<() => Promise<number>> {
    await session.query(`SELECT pg_advisory_lock(${STOP_KEY})`)
    const pool = log.pool
    const pipelined = pool.pipelined
    pool.pipelined = async (write, after) => {
      pool.pipelined = pipelined
      const results = await pipelined((tx) => [...write(tx), tx.query(`SELECT pg_advisory_xact_lock(${STOP_KEY})`)], after)
      return results.slice(0, -1)
    }
    return () => waiting(`%pg_advisory_xact_lock(${STOP_KEY})%`)
  }
  const rowWait = '%meta WHERE id = 1 FOR NO KEY UPDATE%'
  /** What the second append waits on, after its statements ran: the first one's meta row, or
   * before, a row the first one's history statement holds (the channel's count). */
  const anyWait = '%'

  it('sends the next append while the one before it commits: it waits for that one inside the server, then commits after it, and readers see both in order', async () => {
    const { log, session, rows, waiting, announced } = await setup()
    const stopped = await stopBeforeCommit(log, session, waiting)
    const first = log.append(makeBatch(3, 1), { put: [doneView('a')], del: [] })
    const pid = await stopped()
    const second = log.append(makeBatch(4, 2), { put: [doneView('b')], del: [] })
    // Sent before the first committed: it waits for the first one's rows.
    await waiting(anyWait, pid)
    expect(await rows()).toEqual([[1, 2]])
    expect(await readAll(log, 2)).toEqual([])
    await session.query(`SELECT pg_advisory_unlock(${STOP_KEY})`)
    await Promise.all([first, second])
    expect(await rows()).toEqual([[1, 2], [3, 3], [4, 5]])
    expect((await log.history.get('b'))?.state).toBe('done')
    // In commit order, mostly: the first one's notices go behind its COMMIT, and the second's
    // behind its own, which may come first (a follower told of a batch that is not its next one
    // reads the log, which holds both: runtime/replica.ts).
    expect((await announced()).sort()).toEqual(['log 3', 'log 5'])
    await log.append(makeBatch(6, 1))
  })

  it('takes out of history a job that the append before it, still in flight, put there: the later append waits for that one before it deletes', async () => {
    const { log, session, count, waiting } = await setup()
    const stopped = await stopBeforeCommit(log, session, waiting)
    const first = log.append(makeBatch(3, 1), { put: [doneView('a')], del: [] })
    const pid = await stopped()
    const second = log.append(makeBatch(4, 1), { put: [], del: [doneView('a')] })
    await waiting(anyWait, pid)
    await session.query(`SELECT pg_advisory_unlock(${STOP_KEY})`)
    await Promise.all([first, second])
    expect(await log.history.get('a')).toBeUndefined()
    expect(await count('history')).toBe(0)
  })

  for (const how of ['rolled back', 'its connection terminated'] as const) {
    it(`fails an append whose predecessor in flight is ${how}: neither writes anything, nor announces it, and the log goes on after the last commit`, async () => {
      const { log, pool, session, count, rows, waiting, announced } = await setup()
      const stopped = await stopBeforeCommit(log, session, waiting)
      const first = failure(() => log.append(makeBatch(3, 1), { put: [doneView('a')], del: [] }))
      const pid = await stopped()
      const second = failure(() => log.append(makeBatch(4, 2), { put: [doneView('b')], del: [] }))
      await waiting(anyWait, pid)
      // Cancelled, its statement fails: the COMMIT already sent rolls it back.
      await pool.query(how === 'rolled back' ? 'SELECT pg_cancel_backend($1)' : 'SELECT pg_terminate_backend($1)', [pid])
      expect(await first).toBeInstanceOf(Error)
      expect(((await second) as Error).message).toMatch(/batch starts at seq 4, log ends at 2|not written: the batch before it was not/)
      await session.query(`SELECT pg_advisory_unlock(${STOP_KEY})`)
      expect(await rows()).toEqual([[1, 2]])
      expect(await count('history')).toBe(0)
      expect(await count('history_counts')).toBe(0)
      expect(await announced()).toEqual([])
      // A caller that rebuilds from the log appends again after its end.
      await log.append(makeBatch(3, 1))
      expect(await rows()).toEqual([[1, 2], [3, 3]])
    })
  }

  // Which of the bump and the second append takes the row once the first commits is PostgreSQL's
  // choice: both were waiting on the row version the first one replaced, and each then locks the
  // new version, in whichever order they get there (about 1 run in 10 under load). Either way the
  // log stays fenced: the second fails and writes nothing, or it commits before the bump, whose
  // RETURNING shows it, and the old scheduler can append nothing after the bump.
  it('a takeover between two appends in flight: the bump waits for the first; the second, sent after the bump, fails and writes nothing, or commits before the bump sees the log', async () => {
    const { schema, log, pool, session, count, rows, waiting, announced } = await setup()
    const stopped = await stopBeforeCommit(log, session, waiting)
    const first = log.append(makeBatch(3, 1))
    await stopped()
    const takeover = await pool.session()
    sessions.push(takeover)
    await takeover.query('BEGIN')
    const bumped = takeover.query(`UPDATE ${schema}.meta SET term = term + 1 RETURNING last_seq`)
    await waiting('%SET term = term + 1%')
    const second = log.append(makeBatch(4, 2), { put: [doneView('b')], del: [] }).then(
      () => null,
      (error: unknown) => error,
    )
    await waiting(rowWait)
    await session.query(`SELECT pg_advisory_unlock(${STOP_KEY})`)
    await first
    const seenByBump = Number((await bumped).rows[0]!.last_seq)
    await takeover.query('COMMIT')
    const failed = await second
    if (seenByBump === 3) {
      // The bump took the row first: the second append checked the new term and wrote nothing.
      expect(failed).toBeInstanceOf(SchedulerDeposedError)
      expect(await rows()).toEqual([[1, 2], [3, 3]])
      expect(await count('history')).toBe(0)
      expect(await announced()).toEqual(['log 3'])
    } else {
      // The second append took it first and committed under the old term, before the bump.
      expect(seenByBump).toBe(5)
      expect(failed).toBeNull()
      expect(await rows()).toEqual([[1, 2], [3, 3], [4, 5]])
      expect(await count('history')).toBe(1)
    }
    expect(await failure(() => log.append(makeBatch(seenByBump + 1, 1)))).toBeInstanceOf(SchedulerDeposedError)
  })

  it('a takeover after two appends in flight: both commit, in order, and the bump sees both; the old scheduler writes nothing after it', async () => {
    const { schema, log, pool, session, rows, waiting } = await setup()
    const stopped = await stopBeforeCommit(log, session, waiting)
    const first = log.append(makeBatch(3, 1))
    await stopped()
    const second = log.append(makeBatch(4, 2))
    await waiting(rowWait)
    const takeover = await pool.session()
    sessions.push(takeover)
    await takeover.query('BEGIN')
    const bumped = takeover.query(`UPDATE ${schema}.meta SET term = term + 1 RETURNING last_seq`)
    await waiting('%SET term = term + 1%')
    await session.query(`SELECT pg_advisory_unlock(${STOP_KEY})`)
    await Promise.all([first, second])
    expect(Number((await bumped).rows[0]!.last_seq)).toBe(5)
    await takeover.query('COMMIT')
    expect(await failure(() => log.append(makeBatch(6, 1)))).toBeInstanceOf(SchedulerDeposedError)
    expect(await rows()).toEqual([[1, 2], [3, 3], [4, 5]])
  })

  it("migrates a version-4 schema to the log's end in meta, and a scheduler's term bump sets it again from the log (a version-4 scheduler appended without moving it)", async () => {
    const schema = db.schema()
    const pool = await connect(db.url())
    pools.push(pool)
    await migrate(pool, schema, 4)
    const put = (first: number, count: number) =>
      pool.query(`INSERT INTO ${schema}.log (first_seq, last_seq, term, body) VALUES ($1, $2, 1, $3)`, [first, first + count - 1, encodeBatch(makeBatch(first, count))])
    await put(1, 2)
    await migrate(pool, schema, 5)
    expect(Number((await pool.query(`SELECT last_seq FROM ${schema}.meta`)).rows[0]!.last_seq)).toBe(2)
    await put(3, 2) // by a version-4 scheduler still running
    const log = new PgLog(db.url(), { schema })
    logs.push(log)
    await log.open()
    await log.append(makeBatch(5, 1))
    expect(Number((await pool.query(`SELECT last_seq FROM ${schema}.meta`)).rows[0]!.last_seq)).toBe(5)
    expect((await readAll(log)).map((b) => b[0]!.seq)).toEqual([1, 3, 5])
  })
})
