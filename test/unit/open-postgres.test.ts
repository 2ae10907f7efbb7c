// Proves Wharf.open({ postgres, schema }) on a real PostgreSQL server: bad options are refused by
// name before anything connects; jobs run, finish and survive close and reopen in the schema; a
// second Wharf on a held schema opens as a follower, and takes over once the first closes; and no source file loads the driver except through pg-driver.ts's dynamic import.
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InvalidPropertyError, StorageError, Wharf, type OpenOptions } from '../../src/index.js'
import { connect } from '../../src/storage/pg-driver.js'
import { pgTestDatabase } from '../pg/database.js'
import { closedAfterEach, failure } from './helpers.js'

const db = pgTestDatabase()

describe('Wharf.open({ postgres }) refuses bad options by name', () => {
  const cases: [OpenOptions, RegExp][] = [
    [{ postgres: 42 as unknown as string }, /postgres must be a connection URL .*got 42/],
    [{ postgres: 'mysql://u:secret@h/db' }, /postgres must be a connection URL .*got "mysql:\/\/u:\*\*\*@h\/db"/],
    // The driver's URL parser threw these as a raw TypeError (or URIError) that named no option
    // and carried the URL, password included.
    [{ postgres: 'postgres://u:secret@h:notaport/db' }, /postgres must be a connection URL .*got "postgres:\/\/u:\*\*\*@h:notaport\/db": it does not parse as a URL \(is the port a number\?/],
    [{ postgres: 'postgres://u:secret@h:99999/db' }, /got "postgres:\/\/u:\*\*\*@h:99999\/db": it does not parse as a URL/],
    [{ postgres: 'postgres://u:secret%zz@h/db' }, /got "postgres:\/\/u:\*\*\*@h\/db": a %-escape in it is malformed/],
    [{ postgres: 'postgres://h/db', path: '/tmp/x' }, /either `postgres` or `path`/],
    [{ postgres: 'postgres://h/db', durability: 'fsync' }, /either `postgres` or `durability`.*the server's/],
    [{ postgres: 'postgres://h/db', scrubHistory: true }, /either `postgres` or `scrubHistory`.*LevelDB store/],
    [{ postgres: 'postgres://h/db', schema: 'Bad-Name' }, /schema must be a lowercase SQL identifier .*got "Bad-Name"/],
    // PostgreSQL reserves the prefix for its own schemas: CREATE SCHEMA refused it, as a StorageError.
    [{ postgres: 'postgres://h/db', schema: 'pg_jobs' }, /schema must be a lowercase SQL identifier .*not starting with pg_.*got "pg_jobs"/],
    // The app's own tables live there by default: Wharf's would mix with them (issue 12).
    [{ postgres: 'postgres://h/db', schema: 'public' }, /schema must be a schema of Wharf's own, not public .*got "public"/],
    [{ postgres: 'postgres://h/db', schema: 'information_schema' }, /schema must be a schema of Wharf's own, not information_schema .*got "information_schema"/],
    [{ schema: 'jobs' }, /schema "jobs" is given without `postgres`/],
    [{ node: 'a' }, /node "a" is given without `postgres`/],
    [{ postgres: 'postgres://h/db', node: '' }, /node must be a non-empty string .*got ""/],
  ]
  for (const [options, message] of cases) {
    it(`${JSON.stringify(options)}`, async () => {
      const error = await failure(() => Wharf.open(options))
      expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toMatch(/secret/)
    })
  }
})

describe('Wharf on PostgreSQL', () => {
  const opened = closedAfterEach()
  const open = async (schema: string, node?: string): Promise<Wharf> => {
    const wharf = await Wharf.open({ postgres: db.url(), schema, node, channels: 'root:2' })
    opened.push(wharf)
    return wharf
  }
  const model = (wharf: Wharf) =>
    wharf.model('res.partner', {
      double(n: number) {
        return n * 2
      },
    })

  it("refuses schema 'public' on a live server before anything is written there", async () => {
    const error = await failure(() => Wharf.open({ postgres: db.url(), schema: 'public', channels: 'root:2' }))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    const pool = await connect(db.url())
    try {
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")
      expect(rows[0]?.n).toBe(0)
    } finally {
      await pool.end()
    }
  })

  it('runs jobs, and keeps them, finished and pending, across close and reopen', async () => {
    const schema = db.schema()
    const wharf = await open(schema)
    const partner = model(wharf)
    const done = await partner.browse([1]).withDelay().double(21)
    await wharf.start()
    await wharf.drain()
    await wharf.stop()
    const pending = await partner.browse([2]).withDelay({ identityKey: 'k2' }).double(2)
    await wharf.close()
    const again = await open(schema)
    model(again)
    expect(await again.job(done.uuid)).toMatchObject({ state: 'done', result: 42 })
    expect(await again.job(pending.uuid)).toMatchObject({ state: 'pending', identityKey: 'k2' })
    expect(again.stats().states).toMatchObject({ done: 1, pending: 1 })
    expect((await again.jobs({ state: 'done' })).map((j) => j.uuid)).toEqual([done.uuid])
    await again.start()
    await again.drain()
    expect(await again.result(pending.uuid)).toBe(4)
  })

  it('opens a second Wharf on a held schema as a follower; close() of the scheduler lets it take over', async () => {
    const schema = db.schema()
    // Two Wharfs of one process on one schema: each a name of its own (the default is the process's).
    const first = await open(schema, 'first')
    const second = await open(schema, 'second')
    expect((await second.cluster()).role).toBe('follower')
    await first.close()
    await expect.poll(async () => (await second.cluster()).role, { timeout: 10_000 }).toBe('scheduler')
  })

  it('points backup() at PostgreSQL tools', async () => {
    const wharf = await open(db.schema())
    await expect(wharf.backup('/tmp/nowhere')).rejects.toThrow(StorageError)
    await expect(wharf.backup('/tmp/nowhere')).rejects.toThrow(/pg_dump/)
  })
})

describe('Wharf.open({ postgres }) and a server that does not answer', () => {
  // Wharf passed the driver connect_timeout: 30 itself, over the URL's and PGCONNECT_TIMEOUT: an
  // app that asked for 1 s waited 30 at open, and as long on each stalled reconnection.
  it('gives up after the URL\'s connect_timeout, as libpq reads it', { timeout: 15_000 }, async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => void sockets.push(socket)) // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const port = (silent.address() as { port: number }).port
      const error = await failure(() => Wharf.open({ postgres: `postgres://wharf@127.0.0.1:${port}/app?connect_timeout=1`, schema: 'w' }))
      expect(error).toBeInstanceOf(StorageError)
      expect((error as Error).message).toMatch(/schema "w" of postgres:\/\/wharf@127\.0\.0\.1:\d+\/app\?connect_timeout=1: .*CONNECT_TIMEOUT/)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})

describe('the driver stays out of the embedded path', () => {
  it("only pg-driver.ts loads 'postgres', by a dynamic import; every other import of it is a type", () => {
    const src = join(import.meta.dirname, '../../src')
    const loads: string[] = []
    for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
      const path = relative(src, join(entry.parentPath, entry.name))
      if (path.startsWith('bench/')) continue // the driver bench loads both drivers
      const code = readFileSync(join(entry.parentPath, entry.name), 'utf8')
      for (const line of code.split('\n')) {
        if (/^import (?!type )[^']*from '(postgres|pg)'/.test(line) || /import\('(postgres|pg)'\)/.test(line)) loads.push(`${path}: ${line.trim()}`)
      }
    }
    expect(loads).toEqual(["storage/pg-driver.ts: postgres = (await import('postgres')).default"])
  })
})
