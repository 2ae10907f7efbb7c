// Proves that Wharf's connections negotiate TLS themselves, in the mode the URL asks for, so that
// the driver never needs its catalog query on a new connection: left to the driver, TLS kept that
// query on (the socket could not see a connection become ready through the encryption), and a
// server restart that cut a connection under it ended the app's process (pg-restart.test.ts has
// the plain case). A server of its own here, with ssl on and a self-signed certificate.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Wharf } from '../../src/index.js'
import { StorageError } from '../../src/engine/errors.js'
import { startPgServer, type PgServer } from '../../src/bench/pg-server.js'
import { connect } from '../../src/storage/pg-driver.js'
import { coalescingSocket } from '../../src/storage/pg-socket.js'
import { closedAfterEach } from './helpers.js'

let server: PgServer
let serverLog: string

beforeAll(async () => {
  server = await startPgServer({ fsync: false, tls: true })
  const admin = await connect(server.url, 'the TLS test server', 1)
  try {
    serverLog = join(dirname((await admin.query('SHOW data_directory')).rows[0]!.data_directory as string), 'server.log')
    await admin.query(`ALTER SYSTEM SET log_statement = 'all'`)
    await admin.query('SELECT pg_reload_conf()')
  } finally {
    await admin.end()
  }
}, 120_000)
afterAll(async () => server?.stop())

async function serverSetting(name: string): Promise<string> {
  const admin = await connect(server.url, 'the TLS test server', 1)
  try {
    return (await admin.query(`SELECT current_setting($1) AS value`, [name])).rows[0]!.value as string
  } finally {
    await admin.end()
  }
}

async function setServer(statement: string): Promise<void> {
  const admin = await connect(server.url, 'the TLS test server', 1)
  try {
    await admin.query(statement)
    await admin.query('SELECT pg_reload_conf()')
  } finally {
    await admin.end()
  }
}

/** A self-signed certificate for 127.0.0.1 that the server's does not chain to (readable by the
 * server's user too: it may be its CA file). */
function otherCertificate(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-other-ca-'))
  chmodSync(dir, 0o755)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'other.key'), '-out', join(dir, 'other.crt')], { stdio: 'ignore' })
  chmodSync(join(dir, 'other.crt'), 0o644)
  return join(dir, 'other.crt')
}

/** Whether every client connection to `database` but the asking one is encrypted, and how many there are. */
async function encrypted(database: string): Promise<{ connections: number; plain: number }> {
  const admin = await connect(`${server.url}?sslmode=disable`, 'the TLS test server', 1)
  try {
    const { rows } = await admin.query(
      `SELECT count(*) AS connections, count(*) FILTER (WHERE NOT s.ssl) AS plain FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1 AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()`,
      [database],
    )
    return { connections: Number(rows[0]!.connections), plain: Number(rows[0]!.plain) }
  } finally {
    await admin.end()
  }
}

describe('PostgreSQL over TLS', () => {
  const opened = closedAfterEach()

  it('runs a Wharf with sslmode=require on encrypted connections only, none of which sends the catalog query', async () => {
    const wharf = await Wharf.open({ postgres: `${server.url}?sslmode=require`, schema: 'tls_require', node: 'only', channels: 'root:2' })
    opened.push(wharf)
    const partner = wharf.model('res.partner', { sync: (id: number) => id * 10 })
    await wharf.start()
    const jobs = await Promise.all([1, 2, 3, 4].map((id) => partner.browse([id]).withDelay().sync(id)))
    await wharf.drain()
    for (const [i, job] of jobs.entries()) expect(await wharf.job(job.uuid)).toMatchObject({ state: 'done', result: (i + 1) * 10 })
    const seen = await encrypted('postgres')
    expect(seen.connections).toBeGreaterThan(1)
    expect(seen.plain).toBe(0)
    // The query that could end the process, had a restart cut its connection: never sent.
    expect(readFileSync(serverLog, 'utf8')).not.toContain('pg_catalog.pg_type')
  })

  it('hands out new connections reserved for pipelined transactions, each of them in TLS', async () => {
    const pool = await connect(`${server.url}?sslmode=require`, 'the TLS test server', 4)
    try {
      // Four at once: each reserve waits for a connection of its own to open (porsager/postgres #751).
      const results = await Promise.all([0, 1, 2, 3].map(() => pool.pipelined((tx) => [tx.query('SELECT ssl, pg_sleep(0.05) FROM pg_stat_ssl WHERE pid = pg_backend_pid()')])))
      expect(results.map(([r]) => r!.rows[0]!.ssl)).toEqual([true, true, true, true])
    } finally {
      await pool.end()
    }
  })

  it('goes on plain with sslmode=prefer where the server has no TLS, and in TLS where it has', async () => {
    const plain = await connect(`${inject('pgUrl')}?sslmode=prefer`, 'the run server', 1)
    const tls = await connect(`${server.url}?sslmode=prefer`, 'the TLS test server', 1)
    try {
      const sslOf = async (pool: typeof plain): Promise<unknown> => (await pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0]!.ssl
      expect(await sslOf(plain)).toBe(false)
      expect(await sslOf(tls)).toBe(true)
    } finally {
      await Promise.all([plain.end(), tls.end()])
    }
  })

  it('connects over a Unix socket with sslmode=require, unencrypted, as libpq does (PostgreSQL has no TLS there)', async () => {
    const admin = await connect(server.url, 'the TLS test server', 1)
    const dir = (await admin.query('SHOW unix_socket_directories')).rows[0]!.unix_socket_directories as string
    await admin.end()
    // The driver takes a socket directory from PGHOST (not from a URL's host).
    const saved = { PGHOST: process.env.PGHOST, PGPORT: process.env.PGPORT, PGUSER: process.env.PGUSER }
    Object.assign(process.env, { PGHOST: dir, PGPORT: String(server.port), PGUSER: 'postgres' })
    try {
      const pool = await connect('postgres:///postgres?sslmode=require&connect_timeout=3', 'the TLS test server', 1)
      try {
        expect((await pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows).toEqual([{ ssl: false }])
      } finally {
        await pool.end()
      }
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
    }
  })

  it('checks the server by the CA file of sslrootcert (verify-full), which never reaches the server as a setting', async () => {
    const ca = await serverSetting('ssl_cert_file')
    const pool = await connect(`${server.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`, 'the TLS test server', 1)
    try {
      expect((await pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows).toEqual([{ ssl: true }])
    } finally {
      await pool.end()
    }
  })

  it('refuses a server whose certificate does not chain to the sslrootcert CA, with verify-full and with require (as libpq)', async () => {
    const other = otherCertificate()
    for (const mode of ['verify-full', 'require']) {
      const opening = Wharf.open({ postgres: `${server.url}?sslmode=${mode}&sslrootcert=${encodeURIComponent(other)}&connect_timeout=3`, schema: 'tls_other_ca', node: 'only' })
      await expect(opening).rejects.toThrow(StorageError)
      await expect(opening).rejects.toThrow(/self-signed certificate/)
    }
  })

  it('presents the client certificate of sslcert and sslkey', async () => {
    const other = otherCertificate()
    // The server asks for a client certificate once it has CAs to check one by (trust still lets
    // a client without one in): the other certificate, its own CA.
    await setServer(`ALTER SYSTEM SET ssl_ca_file = '${other}'`)
    try {
      const pool = await connect(`${server.url}?sslmode=require&sslcert=${encodeURIComponent(other)}&sslkey=${encodeURIComponent(other.replace(/\.crt$/, '.key'))}`, 'the TLS test server', 1)
      try {
        expect((await pool.query('SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows).toEqual([{ ssl: true, client_dn: '/CN=other' }])
      } finally {
        await pool.end()
      }
    } finally {
      await setServer('ALTER SYSTEM RESET ssl_ca_file')
    }
  })

  it('refuses to open when a TLS file of the URL cannot be read, naming it', async () => {
    const opening = Wharf.open({ postgres: `${server.url}?sslmode=verify-full&sslrootcert=/nonexistent/root.crt`, schema: 'tls_no_file', node: 'only' })
    await expect(opening).rejects.toThrow(StorageError)
    await expect(opening).rejects.toThrow(/its sslrootcert file "\/nonexistent\/root.crt" cannot be read \(ENOENT\)/)
  })

  it('never shows the client key passphrase (sslpassword) of the URL in an error', async () => {
    const error = await Wharf.open({ postgres: `${inject('pgUrl')}?sslmode=require&sslpassword=hunter2&connect_timeout=3`, schema: 'tls_secret', node: 'only' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toContain('sslpassword=***')
    expect((error as Error).message).not.toContain('hunter2')
  })

  it('refuses to open with sslmode=require on a server without TLS, saying why', async () => {
    const opening = Wharf.open({ postgres: `${inject('pgUrl')}?sslmode=require&connect_timeout=3`, schema: 'tls_refused', node: 'only' })
    await expect(opening).rejects.toThrow(StorageError)
    await expect(opening).rejects.toThrow(/refused TLS, which sslmode=require asks for/)
  })

  it('refuses a certificate it cannot verify with sslmode=verify-full, as a StorageError', async () => {
    const opening = Wharf.open({ postgres: `${server.url}?sslmode=verify-full&connect_timeout=3`, schema: 'tls_verify', node: 'only' })
    await expect(opening).rejects.toThrow(StorageError)
    await expect(opening).rejects.toThrow(/self-signed certificate/)
  })
})

describe('the TLS request', () => {
  let fake: Server | null = null
  afterAll(() => fake?.close())

  it('fails a connection whose server sends unencrypted bytes after accepting TLS', async () => {
    // CVE-2021-23214: bytes after the 'S' were not sent by the server's TLS, and must not be read.
    fake = createServer((peer) => peer.once('data', () => peer.write(Buffer.from('SZ\0\0\0\x05I'))))
    await new Promise<void>((resolve) => fake!.listen(0, '127.0.0.1', resolve))
    const port = (fake.address() as { port: number }).port
    const socket = await coalescingSocket({ host: ['127.0.0.1'], port: [port], path: false, connect_timeout: 5 }, { ssl: 'require' })
    const failure = await new Promise<Error>((resolve) => socket.once('error', resolve))
    socket.destroy()
    expect(failure).toMatchObject({ code: 'ETLS', message: expect.stringMatching(/unencrypted bytes came after the server accepted TLS/) })
  })
})
