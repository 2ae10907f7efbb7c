// A throwaway PostgreSQL server for tests and benches: Debian's binaries, initdb in a temporary
// directory, trust authentication, listening on 127.0.0.1 only on a free port, fsync on unless
// asked (tests turn it off: their server never outlives a crash). initdb refuses to run as root,
// so as root every command runs as the `postgres` user (runuser), which then owns the directory.
// stop() (also run at process exit, for a run that dies before its teardown) shuts the server
// down and removes the directory: no server outlives it.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface PgServer {
  /** Connection URL of the `postgres` database, as the superuser `postgres`. */
  url: string
  port: number
  /** Stop the server (fast shutdown: every session ends) and start it again on the same port and
   * data (tests of a restart under a running cluster). */
  restart(): Promise<void>
  /** Stop the server and remove its directory; idempotent. */
  stop(): Promise<void>
}

/** The newest Debian PostgreSQL bin directory, or WHARF_PG_BIN. */
export function pgBinDir(): string {
  const given = process.env.WHARF_PG_BIN
  if (given !== undefined) return given
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : []
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}: install Debian's postgresql package (apt-get install postgresql), or set WHARF_PG_BIN`)
  versions.sort((a, b) => Number(b) - Number(a))
  return join(root, versions[0]!, 'bin')
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** As root, a command runs as `postgres`; otherwise as ourselves. */
function asServerUser(file: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args]
}

export interface PgServerOptions {
  /** false: no fsync and no commit wait — a test server's data never has to outlive a crash. */
  fsync?: boolean
  /** true: it also takes TLS connections (ssl=on), with a self-signed certificate for
   * localhost and 127.0.0.1 made by `openssl` in its directory; plain connections are still accepted. */
  tls?: boolean
}

export async function startPgServer(options: PgServerOptions = {}): Promise<PgServer> {
  const bin = pgBinDir()
  const dir = mkdtempSync(join(tmpdir(), 'wharf-pg-'))
  const data = join(dir, 'data')
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const pgCtl = join(bin, 'pg_ctl')
  let started = false
  const stopSync = (): void => {
    if (started) {
      try {
        execFileSync(...asServerUser(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' })
      } catch {
        // already stopped
      }
    }
    started = false
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', stopSync)
  const watchdog = watch(process.pid, pgCtl, data, dir)
  try {
    await run(...asServerUser(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']))
    const port = await freePort()
    const tls = options.tls === true ? await selfSignedCertificate(dir) : ''
    const durability = options.fsync === false ? ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off' : ''
    const settings = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200${durability}${tls}`
    started = true
    await run(...asServerUser(pgCtl, ['-D', data, '-l', join(dir, 'server.log'), '-o', settings, '-w', '-t', '120', 'start']))
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      async restart() {
        await run(...asServerUser(pgCtl, ['-D', data, '-l', join(dir, 'server.log'), '-o', settings, '-m', 'fast', '-w', '-t', '120', 'restart']))
      },
      async stop() {
        if (started) await run(...asServerUser(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop'])).catch(() => undefined)
        started = false
        stopSync()
        process.removeListener('exit', stopSync)
        watchdog.kill()
      },
    }
  } catch (error) {
    stopSync()
    process.removeListener('exit', stopSync)
    watchdog.kill()
    throw error
  }
}

/** A key and self-signed certificate (for localhost and 127.0.0.1, a day) in `dir`, readable by the server
 * only (it refuses a key others can read); the server's settings that use them. */
async function selfSignedCertificate(dir: string): Promise<string> {
  const [key, cert] = [join(dir, 'server.key'), join(dir, 'server.crt')]
  await run(...asServerUser('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert]))
  chmodSync(key, 0o600)
  return ` -c ssl=on -c ssl_cert_file=${cert} -c ssl_key_file=${key}`
}

/**
 * A detached shell that stops the server and removes its directory once `owner` is gone, however
 * it went (SIGKILL, a signal vitest does not handle): the exit hook alone would leak the server.
 */
function watch(owner: number, pgCtl: string, data: string, dir: string): ChildProcess {
  const [file, args] = asServerUser(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'])
  const stop = [file, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const script = `while kill -0 ${owner} 2>/dev/null; do sleep 1; done; ${stop} >/dev/null 2>&1; rm -rf '${dir}'`
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' })
  child.unref()
  return child
}
