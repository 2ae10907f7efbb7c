// The pool pg-driver.ts makes, without the driver's catalog query on each new connection (turned
// off: a server restart under it ended the process, pg-restart.test.ts): a connection opened for
// a reserve (pipelined(), session()) is handed to it, where the driver alone never settled it, and
// array parameters, written by Wharf, reach the server as they were.
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/index.js'
import { connect, reconnectDelay, type PgPool } from '../../src/storage/pg-driver.js'
import { cutProxy } from '../pg/cut-proxy.js'
import { pgTestDatabase } from '../pg/database.js'
import { failure } from './helpers.js'

const db = pgTestDatabase()

async function using<T>(pool: PgPool, work: (pool: PgPool) => Promise<T>): Promise<T> {
  try {
    return await work(pool)
  } finally {
    await pool.end()
  }
}

describe('a PostgreSQL pool whose connections do not fetch types', () => {
  it('settles a session() that opens the pool\'s only connection, and one opened again after it', async () => {
    await using(await connect(db.url(), 'a pool', 1), async (pool) => {
      const session = await pool.session()
      expect((await session.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      session.release()
      // Released, the connection goes to the next caller.
      const again = await pool.session()
      expect((await again.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
      again.release()
    })
  })

  it('takes connect_timeout=0 as no limit on waiting for a connection, as libpq does (it refused every session() at once)', async () => {
    const url = new URL(db.url())
    url.searchParams.set('connect_timeout', '0')
    await using(await connect(url.href, 'a pool', 1), async (pool) => {
      const session = await pool.session()
      expect((await session.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      session.release()
    })
  })

  it('settles a pipelined() transaction that is a new pool\'s first call, and several at once', async () => {
    await using(await connect(db.url()), async (pool) => {
      const [first] = await pool.pipelined((tx) => [tx.query('SELECT 1 AS one')])
      expect(first!.rows).toEqual([{ one: 1 }])
      const all = await Promise.all([...Array(6).keys()].map((i) => pool.pipelined((tx) => [tx.query('SELECT $1::int AS i', [i])])))
      expect(all.map(([r]) => r!.rows[0]!.i)).toEqual([0, 1, 2, 3, 4, 5])
    })
  })

  it('sends array parameters as they are: bytea, text and bigint, with their NULLs', async () => {
    const bytes = [Buffer.from([0, 0x5c, 0x22, 0x7b, 0xff]), Buffer.alloc(0), null, Buffer.from('a,b}', 'latin1')]
    const texts = ['plain', 'a "quoted" \\ back\\slash', '', 'NULL', null, '{a,b}', 'ünï ✓', ' spaced ']
    const big = ['9007199254740993', -42, 2n ** 62n, null, 0]
    await using(await connect(db.url()), async (pool) => {
      const b = await pool.query('SELECT x FROM unnest($1::bytea[]) WITH ORDINALITY AS u(x, o) ORDER BY o', [bytes])
      expect(b.rows.map((r) => r.x)).toEqual(bytes)
      const t = await pool.query('SELECT x FROM unnest($1::text[]) WITH ORDINALITY AS u(x, o) ORDER BY o', [texts])
      expect(t.rows.map((r) => r.x)).toEqual(texts)
      const n = await pool.query('SELECT x FROM unnest($1::bigint[]) WITH ORDINALITY AS u(x, o) ORDER BY o', [big])
      expect(n.rows.map((r) => r.x)).toEqual(['9007199254740993', '-42', String(2n ** 62n), null, '0'])
      const empty = await pool.query('SELECT cardinality($1::bigint[]) AS n', [[]])
      expect(empty.rows).toEqual([{ n: 0 }])
    })
  })

  it('fails each call with a StorageError while its server refuses connections, and takes calls again once it is back', async () => {
    const proxy = await cutProxy(db.url())
    try {
      // One connection: before, each connection that met the refusal was lost to the pool, and the
      // second call waited for good.
      await using(await connect(`${proxy.url}?connect_timeout=2`, 'the proxied server', 1), async (pool) => {
        expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
        await proxy.refuse()
        for (let i = 0; i < 3; i++) {
          const lost = await failure(() => pool.query('SELECT 2'))
          expect(lost).toBeInstanceOf(StorageError)
          expect((lost as Error).message).toContain('the proxied server')
          expect(await failure(() => pool.session())).toBeInstanceOf(StorageError)
        }
        proxy.restore()
        // The driver may have lost the reserve of the first call back (it waited while the pool
        // reconnected): that call fails after connect_timeout, where it waited for good.
        await expect.poll(() => pool.pipelined((tx) => [tx.query('SELECT 3 AS three')]).then(([r]) => r!.rows, () => null), { timeout: 30_000, interval: 50 }).toEqual([{ three: 3 }])
        const session = await pool.session()
        expect((await session.query('SELECT 4 AS four')).rows).toEqual([{ four: 4 }])
        session.release()
      })
    } finally {
      await proxy.close()
    }
  })

  it('waits at most half a second to connect again, however many connections failed before', () => {
    // The driver's own delay grew to 20 s: the calls after a short outage waited that long.
    for (let failures = 0; failures < 40; failures++) expect(reconnectDelay(failures)).toBeLessThanOrEqual(0.5)
    expect(reconnectDelay(0)).toBeGreaterThan(0)
  })
})
