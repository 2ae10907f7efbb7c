// Proves `wharf verify --path`: exit 0 on a clean store (with and without a snapshot over a
// compaction floor) and the store's files left byte for byte as they were; exit 1 on each kind of
// damage, every problem listed at once — a history view whose checksum fails, a deleted record
// (a gap), a record whose checksum fails, a lost tail under the end-of-log mark, a missing mark, a
// stray key, a checksummed record the replay refuses — and on a store another process holds.
// Damage is made through LevelDB itself on a copy of a store built by the public API.
import { createHash } from 'node:crypto'
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { beforeAll, describe, expect, it } from 'vitest'
import { FakeClock, Wharf } from '../../src/index.js'
import { encodeBatch } from '../../src/storage/codec.js'
import { VIEW_PREFIX } from '../../src/storage/level-history.js'
import { FIRST_KEY, LAST_KEY, recordKey } from '../../src/storage/level-recovery.js'
import { main } from '../../src/cli/main.js'
import { buildStore, CHANNELS, JOBS, START_MS, tempDirs, wharf, wharfJson } from './cli-helpers.js'

const tempDir = tempDirs('wharf-cli-verify-')
let template: string

type Db = ClassicLevel<string, Uint8Array>
type Check = { ok: boolean; log: { records: number; lastSeq: number; floorSeq: number; snapshotSeq: number | null }; markSeq: number; finished: number; live: number | null; problems: string[] }

beforeAll(async () => {
  template = join(await tempDir(), 'store')
  await buildStore(template)
})

async function copyOfStore(): Promise<string> {
  const path = join(await tempDir(), 'store')
  await cp(template, path, { recursive: true })
  return path
}

async function tamper(path: string, change: (db: Db) => Promise<void>): Promise<void> {
  const db: Db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  try {
    await change(db)
  } finally {
    await db.close()
  }
}

async function recordKeys(db: Db): Promise<string[]> {
  return db.keys({ gte: FIRST_KEY, lte: LAST_KEY }).all()
}

/** `value` with one byte flipped near its end (inside the JSON body, past every header). */
function flipped(value: Uint8Array): Uint8Array {
  const copy = Buffer.from(value)
  copy[copy.length - 2]! ^= 0x20
  return copy
}

/** sha256 of every file under `path`, by relative name. */
async function fingerprint(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = join(entry.parentPath, entry.name)
    out[file.slice(path.length)] = createHash('sha256').update(await readFile(file)).digest('hex')
  }
  return out
}

describe('wharf verify on a clean store', () => {
  it('says what it checked, exits 0, and leaves every file of the store as it was', async () => {
    const path = await copyOfStore()
    const before = await fingerprint(path)
    const run = await wharf('verify', '--path', path)
    expect(run.code).toBe(0)
    expect(run.out).toMatch(/^log records: +\d+ \(\d+ events\)$/m)
    // Live: the failed, pending and waiting ones; the started one is not recovered (nothing is appended).
    expect(run.out).toMatch(/^jobs live: +5 \(replayed, invariants hold\)$/m)
    expect(run.out).toMatch(/^jobs finished: +3 \(history views\)$/m)
    expect(run.out.trimEnd().split('\n').at(-1)).toBe('ok: no problem found')
    expect(await fingerprint(path)).toEqual(before)
  })

  it('checks a store with a snapshot over a compaction floor', async () => {
    const path = await copyOfStore()
    const app = await Wharf.open({ path, channels: CHANNELS, clock: new FakeClock(START_MS) })
    await app.snapshot()
    await app.close()
    const check = await wharfJson<Check>(0, 'verify', '--path', path)
    expect(check.ok).toBe(true)
    expect(check.log.snapshotSeq).toBe(check.log.floorSeq)
    expect(check.log.floorSeq).toBeGreaterThan(0)
    expect(check.problems).toEqual([])
  })
})

describe('wharf verify on a damaged store exits 1 and names the damage', () => {
  it('a history view whose checksum fails', async () => {
    const path = await copyOfStore()
    await tamper(path, async (db) => db.put(VIEW_PREFIX + JOBS.done, flipped((await db.get(VIEW_PREFIX + JOBS.done))!)))
    const run = await wharf('verify', '--path', path)
    expect(run.code).toBe(1)
    const lines = run.out.split('\n')
    expect(lines.slice(lines.findIndex((l) => l.endsWith('problem(s):')))).toEqual([
      '3 problem(s):',
      `- 1 finished job view(s) in history are damaged (checksum or JSON): ${JOBS.done}`,
      '- 1 history index key(s) name a job without a readable view',
      '- 1 history count(s) differ from the views in history: channel root, function res.partner.sync: counted 1 done, 1 cancelled, views 0 done, 1 cancelled',
      '',
    ])
  })

  it('a deleted record, a record whose checksum fails and a stray key, all listed', async () => {
    const path = await copyOfStore()
    await tamper(path, async (db) => {
      const keys = await recordKeys(db)
      await db.del(keys[1]!)
      await db.put(keys[3]!, flipped((await db.get(keys[3]!))!))
      await db.put('x-stray', new Uint8Array([1]))
    })
    const check = await wharfJson<Check>(1, 'verify', '--path', path)
    expect(check.ok).toBe(false)
    expect(check.problems).toEqual([
      expect.stringMatching(/^corrupt event log at seq \d+: events \d+\.\.\d+ are missing/),
      expect.stringMatching(/^corrupt event log record at seq \d+ in ".*": checksum mismatch$/),
      '1 key(s) lie outside every range Wharf writes (garbled keys of a damaged table; what they held is missing where it belongs): "x-stray"',
      'the log was not replayed (the problems above stop an open)',
    ])
    expect(check.problems[1]).toContain(JSON.stringify(path)) // the store, not verify's copy of it
  })

  it('a lost tail: the log ends below the end-of-log mark', async () => {
    const path = await copyOfStore()
    await tamper(path, async (db) => db.del((await recordKeys(db)).at(-1)!))
    const check = await wharfJson<Check>(1, 'verify', '--path', path)
    expect(check.problems[0]).toMatch(new RegExp(`^the log ends at seq ${check.log.lastSeq} but seq ${check.markSeq} was acknowledged \\(end-of-log mark\\): events \\d+\\.\\.${check.markSeq} are missing$`))
  })

  it('a missing end-of-log mark', async () => {
    const path = await copyOfStore()
    await rm(join(path, 'WHARF-END'))
    const check = await wharfJson<Check>(1, 'verify', '--path', path)
    expect(check.problems[0]).toBe('the end-of-log mark WHARF-END is missing: a lost tail of the log cannot be detected')
  })

  it('a record whose checksum holds but whose event the replay refuses', async () => {
    const path = await copyOfStore()
    const end = (await wharfJson<Check>(0, 'verify', '--path', path)).log.lastSeq
    await tamper(path, async (db) => {
      await db.put(recordKey(end + 1), encodeBatch([{ seq: end + 1, v: 1, at: START_MS, type: 'job.started', uuid: 'j-999999' }]))
    })
    const check = await wharfJson<Check>(1, 'verify', '--path', path)
    expect(check.problems).toEqual([expect.stringMatching(/^replay: .*j-999999/)])
    expect(check.live).toBeNull()
  })

  // `wharf jobs --path <backup>` says to check a backup with verify; verify said "ok" of a backup
  // that `wharf restore` refuses, because it never compared the backup with its manifest.
  it('a backup that differs from its manifest, as restore finds it; a whole one is ok', async () => {
    const dir = await tempDir()
    const backup = join(dir, 'backup')
    expect((await wharf('backup', '--path', template, '--to', backup)).code).toBe(0)
    const whole = await wharf('verify', '--path', backup)
    expect(whole.code).toBe(0)
    expect(whole.out).toMatch(/^backup manifest: +matches \(\d+ entries, seq \d+\)$/m)
    const manifest = JSON.parse(await readFile(join(backup, 'WHARF-BACKUP'), 'utf8')) as { keys: number; sha256: string }
    await writeFile(join(backup, 'WHARF-BACKUP'), JSON.stringify({ ...manifest, keys: manifest.keys + 1, sha256: '0'.repeat(64) }))
    const check = await wharfJson<Check>(1, 'verify', '--path', backup)
    expect(check.problems).toEqual([expect.stringMatching(/^the backup differs from its manifest WHARF-BACKUP: entries: \d+, the manifest says \d+; sha256 of the entries: /)])
    expect((await wharf('restore', backup, '--path', join(dir, 'restored'))).code).toBe(1)
    await writeFile(join(backup, 'WHARF-BACKUP'), 'garbage')
    const unreadable = await wharfJson<Check>(1, 'verify', '--path', backup)
    expect(unreadable.problems).toEqual([expect.stringMatching(/^the backup's manifest cannot be read: its WHARF-BACKUP file is damaged/)])
  })

  // verify reads a private copy made in the temporary directory. When it could not be made (no
  // room there — often a small tmpfs — for a large store's files) the command died with a stack
  // trace, and --json printed no document.
  it('a private copy that cannot be made is a refusal saying why (exit 1, one JSON document)', async () => {
    const path = await copyOfStore()
    const tmp = process.env.TMPDIR
    process.env.TMPDIR = join(await tempDir(), 'missing')
    let out = ''
    let err = ''
    let code: number
    try {
      code = await main(['verify', '--path', path, '--json'], { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } })
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = tmp
    }
    expect(code).toBe(1)
    expect(JSON.parse(out)).toEqual({ error: { name: 'StorageError', code: 'STORAGE', message: expect.stringContaining('ENOENT') } })
    expect(err).toMatch(/^wharf verify: StorageError: cannot make the private copy .* TMPDIR/)
  })

  // A directory of another program's LevelDB (the wrong --path): verify reported its keys as
  // "garbled keys of a damaged table", sending the operator to repair a store that is not one,
  // where `wharf jobs --path` (Wharf.open) says what it is.
  it("another program's LevelDB is refused as not Wharf's, as an open refuses it, not reported as damage", async () => {
    const path = join(await tempDir(), 'other')
    const db: Db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()
    await db.put('session:42', new Uint8Array([1]))
    await db.close()
    const run = await wharf('verify', '--path', path)
    expect([run.code, run.out]).toEqual([1, ''])
    expect(run.err).toContain(`wharf verify: StorageError: the Wharf path ${JSON.stringify(path)} is a LevelDB store that was not written by Wharf (first key "session:42")`)
    expect((await wharfJson<{ error: object }>(1, 'verify', '--path', path)).error).toMatchObject({ name: 'StorageError', code: 'STORAGE' })
  })

  it('a store another process holds is refused (exit 1), not read', async () => {
    const path = await copyOfStore()
    const app = await Wharf.open({ path })
    try {
      const run = await wharf('verify', '--path', path)
      expect(run.code).toBe(1)
      expect(run.err).toMatch(/^wharf verify: StorageLockedError: .*in use by another process.*stop the app first/)
    } finally {
      await app.close()
    }
  })
})
