// `npm run mutants`: plants each one-line bug of mutants.ts, one at a time, in a temporary copy of
// the repository (src, test and configs copied, node_modules linked: the working tree is never
// touched), runs vitest there and reports which test files fail. The bar: every mutant is caught
// by at least two test files. Not part of `npm test`: it runs the suite once per mutant.
//
// Per mutant, the fast files run first (those the unmutated baseline ran in at most
// MUTANT_FAST_FILE_S seconds, default 4: most of the files, a fraction of the time); the slow
// ones run only when fewer than two fast files caught it. So a row lists every fast file that
// catches its mutant, and slow ones only where they were needed. MUTANT_FAST_FILE_S=0 runs every
// file for every mutant. One PostgreSQL server (for the suites that test the PostgreSQL store
// too) serves every run. MUTANT_SLOW=<files> skips the baseline, taking the slow files from an
// earlier run's baseline on the same commit.
//
// Env: MUTANTS=name,name (a subset), MUTANT_TIMEOUT_S (per run, default 600: a run that times out
// is reported as TIMEOUT and does not count as a catch), MUTANT_FC_NUM_RUNS (property runs per
// fast-check test, default 50, lower than the suite's own to bound the run), MUTANT_SKIP (test
// files not run per mutant, default: crash.test.ts, whose 40 s of child processes kill -9 a
// store; tidy.test.ts, which reads style, not behaviour; and the CLI suites cli-http, cli-local
// and cli-usage, ~85 s of child processes testing the command line's surface over the same
// engine), MUTANT_REPORT (JSON report path). Only the `unit` vitest project runs: the `postgres`
// project reruns 23 of the same suites on another store, which no mutant of core or runtime
// needs twice (and none plants a bug in the PostgreSQL store).
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { MUTANTS, type Mutant } from './mutants.js'
import { startPgServer } from '../../src/bench/pg-server.js'

const REPO = join(import.meta.dirname, '../..')
const COPIED = ['src', 'test', 'docs', 'README.md', 'LICENSE', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'vitest.config.ts']
const SKIP_DEFAULT = ['crash', 'tidy', 'cli-http', 'cli-local', 'cli-usage'].map((name) => `test/unit/${name}.test.ts`)
const TIMEOUT_S = Number(process.env.MUTANT_TIMEOUT_S ?? 600)
const FC_NUM_RUNS = process.env.MUTANT_FC_NUM_RUNS ?? '50'
const SKIP = (process.env.MUTANT_SKIP ?? SKIP_DEFAULT.join(',')).split(',').filter((s) => s !== '')
const CATCHES_MIN = 2
const FAST_FILE_S = Number(process.env.MUTANT_FAST_FILE_S ?? 4)
/** The PostgreSQL server every run uses (WHARF_PG_URL, or one started for the whole run). */
let pgUrl: string | null = null

interface RunResult {
  /** Test files with at least one failed test, with how many failed. */
  failed: Map<string, number>
  timedOut: boolean
  seconds: number
  /** Seconds each file took (from the JSON report; empty after a timeout). */
  durations: Map<string, number>
  /** How many of the stages ran (runStaged): 1 fast files, 2 + slow property suites, 3 all. */
  stages: number
}

interface Row {
  mutant: Mutant
  result: RunResult | null
  /** Why the mutant could not be planted (its original text is gone or not unique). */
  stale: string | null
}

/** A copy of the repository to mutate: the working tree as it is, uncommitted tests included. */
function makeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-mutants-'))
  for (const entry of COPIED) cpSync(join(REPO, entry), join(dir, entry), { recursive: true })
  symlinkSync(realpathSync(join(REPO, 'node_modules')), join(dir, 'node_modules'))
  return dir
}

/** The test files run per mutant: every *.test.ts except the skipped ones. */
function testFiles(dir: string): string[] {
  const files: string[] = []
  for (const sub of ['test/unit', 'test/property']) {
    for (const name of readdirSync(join(dir, sub))) if (name.endsWith('.test.ts')) files.push(`${sub}/${name}`)
  }
  return files.filter((f) => !SKIP.includes(f)).sort()
}

/** Run vitest in `dir` on `files`, killing the whole process group at the timeout. */
function runVitest(dir: string, files: string[]): Promise<RunResult> {
  const outFile = join(dir, 'vitest-result.json')
  rmSync(outFile, { force: true })
  const started = Date.now()
  const args = ['vitest', 'run', '--project=unit', '--reporter=default', '--reporter=json', `--outputFile.json=${outFile}`, ...files]
  const child = spawn('npx', args, {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FC_NUM_RUNS, NO_COLOR: '1', FORCE_COLOR: '0', ...(pgUrl === null ? {} : { WHARF_PG_URL: pgUrl }) },
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolve) => {
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      process.kill(-child.pid!, 'SIGKILL')
    }, TIMEOUT_S * 1000)
    child.on('close', () => {
      clearTimeout(timer)
      const json = existsSync(outFile) && !timedOut ? readReport(outFile, dir) : null
      const failed = json?.failed ?? failedFromOutput(output)
      resolve({ failed, timedOut, seconds: Math.round((Date.now() - started) / 1000), durations: json?.durations ?? new Map(), stages: 3 })
    })
  })
}

interface VitestJson {
  testResults: { name: string; status: string; startTime: number; endTime: number; message?: string; assertionResults: { status: string }[] }[]
}

function readReport(path: string, dir: string): { failed: Map<string, number>; durations: Map<string, number> } {
  const report = JSON.parse(readFileSync(path, 'utf8')) as VitestJson
  const failed = new Map<string, number>()
  const durations = new Map<string, number>()
  for (const file of report.testResults) {
    const name = relative(dir, file.name)
    durations.set(name, (file.endTime - file.startTime) / 1000)
    const count = file.assertionResults.filter((a) => a.status === 'failed').length
    // A file that fails to load (or errors outside a test) counts as one failure.
    if (count > 0 || file.status === 'failed') failed.set(name, Math.max(count, 1))
  }
  return { failed, durations }
}

/**
 * Fast files first; then, while fewer than CATCHES_MIN files caught the mutant, the slow property
 * suites (the model tests and the simulator: the broadest catchers), then the other slow files.
 */
async function runStaged(dir: string, fast: string[], slow: string[]): Promise<RunResult> {
  const stages = [fast, slow.filter((f) => f.startsWith('test/property/')), slow.filter((f) => !f.startsWith('test/property/'))]
  const runs: RunResult[] = []
  const caught = (): boolean => runs.some((r) => r.timedOut) || new Set(runs.flatMap((r) => [...r.failed.keys()])).size >= CATCHES_MIN
  for (const stage of stages) {
    if (runs.length > 0 && caught()) break
    runs.push(await runVitest(dir, stage))
  }
  return {
    failed: new Map(runs.flatMap((r) => [...r.failed])),
    timedOut: runs.some((r) => r.timedOut),
    seconds: runs.reduce((sum, r) => sum + r.seconds, 0),
    durations: new Map(runs.flatMap((r) => [...r.durations])),
    stages: runs.length,
  }
}

/** After a timeout there is no JSON: the files the default reporter had marked failed so far. */
function failedFromOutput(output: string): Map<string, number> {
  const failed = new Map<string, number>()
  for (const match of output.matchAll(/^\s*[❯×]\s+(test\/\S+\.test\.ts)\s+\((\d+) tests? \| (\d+) failed/gm)) {
    failed.set(match[1]!, Number(match[3]))
  }
  return failed
}

/** Plant `mutant` in the copy; returns the original file text to restore, or why it cannot. */
function plant(dir: string, mutant: Mutant): { restore: string } | { stale: string } {
  const path = join(dir, mutant.file)
  if (!existsSync(path)) return { stale: `${mutant.file} does not exist` }
  const text = readFileSync(path, 'utf8')
  const count = text.split(mutant.original).length - 1
  if (count !== 1) return { stale: `the original text occurs ${count} times in ${mutant.file}` }
  writeFileSync(path, text.replace(mutant.original, () => mutant.replacement))
  return { restore: text }
}

/**
 * The files the unmutated baseline ran in more than FAST_FILE_S seconds; it must pass. With
 * MUTANT_SLOW (a list a previous run's baseline printed, on the same commit) no baseline runs.
 */
async function slowFiles(dir: string, files: string[]): Promise<string[]> {
  const given = process.env.MUTANT_SLOW?.split(',').map((f) => f.trim()).filter((f) => f !== '')
  if (given !== undefined) {
    const unknown = given.filter((f) => !files.includes(f))
    if (unknown.length > 0) throw new Error(`MUTANT_SLOW names files not run per mutant: ${unknown.join(', ')}`)
    console.log('no baseline: MUTANT_SLOW gives the slow files of an earlier baseline')
    return given
  }
  const baseline = await runVitest(dir, files)
  if (baseline.timedOut || baseline.failed.size > 0) {
    throw new Error(`the unmutated suite does not pass in the copy: ${[...baseline.failed.keys()].join(', ') || 'timeout'}`)
  }
  console.log(`baseline passes (${baseline.seconds} s)`)
  return files.filter((f) => (baseline.durations.get(f) ?? Infinity) > FAST_FILE_S)
}

function describeRow(row: Row): string {
  if (row.stale !== null) return `| ${row.mutant.name} | STALE: ${row.stale} | | |`
  const r = row.result!
  const files = [...r.failed].map(([f, n]) => `${f.replace(/^test\//, '')} (${n})`).join(', ') || '—'
  const verdict = r.timedOut ? `TIMEOUT after ${r.seconds} s` : r.failed.size >= CATCHES_MIN ? 'caught' : r.failed.size === 0 ? 'SURVIVED' : 'caught once'
  const scope = ['fast files', 'fast files and slow property suites', 'all files'][r.stages - 1]
  return `| ${row.mutant.name} | ${row.mutant.file.replace(/^src\//, '')} | ${verdict} (${r.failed.size} files of the ${scope}, ${r.seconds} s) | ${files} |`
}

async function main(): Promise<void> {
  const only = process.env.MUTANTS?.split(',').filter((s) => s !== '')
  const mutants = only === undefined ? MUTANTS : MUTANTS.filter((m) => only.includes(m.name))
  if (only !== undefined && mutants.length !== only.length) throw new Error(`unknown mutant in MUTANTS=${process.env.MUTANTS}`)
  const dir = makeCopy()
  const rows: Row[] = []
  const server = process.env.WHARF_PG_URL === undefined ? await startPgServer({ fsync: false }) : null
  pgUrl = server?.url ?? process.env.WHARF_PG_URL!
  try {
    const files = testFiles(dir)
    console.log(`copy: ${dir}\n${files.length} test files per mutant (skipped: ${SKIP.join(', ')}), FC_NUM_RUNS=${FC_NUM_RUNS}, timeout ${TIMEOUT_S} s`)
    const slow = await slowFiles(dir, files)
    const fast = files.filter((f) => !slow.includes(f))
    console.log(`fast files: ${fast.length}, slow: ${slow.join(', ')}`)
    console.log(`\n| mutant | file | verdict | failing test files (failed tests) |\n|---|---|---|---|`)
    for (const mutant of mutants) {
      const planted = plant(dir, mutant)
      const row: Row = 'stale' in planted ? { mutant, result: null, stale: planted.stale } : { mutant, result: null, stale: null }
      if ('restore' in planted) {
        try {
          row.result = await runStaged(dir, fast, slow)
        } finally {
          writeFileSync(join(dir, mutant.file), planted.restore)
        }
      }
      rows.push(row)
      console.log(describeRow(row))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await server?.stop()
  }
  report(rows)
}

function report(rows: Row[]): void {
  const weak = rows.filter((r) => r.stale !== null || r.result!.timedOut || r.result!.failed.size < CATCHES_MIN)
  const path = process.env.MUTANT_REPORT
  if (path !== undefined) {
    const json = rows.map((r) => ({ name: r.mutant.name, file: r.mutant.file, stale: r.stale, timedOut: r.result?.timedOut ?? null, failed: Object.fromEntries(r.result?.failed ?? []) }))
    writeFileSync(path, JSON.stringify(json, null, 2))
  }
  console.log(`\n${rows.length - weak.length}/${rows.length} mutants caught by at least ${CATCHES_MIN} test files`)
  if (weak.length > 0) {
    console.log(`below the bar: ${weak.map((r) => r.mutant.name).join(', ')}`)
    process.exitCode = 1
  }
}

await main()
