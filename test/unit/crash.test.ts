// Proves DESIGN.md §4 against real kill -9: test/crash/worker.ts runs a seeded workload on LevelDB
// and is SIGKILLed at seeded random moments; after each kill a reopen is audited, and a last run must finish everything.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { Wharf, type EventLog, type JobView } from '../../src/index.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import type { State } from '../../src/engine/core/state.js'
import type { Spec } from '../crash/worker.js'
import { seededRandom as prng } from '../sim/prng.js'
import { nodeArgs } from '../build/node-args.js'
import { everyJob } from '../support/every-job.js'

const KILLS = Number(process.env.WHARF_CRASH_KILLS ?? 30)
const SEED = Number(process.env.WHARF_CRASH_SEED ?? 20261129)
const CHANNELS = 'root:4,root.mail:1,root.export:2,root.sync:1:sequential'
const SEQUENTIAL_CHANNEL = 'root.sync'
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const WORKER = fileURLToPath(new URL('../crash/worker.ts', import.meta.url))


interface Run {
  acks: string[]
  done: string[]
  failed: string[]
  opened: boolean
  enqueued: boolean
  drained: boolean
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
}

/** Run the worker; with `kill`, SIGKILL it `ms` after it spawned or after it printed OPEN. */
function runWorker(dir: string, round: number, kill: { from: 'spawn' | 'open'; ms: number } | null): Promise<Run> {
  const run: Run = { acks: [], done: [], failed: [], opened: false, enqueued: false, drained: false, code: null, signal: null, stderr: '' }
  const child = spawn(process.execPath, [...nodeArgs(WORKER), dir, String(SEED), String(round)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let timer: NodeJS.Timeout | undefined
  const arm = (ms: number): void => {
    timer = setTimeout(() => child.kill('SIGKILL'), ms)
  }
  if (kill?.from === 'spawn') arm(kill.ms)
  let buffered = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (buffered + chunk).split('\n')
    buffered = lines.pop()!
    for (const line of lines) {
      const [word, uuid] = line.split(' ')
      if (word === 'ACK') run.acks.push(uuid!)
      else if (word === 'DONE') run.done.push(uuid!)
      else if (word === 'FAIL') run.failed.push(uuid!)
      else if (word === 'DRAINED') run.drained = true
      else if (word === 'ENQUEUED') run.enqueued = true
      else if (word === 'OPEN') {
        run.opened = true
        if (kill?.from === 'open') arm(kill.ms)
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

/** What earlier inspections and worker lines established, to hold every later reopen to. */
interface Memory {
  acked: Set<string>
  durableDone: Set<string>
  durableFailed: Set<string>
  terminal: Map<string, string>
  retry: Map<string, number>
  afterSeq: number
}

interface Inspection {
  jobs: Map<string, JobView>
  recovered: number
  dead: number
  problems: string[]
}

type Internals = { engine: { state: State; log: EventLog } }
const outcomeOf = (j: JobView): string => JSON.stringify([j.state, j.result, j.excName, j.excMessage])

/** Reopen in-process (open replays, audits and recovers), check everything, close. */
async function inspect(path: string, memory: Memory): Promise<Inspection> {
  const wharf = await Wharf.open({ path, channels: CHANNELS })
  const engine = (wharf as unknown as Internals).engine
  const problems: string[] = []
  // Every page: past a thousand jobs (some 120 rounds), the first page alone lacks the newest.
  const jobs = new Map((await everyJob(wharf)).map((j) => [j.uuid, j]))
  let recovered = 0
  let dead = 0
  try {
    for await (const batch of engine.log.read(memory.afterSeq)) {
      for (const event of batch) if (event.type === 'job.recovered') event.dead ? dead++ : recovered++
    }
    for (const uuid of memory.acked) if (!jobs.has(uuid)) problems.push(`acknowledged job ${uuid} is missing`)
    for (const uuid of memory.durableDone) if (jobs.get(uuid)?.state !== 'done') problems.push(`job ${uuid} was committed done, is ${jobs.get(uuid)?.state}`)
    for (const uuid of memory.durableFailed) if (jobs.get(uuid)?.state !== 'failed') problems.push(`job ${uuid} was committed failed, is ${jobs.get(uuid)?.state}`)
    for (const [uuid, outcome] of memory.terminal) {
      const now = jobs.get(uuid)
      if (now === undefined || outcomeOf(now) !== outcome) problems.push(`job ${uuid} was ${outcome}, is now ${now === undefined ? 'gone' : outcomeOf(now)}`)
    }
    for (const [uuid, retry] of memory.retry) if (jobs.has(uuid) && jobs.get(uuid)!.retry < retry) problems.push(`job ${uuid} retry went back from ${retry}`)
    for (const job of jobs.values()) {
      if (job.state === 'started' || job.state === 'enqueued') problems.push(`job ${job.uuid} is still ${job.state} after recovery`)
      const parents = job.dependsOn.map((uuid) => jobs.get(uuid))
      if (parents.includes(undefined)) problems.push(`job ${job.uuid} has an unknown parent`)
      const allDone = parents.every((p) => p?.state === 'done')
      if (job.state === 'wait_dependencies' && allDone) problems.push(`job ${job.uuid} waits although every parent is done`)
      if (job.state !== 'wait_dependencies' && job.state !== 'cancelled' && !allDone) problems.push(`job ${job.uuid} is ${job.state} before its parents are done`)
      for (const p of parents) if (p !== undefined && !p.dependents.includes(job.uuid)) problems.push(`edge ${p.uuid} -> ${job.uuid} is one-sided`)
      for (const c of job.dependents) if (!jobs.get(c)?.dependsOn.includes(job.uuid)) problems.push(`edge ${job.uuid} -> ${c} is one-sided`)
      const spec = job.args[0] as Spec | undefined
      if (typeof spec?.tag !== 'string') problems.push(`job ${job.uuid} has args ${JSON.stringify(job.args)}`)
    }
    try {
      checkInvariants(engine.state)
    } catch (error) {
      problems.push(`checkInvariants: ${(error as Error).message}`)
    }
    for (const job of jobs.values()) {
      memory.retry.set(job.uuid, job.retry)
      if (job.state === 'done' || job.state === 'failed') memory.terminal.set(job.uuid, outcomeOf(job))
    }
    memory.afterSeq = engine.state.seq
  } finally {
    await wharf.close()
  }
  return { jobs, recovered, dead, problems }
}

/** After the last run: every job ended as its Spec says (or below a failed ancestor). */
function finalProblems(jobs: Map<string, JobView>): { problems: string[]; foundDead: number; blocked: number } {
  const problems: string[] = []
  let foundDead = 0
  let blocked = 0
  // A failed job holds its sequential channel (root.sync) until it is requeued or set done: the
  // jobs behind it stay pending, as they should (a kill can make one fail, JobFoundDead).
  const held = new Set([...jobs.values()].filter((j) => j.state === 'failed' && j.channel === SEQUENTIAL_CHANNEL).map((j) => j.channel))
  for (const job of jobs.values()) {
    const spec = job.args[0] as Spec
    const what = `job ${job.uuid} (${spec.tag} ${spec.kind}, maxRetries ${job.maxRetries}, retry ${job.retry})`
    if (job.state === 'pending' && held.has(job.channel)) {
      blocked++
      continue
    }
    if (job.state === 'wait_dependencies') {
      blocked++
      const stuck = job.dependsOn.map((uuid) => jobs.get(uuid)!).filter((p) => p.state !== 'done')
      if (!stuck.every((p) => p.state === 'failed' || p.state === 'wait_dependencies')) problems.push(`${what} waits on a parent that is not failed or blocked`)
      continue
    }
    if (job.excName === 'JobFoundDead') {
      foundDead++
      if (job.state !== 'failed' || job.maxRetries === 0 || job.retry <= job.maxRetries) problems.push(`${what} found dead within its retries`)
      continue
    }
    const expected: Partial<JobView> =
      spec.kind === 'fail'
        ? { state: 'failed', excName: 'FailedJobError', excMessage: `planned failure of ${spec.tag}` }
        : spec.kind === 'exhaust'
          ? { state: 'failed', excName: 'FailedJobError', excMessage: `Max. retries (2) reached: try ${job.retry} of ${spec.tag}` }
          : spec.kind === 'nothing'
            ? { state: 'done', result: `nothing for ${spec.tag}` }
            : { state: 'done', result: { tag: spec.tag, records: job.records } }
    for (const [key, value] of Object.entries(expected)) {
      if (!isDeepStrictEqual(job[key as keyof JobView], value)) problems.push(`${what} has ${key} ${JSON.stringify(job[key as keyof JobView])}, expected ${JSON.stringify(value)}`)
    }
    if (spec.kind === 'retry' && job.state === 'done' && job.retry <= spec.tries) problems.push(`${what} is done without its planned retries`)
  }
  return { problems, foundDead, blocked }
}

describe('crash: SIGKILL at random moments', () => {
  it(`keeps the durability contract over ${KILLS} kills (seed ${SEED}, WHARF_CRASH_SEED / WHARF_CRASH_KILLS)`, { timeout: KILLS * 4000 + 120_000 }, async () => {
    const base = mkdtempSync(join(tmpdir(), 'wharf-crash-'))
    const path = join(base, 'jobs')
    const rand = prng(SEED)
    const memory: Memory = { acked: new Set(), durableDone: new Set(), durableFailed: new Set(), terminal: new Map(), retry: new Map(), afterSeq: 0 }
    const tally = { kills: 0, beforeOpen: 0, midEnqueue: 0, finishedFirst: 0, acks: 0, recovered: 0, foundDead: 0, pending: 0, maxJobs: 0 }
    const started = Date.now()
    let passed = false
    try {
      for (let k = 0; k < KILLS; k++) {
        const kill = rand() < 0.2 ? { from: 'spawn' as const, ms: 100 + Math.floor(rand() * 900) } : { from: 'open' as const, ms: Math.floor(rand() ** 2 * 400) }
        const run = await runWorker(path, k, kill)
        const where = `seed ${SEED}, kill ${k} (${kill.ms} ms after ${kill.from}), directory ${path}`
        if (run.signal === 'SIGKILL') tally.kills++
        else expect(run.code, `worker exited on its own at ${where}: ${run.stderr}`).toBe(0)
        if (run.signal === null) tally.finishedFirst++
        if (!run.opened) tally.beforeOpen++
        else if (run.signal !== null && k % 2 === 0 && !run.enqueued) tally.midEnqueue++
        tally.acks += run.acks.length
        for (const uuid of run.acks) memory.acked.add(uuid)
        for (const uuid of run.done) memory.durableDone.add(uuid)
        for (const uuid of run.failed) memory.durableFailed.add(uuid)
        const seen = await inspect(path, memory)
        expect(seen.problems, `after ${where}`).toEqual([])
        tally.recovered += seen.recovered
        tally.foundDead += seen.dead
        tally.maxJobs = Math.max(tally.maxJobs, seen.jobs.size)
        for (const job of seen.jobs.values()) if (job.state === 'pending') tally.pending++
      }
      const last = await runWorker(path, -1, null)
      expect(last.code, `final run (seed ${SEED}): ${last.stderr}`).toBe(0)
      expect(last.drained).toBe(true)
      for (const uuid of last.done) memory.durableDone.add(uuid)
      for (const uuid of last.failed) memory.durableFailed.add(uuid)
      const end = await inspect(path, memory)
      expect(end.problems, `after the final run (seed ${SEED}, directory ${path})`).toEqual([])
      const outcome = finalProblems(end.jobs)
      expect(outcome.problems, `final states (seed ${SEED}, directory ${path})`).toEqual([])
      const states: Record<string, number> = {}
      for (const job of end.jobs.values()) states[job.state] = (states[job.state] ?? 0) + 1
      console.log(
        `crash test, seed ${SEED}: ${tally.kills} SIGKILLs in ${KILLS} runs (${tally.beforeOpen} before open, ${tally.midEnqueue} while enqueueing, ${tally.finishedFirst} runs finished first), ` +
          `${tally.acks} ACKs, ${tally.recovered} jobs recovered to pending, ${tally.foundDead} found dead on recovery ` +
          `(${outcome.foundDead} JobFoundDead at the end), ${tally.pending} pending jobs seen over the reopens; ` +
          `final ${end.jobs.size} jobs ${JSON.stringify(states)} (${outcome.blocked} waiting behind a failed parent or a failed job of ${SEQUENTIAL_CHANNEL}); ${Date.now() - started} ms; no problem found`,
      )
      passed = true
    } finally {
      if (passed) rmSync(base, { recursive: true, force: true, maxRetries: 5 }) // a killed child's LevelDB files may still be closing
      else console.log(`crash test failed: seed ${SEED}; the LevelDB directory is kept at ${path}`)
    }
  })
})
