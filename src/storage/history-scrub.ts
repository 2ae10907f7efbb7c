// The history scrub of a LevelDB store (runtime/history-scrubber.ts drives it): LevelDB does not
// verify its table checksums on reads, and a damaged block can read as fewer entries without an
// error, so a finished job can vanish from history silently; an open cannot look (its cost follows
// live jobs), so this reads all of history once afterwards, in the background.
//
// In a child process, on the store's files as they were before the open (evidence.ts links them
// aside for every open; a clean open hands them over here instead of removing them): LevelDB 1.20
// aborts the process on some damaged tables, and a read of everything meets them — that must end
// a child, not the app. The files are the state the app opened (the child's LevelDB replays the
// same write-ahead log), frozen: appends, vacuums and compactions go on in the store meanwhile
// and cannot disturb the check, which needs no snapshot and no coordination with ticks. The child
// runs at the lowest CPU priority and, while the app is busy, works a quarter of the time (it is
// told on stdin, history-scrub-child.ts); the links cost no space until the store's own
// compactions delete the originals, and are removed when the scrub ends.
//
// The child is history-scrub-child.ts, run by the same `node`: compiled (.js) from the package,
// through tsx from the sources (tests, `npm start`).

import { spawn, type ChildProcess } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { constants, setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { HistoryScrub, ScrubResult } from './history.js'

const SOURCE = import.meta.url.endsWith('.ts')
const CHILD = fileURLToPath(new URL(`./history-scrub-child.${SOURCE ? 'ts' : 'js'}`, import.meta.url))
/** The package root, where `tsx` resolves from when running the sources. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A scrub already over: nothing to read (a new store), or checked by this open ('truncate'). */
export function scrubDone(where: string, result: ScrubResult): HistoryScrub {
  return { where, done: Promise.resolve(result), stop: async () => {} }
}

/** How often the child is told whether the app is busy. */
const BUSY_POLL_MS = 100

/**
 * Check the store files in `dir` (which this takes over, and removes when done) in a child
 * process; `dir` null: there are none (a store created by this open: its history is empty).
 * `busy`: whether the app has work in hand (the child then leaves it most of the machine).
 */
export function scrubInChild(dir: Promise<string | null>, where: string, busy: () => boolean): HistoryScrub {
  let stopped = false
  let child: ChildProcess | null = null
  const run = async (): Promise<ScrubResult> => {
    const files = await dir
    if (files === null) return { checked: true, views: 0, problems: [] }
    try {
      if (stopped) return STOPPED
      // ELECTRON_RUN_AS_NODE: in an Electron app, execPath is the app; this makes it a plain node.
      const env = { ...process.env, ELECTRON_RUN_AS_NODE: '1' }
      child = spawn(process.execPath, [...(SOURCE ? ['--import', 'tsx'] : []), CHILD, files], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
      lowerPriority(child)
      const telling = tellBusy(child, busy)
      const ran = await collect(child)
      clearInterval(telling)
      return stopped ? STOPPED : resultOf(ran)
    } finally {
      await rm(files, { recursive: true, force: true })
    }
  }
  const done = run().catch((error: unknown) => ({ checked: false as const, why: `the scrub failed: ${(error as Error)?.message ?? String(error)}` }))
  return {
    where,
    done,
    stop: async () => {
      stopped = true
      child?.kill('SIGKILL')
      await done
    },
  }
}

const STOPPED: ScrubResult = { checked: false, why: 'stopped: the store was closed first' }

/** Tell the child whenever the app turns busy or idle (checked every BUSY_POLL_MS). */
function tellBusy(child: ChildProcess, busy: () => boolean): NodeJS.Timeout {
  let told: boolean | null = null
  child.stdin!.on('error', () => {}) // it ended first
  const tell = (): void => {
    const now = busy()
    if (now === told) return
    told = now
    child.stdin!.write(now ? 'b' : 'i')
  }
  tell()
  return setInterval(tell, BUSY_POLL_MS).unref()
}

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  out: string
  err: string
  error: Error | null
}

function collect(child: ChildProcess): Promise<Run> {
  return new Promise((resolve) => {
    const run: Run = { code: null, signal: null, out: '', err: '', error: null }
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (run.out += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (run.err = (run.err + chunk).slice(-4000)))
    child.on('error', (error) => resolve({ ...run, error }))
    child.on('close', (code, signal) => resolve({ ...run, code, signal }))
  })
}

/** What the child's end says: its answer, LevelDB's abort (damage), or its own failure. */
function resultOf(run: Run): ScrubResult {
  if (run.error !== null) return { checked: false, why: `the scrub process could not run: ${run.error.message}` }
  if (run.code === 0) {
    const answer = JSON.parse(run.out.trim().split('\n').at(-1) ?? '{}') as { views?: number; problems?: string[] }
    if (typeof answer.views === 'number' && Array.isArray(answer.problems)) return { checked: true, views: answer.views, problems: answer.problems }
  }
  const last = run.err.trim().split('\n').filter((l) => l.trim() !== '').at(-1)?.trim().slice(0, 300) ?? 'no message'
  // An assertion in LevelDB's native code: it met a damaged table (level-child.ts says which).
  if (run.signal === 'SIGABRT' || /Assertion .* failed/.test(run.err)) return { checked: true, views: 0, problems: [`LevelDB aborted the process that read history (${run.signal ?? `exit ${run.code}`}: ${last})`] }
  return { checked: false, why: `the scrub process failed (${run.signal ?? `exit ${run.code}`}: ${last})` }
}

/** The child takes the time the app leaves; a system that refuses (some containers) just runs it. */
function lowerPriority(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    setPriority(child.pid, constants.priority.PRIORITY_LOW)
  } catch {
    // EACCES/EPERM: run at the default priority.
  }
}
