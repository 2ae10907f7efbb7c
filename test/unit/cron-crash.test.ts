// Proves that a cron firing is never lost nor doubled across kill -9: test/crash/cron-worker.ts
// runs a cron firing every second (catchUp 'all') on LevelDB and is SIGKILLed at seeded moments,
// around firings; after each kill a reopen must hold exactly one job per scheduled second, from
// the first firing to the cron's last, none missing (a downtime's firings are caught up) and
// every firing the worker saw committed among them.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Wharf } from '../../src/index.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import type { State } from '../../src/engine/core/state.js'
import { seededRandom as prng } from '../sim/prng.js'
import { nodeArgs } from '../build/node-args.js'
import { everyJob } from '../support/every-job.js'

const KILLS = Number(process.env.WHARF_CRASH_KILLS ?? 6)
const SEED = Number(process.env.WHARF_CRASH_SEED ?? 20261130)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const WORKER = fileURLToPath(new URL('../crash/cron-worker.ts', import.meta.url))
const PREFIX = 'cron:every-second:'

interface Run {
  fired: number[]
  opened: boolean
  closed: boolean
  signal: NodeJS.Signals | null
  code: number | null
  stderr: string
}

/** Run the worker for `runMs`; with `killMs`, SIGKILL it that long after it printed OPEN. */
function runWorker(dir: string, runMs: number, killMs: number | null): Promise<Run> {
  const run: Run = { fired: [], opened: false, closed: false, signal: null, code: null, stderr: '' }
  const child = spawn(process.execPath, [...nodeArgs(WORKER), dir, String(runMs)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let timer: NodeJS.Timeout | undefined
  let buffered = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (buffered + chunk).split('\n')
    buffered = lines.pop()!
    for (const line of lines) {
      const [word, times] = line.split(' ')
      if (word === 'FIRED' && times !== '') run.fired.push(...times!.split(',').map(Number))
      else if (word === 'CLOSED') run.closed = true
      else if (word === 'OPEN') {
        run.opened = true
        if (killMs !== null) timer = setTimeout(() => child.kill('SIGKILL'), killMs)
      }
    }
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      Object.assign(run, { code, signal })
      resolve(run)
    })
  })
}

/** Reopen without starting (nothing fires), and say what is wrong with the firings stored. */
async function inspect(path: string, committed: ReadonlySet<number>): Promise<{ problems: string[]; firings: number }> {
  const wharf = await Wharf.open({ path })
  try {
    const problems: string[] = []
    const keys = (await everyJob(wharf)).flatMap((j) => (j.identityKey?.startsWith(PREFIX) === true ? [j.identityKey] : []))
    const times = keys.map((k) => Date.parse(k.slice(PREFIX.length))).sort((a, b) => a - b)
    for (let i = 1; i < times.length; i++) {
      if (times[i] === times[i - 1]) problems.push(`firing ${new Date(times[i]!).toISOString()} stored twice`)
      else if (times[i]! - times[i - 1]! !== 1000) problems.push(`firings from ${new Date(times[i - 1]!).toISOString()} to ${new Date(times[i]!).toISOString()} are missing`)
    }
    const stored = new Set(times)
    for (const at of committed) if (!stored.has(at)) problems.push(`committed firing ${new Date(at).toISOString()} is lost`)
    const [cron] = await wharf.crons()
    if (times.length > 0 && cron?.lastFireAt !== times[times.length - 1]) problems.push(`lastFireAt ${cron?.lastFireAt} is not the last firing stored ${times[times.length - 1]}`)
    if (cron?.lastFireAt != null && cron.nextFireAt !== cron.lastFireAt + 1000) problems.push(`nextFireAt ${cron.nextFireAt} does not follow lastFireAt ${cron.lastFireAt}`)
    checkInvariants((wharf as unknown as { engine: { state: State } }).engine.state)
    return { problems, firings: times.length }
  } finally {
    await wharf.close()
  }
}

describe('crash: SIGKILL around cron firings', () => {
  it(`never loses nor doubles a firing over ${KILLS} kills (seed ${SEED}, WHARF_CRASH_SEED / WHARF_CRASH_KILLS)`, { timeout: KILLS * 8000 + 60_000 }, async () => {
    const base = mkdtempSync(join(tmpdir(), 'wharf-cron-crash-'))
    const path = join(base, 'jobs')
    const rand = prng(SEED)
    const committed = new Set<number>()
    let kills = 0
    let passed = false
    try {
      for (let k = 0; k < KILLS; k++) {
        const killMs = 300 + Math.floor(rand() * 2200)
        const run = await runWorker(path, 10_000, killMs)
        const where = `seed ${SEED}, kill ${k} (${killMs} ms after OPEN), directory ${path}`
        expect(run.signal, `worker ended on its own at ${where}: ${run.stderr}`).toBe('SIGKILL')
        kills++
        for (const at of run.fired) committed.add(at)
        const seen = await inspect(path, committed)
        expect(seen.problems, `after ${where}`).toEqual([])
      }
      const last = await runWorker(path, 1500, null)
      expect(last.code, `final run (seed ${SEED}): ${last.stderr}`).toBe(0)
      expect(last.closed).toBe(true)
      for (const at of last.fired) committed.add(at)
      const end = await inspect(path, committed)
      expect(end.problems, `after the final run (seed ${SEED}, directory ${path})`).toEqual([])
      // Every run fired, the downtimes' firings included: far more than the runs' own seconds.
      expect(end.firings).toBeGreaterThan(KILLS)
      console.log(`cron crash test, seed ${SEED}: ${kills} SIGKILLs, ${committed.size} firings seen committed, ${end.firings} stored, none lost or doubled`)
      passed = true
    } finally {
      if (passed) rmSync(base, { recursive: true, force: true })
      else console.log(`cron crash test failed: seed ${SEED}; the LevelDB directory is kept at ${path}`)
    }
  })
})
