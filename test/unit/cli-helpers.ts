// What the CLI tests share (not a test itself): running `wharf` as a real process, from source,
// and a store on disk with jobs in mixed states to point it at.

import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'
import { chain, FailedJobError, FakeClock, Wharf } from '../../src/index.js'
import { sequentialIds } from '../../src/testing.js'
import { runNode } from '../../src/storage/level-child.js'
import { nodeArgs } from '../build/node-args.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'src/cli.ts')
/** Long ago: a CLI that vacuumed by the default retention (30 days) would remove every finished job. */
export const START_MS = Date.UTC(2020, 0, 1)

export interface CliRun {
  code: number | null
  out: string
  err: string
}

/** Run `wharf <args>` (src/cli.ts, from the run's transpiled copy: test/build) to its end. */
export async function wharf(...args: string[]): Promise<CliRun> {
  const { code, out, err } = await runNode([...nodeArgs(CLI), ...args], ROOT)
  return { code, out, err }
}

/** `wharf dashboard <args> --port 0 --json` as a real process, once it printed its URL; stop()
 * sends SIGTERM and resolves with the exit code. */
export async function dashboardProcess(...args: string[]): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [...nodeArgs(CLI), 'dashboard', ...args, '--port', '0', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  let out = ''
  const { url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (out.trimEnd().endsWith('}')) resolve(JSON.parse(out) as { url: string })
    })
    child.on('close', () => reject(new Error(`wharf dashboard ended before printing its URL: ${out}`)))
  })
  return { url, stop: () => (child.kill('SIGTERM'), exited) }
}

/** Run `wharf <args> --json`, expecting exit `code`; its stdout parsed (one JSON document). */
export async function wharfJson<T = unknown>(code: number, ...args: string[]): Promise<T> {
  const run = await wharf(...args, '--json')
  if (run.code !== code) throw new Error(`wharf ${args.join(' ')} --json exited ${run.code}, not ${code}: ${run.err}`)
  return JSON.parse(run.out) as T
}

/** A new temporary directory, removed after the file's tests. */
export function tempDirs(prefix: string): () => Promise<string> {
  const made: string[] = []
  afterAll(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true })
  })
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    made.push(dir)
    return dir
  }
}

/** The uuids of the jobs in `buildStore`'s store, by what happened to them. */
export const JOBS = {
  done: 'j-000001',
  failed: 'j-000002',
  cancelled: 'j-000003',
  later: 'j-000004', // pending: due in an hour
  graph: 'j-000005', // the graph of parent and child
  parent: 'j-000006', // failed: its child waits for it
  child: 'j-000007', // wait_dependencies
  mail: 'j-000008', // done, in root.mail
  stuck: 'j-000009', // started when its process went away: pending once reopened
} as const

export const CHANNELS = 'root:2,root.mail:1'
export const LONG_DESCRIPTION = 'Sync partner 4 with the remote CRM, then mail the account manager a summary of what changed'

/** Declare the model of the store's jobs on `wharf`. */
export function partnerModel(wharf: Wharf) {
  return wharf.model('res.partner', {
    async sync(kind: 'ok' | 'fail' | 'hang') {
      if (kind === 'fail') throw new FailedJobError('the partner API said no')
      if (kind === 'hang') await new Promise(() => {})
      return { synced: true }
    },
  })
}

/**
 * A store at `path` holding one job in each state (JOBS), closed as a process that went away
 * with a handler running would leave it. Fixed clock and ids: the same store in every run.
 */
export async function buildStore(path: string): Promise<void> {
  const clock = new FakeClock(START_MS)
  const w = await Wharf.open({ path, channels: CHANNELS, clock, newId: sequentialIds('j-') })
  const partner = partnerModel(w)
  await partner.browse([1]).withDelay({ description: 'Sync partner 1' }).sync('ok')
  await partner.browse([2]).withDelay({ maxRetries: 1 }).sync('fail')
  const cancelled = await partner.browse([3]).withDelay({ eta: 3600 }).sync('ok')
  await w.cancel(cancelled.uuid)
  await partner.browse([4]).withDelay({ eta: 3600, description: LONG_DESCRIPTION }).sync('ok')
  await chain(partner.browse([5]).delayable({ maxRetries: 1 }).sync('fail'), partner.browse([6]).delayable().sync('ok')).delay()
  await partner.browse([7]).withDelay({ channel: 'mail' }).sync('ok')
  await w.start()
  await w.idle()
  await partner.browse([8]).withDelay().sync('hang')
  await w.settled()
  await w.close({ timeoutMs: 0 })
}
