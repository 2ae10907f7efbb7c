// Proves that damage to a store's real files never loses acknowledged jobs silently: a store
// built through Wharf.open({ path }) (two sessions, every job state, graphs, history, a snapshot
// over a compaction floor) is copied and damaged — the newest write-ahead log cut or a byte
// flipped in it, a byte flipped in a table, CURRENT or MANIFEST deleted, the snapshot key deleted
// — and opened: every open must give the state as it was acknowledged, or a named Wharf error,
// or have its history scrub (awaited) name the damage; then 'truncate' must open (or refuse,
// saying why no recovery is honest) and the next plain open must be clean, its scrub included.
// The opens run in a child process (corruption/open-child.ts): a damaged LevelDB table can abort
// the process in LevelDB's native code. WHARF_CORRUPTION_SEEDS=200 goes deeper.
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogCorruptionError, Wharf } from '../../src/index.js'
import { damage, DAMAGE_KINDS, type DamageKind } from '../corruption/damage.js'
import { buildStore, CHANNELS } from '../corruption/store.js'
import { seededRandom } from '../sim/prng.js'
import { runNode } from '../../src/storage/level-child.js'
import { nodeArgs } from '../build/node-args.js'

const SEEDS = Number(process.env.WHARF_CORRUPTION_SEEDS ?? 4)
/** Jobs enqueued in the first session (half as many again in each half of the second). */
const JOBS = 150
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CHILD = fileURLToPath(new URL('../corruption/open-child.ts', import.meta.url))
/** Damage placed at random needs seeds; the rest is the same every time. */
const SEEDED: readonly DamageKind[] = ['truncate-log', 'flip-log', 'flip-ldb']
/** Every error a damaged store may fail with: Wharf's named errors, never an AssertionError or LevelDB's own. */
const NAMED = new Set(['LogCorruptionError', 'StorageError'])
/** A 'truncate' that refuses must say that no recovery is honest, and why. */
const REFUSAL = /truncation cannot recover|cannot be rebuilt/

type Integrity = { status: string; problems: string[] }
type Answer =
  | { mode: string; ok: true; digest: string; jobs: number; uuids: string[]; warnings: string[]; integrity: Integrity }
  | { mode: string; ok: false; name: string; code: string; message: string }

interface Case {
  kind: DamageKind
  seed: number
  what: string
  answers: Answer[]
  crash: string | null
}

let dir: string
let template: string
let expected: { digest: string; jobs: number; uuids: string[] }

const digestOf = (views: unknown): string => createHash('sha256').update(JSON.stringify(views)).digest('hex')

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-corruption-'))
  template = join(dir, 'template')
  const views = await buildStore(template, JOBS)
  expected = { digest: digestOf(views), jobs: views.length, uuids: views.map((v) => v.uuid) }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function openInChild(path: string): Promise<{ answers: Answer[]; crash: string | null }> {
  const { code, signal, out, err } = await runNode([...nodeArgs(CHILD), path, 'throw,truncate,throw'], ROOT)
  const answers = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Answer)
  return { answers, crash: code === 0 && answers.length === 3 ? null : `exit ${code} ${signal ?? ''}: ${err.trim().slice(-500)}` }
}

async function runCase(kind: DamageKind, seed: number): Promise<Case> {
  const path = join(dir, `${kind}-${seed}`)
  await cp(template, path, { recursive: true })
  const what = await damage(path, kind, seededRandom(seed * 31 + DAMAGE_KINDS.indexOf(kind)))
  const { answers, crash } = await openInChild(path)
  await rm(path, { recursive: true, force: true })
  return { kind, seed, what, answers, crash }
}

/** Run `tasks` with at most `limit` at a time, in order of the results. */
async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

/** A plain open that gave a state other than the acknowledged one: silent unless its scrub named
 * damage; 'named by the scrub' when it also names every job missing (when it can list them). */
function changedOutcome(a: Extract<Answer, { ok: true }>): string {
  if (a.integrity.status !== 'damaged') return 'CHANGED'
  const got = new Set(a.uuids)
  const missing = expected.uuids.filter((u) => !got.has(u))
  const text = a.integrity.problems.join('\n')
  return missing.length > 0 && missing.length <= 20 && missing.every((u) => text.includes(u)) ? 'changed, named by the scrub' : 'changed, scrub names damage'
}

const plainOutcome = (a: Answer): string => {
  if (!a.ok) return NAMED.has(a.name) ? `named ${a.code}` : `UNNAMED ${a.name}`
  if (a.digest !== expected.digest) return changedOutcome(a)
  return a.integrity.status === 'damaged' ? 'same, scrub names damage' : 'same'
}
const truncateOutcome = (a: Answer): string => {
  if (a.ok) return a.digest === expected.digest ? 'recovered, same' : 'recovered, loss warned'
  if (!REFUSAL.test(a.message)) return `FAILED ${a.name}`
  return /cannot be rebuilt/.test(a.message) ? 'refused: LevelDB cannot salvage' : 'refused: only the snapshot held it'
}

/** Everything wrong with one case; empty when it behaved. */
function problemsOf(c: Case): string[] {
  if (c.crash !== null) return [`the child did not finish: ${c.crash}`]
  const [plain, truncate, next] = c.answers as [Answer, Answer, Answer]
  const problems: string[] = []
  // LevelDB checks no table checksum on reads, and an open does not read all of history: a
  // changed state must be named by the history scrub that reads it after the open.
  if (plain.ok && plain.digest !== expected.digest && plain.integrity.status !== 'damaged') {
    problems.push(`a plain open gave ${plain.jobs} jobs, not the ${expected.jobs} acknowledged, without an error, and its history scrub found ${plain.integrity.status}`)
  }
  if (!plain.ok && !NAMED.has(plain.name)) problems.push(`a plain open failed with ${plain.name}: ${plain.message}`)
  if (!truncate.ok && !REFUSAL.test(truncate.message)) problems.push(`'truncate' failed without saying why it cannot recover: ${truncate.name}: ${truncate.message}`)
  if (truncate.ok && truncate.digest !== expected.digest && truncate.warnings.length === 0) problems.push(`'truncate' lost jobs (${truncate.jobs} of ${expected.jobs}) without a warning`)
  if (truncate.ok && !(next.ok && next.digest === truncate.digest && next.warnings.length === 0 && next.integrity.status === 'ok')) {
    const what = next.ok ? `${next.jobs} jobs, warnings ${JSON.stringify(next.warnings)}, scrub ${JSON.stringify(next.integrity)}` : `${next.name}: ${next.message}`
    problems.push(`the open after 'truncate' is not clean: ${what}`)
  }
  if (truncate.ok && truncate.integrity.status !== 'ok') problems.push(`the scrub after 'truncate' found ${JSON.stringify(truncate.integrity)}`)
  // A refusal writes nothing: the next plain open must do exactly what the first one did.
  const sameAs = (a: Answer, b: Answer): boolean => (a.ok && b.ok ? a.digest === b.digest : !a.ok && !b.ok && a.code === b.code)
  if (!truncate.ok && !sameAs(next, plain)) problems.push(`'truncate' refused, yet the next plain open differs from the first: ${JSON.stringify(next).slice(0, 300)}`)
  return problems
}

describe('a damaged store', () => {
  it("undamaged, opens with every acknowledged job in both modes, and 'truncate' changes nothing", async () => {
    const path = join(dir, 'control')
    await cp(template, path, { recursive: true })
    const { answers, crash } = await openInChild(path)
    expect(crash).toBeNull()
    for (const answer of answers) expect(answer).toMatchObject({ ok: true, digest: expected.digest, jobs: expected.jobs, warnings: [], integrity: { status: 'ok', problems: [] } })
    expect(expected.jobs).toBeGreaterThan(500)
  })

  it(`never loses an acknowledged job silently, over ${SEEDS} seed(s) of each seeded damage`, async () => {
    const kinds = DAMAGE_KINDS.flatMap((kind) => (SEEDED.includes(kind) ? Array.from({ length: SEEDS }, (_, i) => [kind, i + 1] as const) : [[kind, 1] as const]))
    const cases = await pool(kinds.map(([kind, seed]) => () => runCase(kind, seed)), Math.max(1, availableParallelism()))
    const table = new Map<string, number>()
    const failures: string[] = []
    for (const c of cases) {
      const row = c.crash === null ? `${c.kind.padEnd(16)} ${plainOutcome(c.answers[0]!).padEnd(28)} ${truncateOutcome(c.answers[1]!).padEnd(36)}` : `${c.kind} CRASHED`
      table.set(row, (table.get(row) ?? 0) + 1)
      for (const problem of problemsOf(c)) failures.push(`${c.kind} seed ${c.seed} (${c.what}): ${problem}`)
    }
    console.log(`damage kind      plain open (and its scrub)   'truncate'                           count\n${[...table].sort().map(([row, n]) => `${row} ${n}`).join('\n')}`)
    expect(failures).toEqual([])
  }, Math.max(180_000, SEEDS * SEEDED.length * 5_000)) // a guard against a hang, not a timing assertion; grows with the seeds
})

describe('a safe open', () => {
  it('of a store whose CURRENT is gone writes nothing and names what is missing', async () => {
    const path = join(dir, 'no-current')
    await cp(template, path, { recursive: true })
    await damage(path, 'delete-current', seededRandom(1))
    const before = await listing(path)
    const error = await Wharf.open({ path, channels: CHANNELS }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as Error).message).toMatch(/the LevelDB file CURRENT is missing.*nothing was written/)
    expect(await listing(path)).toEqual(before)
  })

  it('keeps the files as they were before an open that met corruption, where the error says', async () => {
    const path = join(dir, 'evidence')
    await cp(template, path, { recursive: true })
    const what = await damage(path, 'flip-log', seededRandom(3))
    const logName = (await readdir(path)).find((n) => n.endsWith('.log'))!
    const damagedLog = await readFile(join(path, logName))
    const error = await Wharf.open({ path, channels: CHANNELS }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error, what).toBeInstanceOf(LogCorruptionError)
    const kept = (error as Error).message.match(/kept in "([^"]+)"/)?.[1]
    expect(kept).toBeDefined()
    // LevelDB's open replaced the log by a table; the kept copy still has it, byte for byte.
    expect(await readdir(path)).not.toContain(logName)
    expect(await readFile(join(kept!, logName))).toEqual(damagedLog)
  })
})

async function listing(path: string): Promise<Array<[string, number]>> {
  const names = (await readdir(path)).sort()
  return Promise.all(names.map(async (n) => [n, (await stat(join(path, n))).size] as [string, number]))
}
