// wharf.backup() and restoreBackup(): a backup of a running durable store, restored elsewhere and
// opened, holds exactly the jobs of one committed point of the source's log; bad input and damaged
// backups are refused, naming the path, with nothing written at the target.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import {
  chain,
  group,
  FailedJobError,
  InvalidBackupError,
  InvalidPropertyError,
  LevelLog,
  LogCorruptionError,
  RetryableJobError,
  StorageError,
  Wharf,
  StorageLockedError,
  WharfClosedError,
  backupStore,
  restoreBackup,
  type JobView,
  type WharfEvent,
} from '../../src/index.js'
import { recordKey } from '../../src/storage/level-log.js'
import { makeBatch } from './event-log-contract.js'
import { failure, gate } from './helpers.js'
import { wharf as wharfCli } from './cli-helpers.js'

const roots: string[] = []
const opened: Wharf[] = []

afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true })
})

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-backup-'))
  roots.push(root)
  return root
}

async function open(path?: string, options: { snapshotEvery?: number } = {}): Promise<Wharf> {
  const wharf = await Wharf.open({ ...(path === undefined ? {} : { path }), channels: 'root:4', ...options })
  opened.push(wharf)
  return wharf
}

/** The job functions of the workload: `ok` returns its argument, `fail` fails, `retry` is postponed. */
function models(wharf: Wharf) {
  return wharf.model('bk', {
    async ok(x: number) {
      await new Promise((resolve) => setImmediate(resolve))
      return x
    },
    async fail() {
      throw new FailedJobError('no')
    },
    async retry() {
      throw new RetryableJobError('later', { seconds: 3600 })
    },
  })
}

/** Jobs in every state a store keeps: finished ones in history, a snapshot, a log tail after it. */
async function fillMixed(wharf: Wharf): Promise<void> {
  const bk = models(wharf)
  for (let i = 0; i < 5; i++) await bk.withDelay().ok(i)
  await bk.withDelay({ eta: 3600 }).ok(100) // pending until its eta
  const cancelled = await bk.withDelay({ eta: 3600 }).ok(101)
  await wharf.cancel(cancelled.uuid)
  await bk.withDelay({ maxRetries: 1 }).fail()
  await bk.withDelay().retry() // postponed: pending with a retry counted
  await chain(bk.delayable().ok(1), group(bk.delayable().ok(2), bk.delayable().ok(3)), bk.delayable().ok(4)).delay()
  await chain(bk.delayable().fail(), bk.delayable().ok(5)).delay() // the child waits for ever
  await wharf.start()
  await wharf.idle()
  await wharf.snapshot()
  for (let i = 0; i < 5; i++) await bk.withDelay().ok(200 + i) // the log's tail, after the snapshot
  await wharf.idle()
}

/** Views compared as data; edge lists may come back in another order after an open. */
function normal(view: JobView | undefined): unknown {
  if (view === undefined) return undefined
  return { ...view, dependsOn: [...view.dependsOn].sort(), dependents: [...view.dependents].sort() }
}

async function allJobs(wharf: Wharf): Promise<unknown[]> {
  const jobs: JobView[] = []
  for (let page = await wharf.jobs({ limit: 7 }); page.length > 0; page = await wharf.jobs({ limit: 7, after: page.at(-1)!.uuid })) jobs.push(...page)
  return jobs.map(normal)
}

/** Names in `dir`, for "nothing was written here" checks. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort()
}

/** Every file directly in `dir` with its bytes, for "not a byte changed" checks. */
async function bytes(dir: string): Promise<string[][]> {
  return Promise.all((await listing(dir)).map(async (name) => [name, (await readFile(join(dir, name))).toString('hex')]))
}

describe('backup and restore of a running store', () => {
  it('restores every job, live and finished, exactly as the source had it at the backup', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'), { snapshotEvery: 0 })
    let lastSeq = 0
    source.on('transition', (event: WharfEvent) => (lastSeq = Math.max(lastSeq, event.seq)))
    await fillMixed(source)
    const before = await allJobs(source)
    const states = new Set(before.map((v) => (v as JobView).state))
    expect([...states].sort()).toEqual(['cancelled', 'done', 'failed', 'pending', 'wait_dependencies'])

    const result = await source.backup(join(root, 'backup'))
    expect(result).toMatchObject({ path: join(root, 'backup'), seq: lastSeq })
    expect(result.keys).toBeGreaterThan(0)
    expect(result.bytes).toBeGreaterThan(0)

    const restored = await restoreBackup(join(root, 'backup'), join(root, 'restored'))
    expect(restored).toMatchObject({ path: join(root, 'restored'), seq: lastSeq, keys: result.keys, bytes: result.bytes })
    const copy = await open(join(root, 'restored'))
    expect(copy.openReport).toMatchObject({ requeued: 0, foundDead: 0 })
    expect(await allJobs(copy)).toEqual(before)
    for (const view of before as JobView[]) expect(normal(await copy.job(view.uuid))).toEqual(normal(await source.job(view.uuid)))
    expect(copy.stats().states).toEqual(source.stats().states)
  })

  it('takes a prefix-consistent point while handlers run and enqueues go on', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'), { snapshotEvery: 0 })
    const events: WharfEvent[] = []
    source.on('transition', (event: WharfEvent) => events.push(structuredClone(event)))
    const bk = models(source)
    await source.start()
    const total = 400
    const acked: string[] = []
    let reached!: () => void
    const hundred = new Promise<void>((resolve) => (reached = resolve))
    const enqueues = (async () => {
      for (let i = 0; i < total; i += 4) {
        const views = await Promise.all([0, 1, 2, 3].map((k) => bk.withDelay().ok(i + k)))
        acked.push(...views.map((v) => v.uuid))
        if (acked.length >= 100) reached()
      }
    })()
    await hundred
    const ackedBefore = [...acked]
    const result = await source.backup(join(root, 'backup'))
    await enqueues
    await source.idle()
    expect(ackedBefore.length).toBeLessThan(total) // enqueues were still going on

    await restoreBackup(join(root, 'backup'), join(root, 'restored'))
    // The restored log is the source's log up to the backup's seq, exactly (read before an open
    // appends its recovery events).
    const log = new LevelLog(join(root, 'restored'))
    await log.open()
    const read: WharfEvent[] = []
    try {
      for await (const batch of log.read()) read.push(...batch)
    } finally {
      await log.close()
    }
    expect(read.length).toBe(result.seq)
    expect(read).toEqual(events.slice(0, result.seq))

    const copy = await open(join(root, 'restored'))
    for (const uuid of ackedBefore) expect((await copy.job(uuid))?.uuid).toBe(uuid)
    // History matches the log: the jobs done in the copy are those its log finished (no more, as
    // history read after the log's point would give), each the source's done job, view for view.
    const done = await copy.jobs({ state: 'done', limit: 10_000 })
    const doneInLog = read.flatMap((e) => (e.type === 'job.done' ? [e.uuid] : []))
    expect(done.map((v) => v.uuid).sort()).toEqual(doneInLog.sort())
    for (const view of done) expect(view).toEqual(await source.job(view.uuid))
  })

  it('gives the backup and every restored store an identity of its own', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await models(source).withDelay().ok(1)
    const backup = await source.backup(join(root, 'backup'))
    const a = await restoreBackup(join(root, 'backup'), join(root, 'a'))
    const b = await restoreBackup(join(root, 'backup'), join(root, 'b'))
    expect(new Set([backup.storeId, a.storeId, b.storeId]).size).toBe(3)
    // So one copy's end-of-log mark is refused by another copy.
    await writeFile(join(root, 'a', 'WHARF-END'), await readFile(join(root, 'b', 'WHARF-END')))
    const error = await failure(() => Wharf.open({ path: join(root, 'a') }))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toContain('belongs to another store')
  })

  it('waits for a backup in progress before close releases the store, and starts no new one', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await models(source).withDelay().ok(1)
    const backup = source.backup(join(root, 'backup'))
    const closing = source.close()
    // One asked for once close() has begun is refused: the store is about to be released.
    expect(await failure(() => source.backup(join(root, 'late')))).toBeInstanceOf(WharfClosedError)
    await closing
    expect((await backup).seq).toBeGreaterThan(0)
    expect(await listing(join(root, 'backup'))).toContain('WHARF-BACKUP')
    expect(await listing(root)).toEqual(['backup', 'source'])
  })
})

describe('backup refusals', () => {
  it('refuses a non-empty directory, naming it, and writes nothing', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    const dir = join(root, 'taken')
    await mkdir(dir)
    await writeFile(join(dir, 'photo.jpg'), 'x')
    const error = await failure(() => source.backup(dir))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toContain(JSON.stringify(dir))
    expect(await listing(dir)).toEqual(['photo.jpg'])
    expect(await listing(root)).toEqual(['source', 'taken'])
  })

  it('refuses a path that is a file, and a directory inside the store itself', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await writeFile(join(root, 'file'), 'x')
    expect(await failure(() => source.backup(join(root, 'file')))).toBeInstanceOf(StorageError)
    const inside = await failure(() => source.backup(join(root, 'source', 'backup')))
    expect(inside).toBeInstanceOf(InvalidPropertyError)
    expect((inside as Error).message).toContain(JSON.stringify(join(root, 'source', 'backup')))
    expect(await listing(root)).toEqual(['file', 'source'])
  })

  // A directory that cannot be created there (EACCES, EROFS, EPERM; ENOSPC while copying) was
  // the file system's raw error: an untyped rejection, and a stack trace from `wharf backup`.
  // /sys refuses every mkdir, root's included.
  // The check compared the paths as written: through a symbolic link to the store (or from a
  // store opened through one), the backup was written into the store's own directory.
  it('refuses a directory inside the store reached through a symbolic link, either way', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await symlink(join(root, 'source'), join(root, 'link'))
    const through = await failure(() => source.backup(join(root, 'link', 'backup')))
    expect(through).toBeInstanceOf(InvalidPropertyError)
    expect((through as Error).message).toContain(`${JSON.stringify(join(root, 'link', 'backup'))} is inside ${JSON.stringify(join(root, 'source'))}`)
    await source.close()
    const viaLink = await open(join(root, 'link'))
    expect(await failure(() => viaLink.backup(join(root, 'source', 'backup')))).toBeInstanceOf(InvalidPropertyError)
    await viaLink.close()
    expect(await failure(() => backupStore(join(root, 'source'), join(root, 'link', 'backup')))).toBeInstanceOf(InvalidPropertyError)
    expect((await listing(join(root, 'source'))).filter((name) => name.startsWith('backup'))).toEqual([])
  })

  it('refuses, as a StorageError naming it, a directory that cannot be created', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    const where = `/sys/wharf-backup-test-${process.pid}`
    const error = await failure(() => source.backup(where))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toMatch(new RegExp(`^backup\\(\\): cannot create the backup directory "${where}" \\((EPERM|EACCES|EROFS)\\); nothing was written`))
    // Node's recursive mkdir loops forever where a file system answers ENOENT for a directory
    // whose parent exists, as /proc does: the backup spun at full CPU instead of refusing.
    const deep = `/proc/wharf-backup-test-${process.pid}/a`
    const spun = await failure(() => source.backup(deep))
    expect(spun).toBeInstanceOf(StorageError)
    expect((spun as Error).message).toContain(`cannot create the backup directory "${deep}" (ENOENT)`)
    await source.backup(join(root, 'backup'))
    await source.close()
    const restore = await failure(() => restoreBackup(join(root, 'backup'), where))
    expect(restore).toBeInstanceOf(StorageError)
    expect((restore as Error).message).toMatch(/^restoreBackup\(\): cannot create the target directory /)
    expect(await listing(root)).toEqual(['backup', 'source'])
    const run = await wharfCli('backup', '--path', join(root, 'source'), '--to', where)
    expect(run.code).toBe(1)
    expect(run.err).toMatch(/^wharf backup: StorageError: backup\(\): cannot create the backup directory "\/sys\/wharf-backup-test-\d+" \(\w+\); nothing was written\n$/)
  })

  it('refuses an in-memory Wharf and a closed one', async () => {
    const root = await tempRoot()
    const memory = await open()
    const error = await failure(() => memory.backup(join(root, 'backup')))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toContain('without `path`')
    const closed = await open(join(root, 'source'))
    await closed.close()
    expect(await failure(() => closed.backup(join(root, 'backup')))).toBeInstanceOf(WharfClosedError)
    expect(await listing(root)).toEqual(['source'])
  })

  it('accepts an existing empty directory', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await mkdir(join(root, 'empty'))
    await source.backup(join(root, 'empty'))
    expect(await listing(join(root, 'empty'))).toContain('WHARF-END')
  })

  // A target given as a symbolic link to an empty directory (a backups mount, say) passed the
  // checks, was written whole, and then the final rename onto the link failed (ENOTDIR) with
  // "was something written there meanwhile?". It is written where the link leads.
  // A link to nothing passed as a new target: everything was copied, then the rename onto the
  // link failed (ENOTDIR) with "was something written there meanwhile?".
  it('refuses a symbolic link that leads nowhere before copying anything, naming where it leads', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await symlink(join(root, 'gone'), join(root, 'backups'))
    const error = await failure(() => source.backup(join(root, 'backups')))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toBe(`backup(): the backup directory ${JSON.stringify(join(root, 'backups'))} is a symbolic link to ${JSON.stringify(join(root, 'gone'))}, which does not exist; create that directory, or give another`)
    expect(await listing(root)).toEqual(['backups', 'source'])
  })

  it('accepts a symbolic link to an empty directory, for a backup and a restore, and writes where it leads', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await models(source).withDelay().ok(1)
    await mkdir(join(root, 'disk', 'backups'), { recursive: true })
    await symlink(join(root, 'disk', 'backups'), join(root, 'backups'))
    const result = await source.backup(join(root, 'backups'))
    expect(result.path).toBe(join(root, 'backups'))
    expect(await listing(join(root, 'disk', 'backups'))).toContain('WHARF-BACKUP')
    await source.close()
    await mkdir(join(root, 'disk', 'store'))
    await symlink(join(root, 'disk', 'store'), join(root, 'store'))
    await restoreBackup(join(root, 'backups'), join(root, 'store'))
    expect(await allJobs(await open(join(root, 'store')))).toHaveLength(1)
    expect(await listing(root)).toEqual(['backups', 'disk', 'source', 'store'])
    expect(await listing(join(root, 'disk'))).toEqual(['backups', 'store'])
  })
})

describe('a backup is not opened as a store', () => {
  it('Wharf.open refuses it, naming it, before writing; it stays restorable, and verify-style reads still open it', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    const held = gate()
    const m = source.model('bk.hold', {
      async run() {
        await held.wait
      },
    })
    const job = await m.withDelay().run()
    await source.start()
    // The handler is let go however the test ends: close() after a failure waits for it.
    try {
      await refusedThenRestored(root, source, job.uuid)
    } finally {
      held.open()
    }
  })
})

/** The backup taken while `uuid` runs is refused by Wharf.open, unchanged, and restores with it pending. */
async function refusedThenRestored(root: string, source: Wharf, uuid: string): Promise<void> {
  await source.settled()
  expect((await source.job(uuid))!.state).toBe('started')
  await source.backup(join(root, 'backup'))
  const files = await listing(join(root, 'backup'))
  // Opening it would recover the job started at the backup's point: a write into the backup.
  const refused = await failure(() => Wharf.open({ path: join(root, 'backup') }))
  expect(refused).toBeInstanceOf(StorageError)
  expect((refused as Error).message).toContain(JSON.stringify(join(root, 'backup')))
  expect((refused as Error).message).toContain('restoreBackup')
  expect(await listing(join(root, 'backup'))).toEqual(files)
  // backupStore only reads, and takes a backup as it takes a store.
  await backupStore(join(root, 'backup'), join(root, 'copy'))
  await restoreBackup(join(root, 'backup'), join(root, 'restored'))
  const restored = await open(join(root, 'restored'))
  expect((await restored.job(uuid))!.state).toBe('pending')
}

describe('backupStore: a store no process holds', () => {
  it('backs up a closed store without replaying it, and the restore holds its jobs', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await fillMixed(source)
    const before = await allJobs(source)
    await source.close()
    const result = await backupStore(join(root, 'source'), join(root, 'backup'))
    expect(result.seq).toBeGreaterThan(0)
    await restoreBackup(join(root, 'backup'), join(root, 'restored'))
    expect(await allJobs(await open(join(root, 'restored')))).toEqual(before)
  })

  it('refuses a path without a store (creating none) and a store in use', async () => {
    const root = await tempRoot()
    const missing = await failure(() => backupStore(join(root, 'nothing'), join(root, 'backup')))
    expect(missing).toBeInstanceOf(StorageError)
    expect((missing as Error).message).toContain(JSON.stringify(join(root, 'nothing')))
    await open(join(root, 'source'))
    expect(await failure(() => backupStore(join(root, 'source'), join(root, 'backup')))).toBeInstanceOf(StorageLockedError)
    expect(await listing(root)).toEqual(['source'])
  })

  // LevelDB's open rewrites a store's files (its write-ahead log becomes a table, a new MANIFEST):
  // opened as the source, a backup was changed by what is documented to only read it — and a
  // damaged one would have lost its evidence and been copied into a backup that looks whole.
  it('takes a backup as its source without changing a byte of it, checked against its manifest first', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await fillMixed(source)
    const before = await allJobs(source)
    await source.backup(join(root, 'backup'))
    await source.close()
    const was = await bytes(join(root, 'backup'))
    await backupStore(join(root, 'backup'), join(root, 'copy'))
    expect(await bytes(join(root, 'backup'))).toEqual(was)
    await restoreBackup(join(root, 'copy'), join(root, 'restored'))
    expect(await allJobs(await open(join(root, 'restored')))).toEqual(before)
    // Only the copy is left beside them: nothing temporary.
    expect(await listing(root)).toEqual(['backup', 'copy', 'restored', 'source'])
    // A damaged backup is refused as restore refuses it, and nothing is written.
    const manifest = JSON.parse(await readFile(join(root, 'backup', 'WHARF-BACKUP'), 'utf8')) as { keys: number }
    await writeFile(join(root, 'backup', 'WHARF-BACKUP'), JSON.stringify({ ...manifest, keys: manifest.keys + 1 }))
    expect(await failure(() => backupStore(join(root, 'backup'), join(root, 'copy2')))).toBeInstanceOf(InvalidBackupError)
    expect(await listing(root)).toEqual(['backup', 'copy', 'restored', 'source'])
  })

  // The check came after LevelDB's open, which rewrites the store's files (a new MANIFEST, a new
  // write-ahead log): the refusal the README places "before anything is written" changed the store.
  it('refuses a backup directory inside the store before opening it: not a byte of the store changes', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    await fillMixed(source)
    await source.close()
    const was = await bytes(join(root, 'source'))
    const error = await failure(() => backupStore(join(root, 'source'), join(root, 'source', 'backup')))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toBe(`backupStore(): the backup directory ${JSON.stringify(join(root, 'source', 'backup'))} is inside ${JSON.stringify(join(root, 'source'))}, which it copies; give a directory outside it`)
    expect(await bytes(join(root, 'source'))).toEqual(was)
  })

  it('refuses to copy a log with a hole in the middle, naming the first missing seq', async () => {
    const root = await tempRoot()
    const store = join(root, 'source')
    const log = new LevelLog(store)
    await log.open()
    for (let first = 1; first <= 9; first += 2) await log.append(makeBatch(first, 2))
    await log.close()
    // Opening checks only the log's end; the hole is for the copy's walk to find.
    const db = new ClassicLevel<string, Uint8Array>(store, { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.del(recordKey(5))
    await db.close()
    const error = await failure(() => backupStore(store, join(root, 'backup')))
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as LogCorruptionError).seq).toBe(5)
    expect((error as Error).message).toContain('events 5..6 are missing')
    expect(await listing(root)).toEqual(['source'])
  })
})

describe('restore refusals', () => {
  /** A finished backup with some jobs in it, in a fresh root. */
  async function backedUp(): Promise<{ root: string; backup: string }> {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    const bk = models(source)
    for (let i = 0; i < 50; i++) await bk.withDelay().ok(i)
    await source.start()
    await source.idle()
    await source.backup(join(root, 'backup'))
    await source.close()
    return { root, backup: join(root, 'backup') }
  }

  /** The backup refused with an InvalidBackupError naming it; nothing appeared beside it. */
  async function expectRefused(root: string, backup: string): Promise<void> {
    const before = await listing(root)
    const error = await failure(() => restoreBackup(backup, join(root, 'target')))
    expect(error).toBeInstanceOf(InvalidBackupError)
    expect((error as InvalidBackupError).path).toBe(backup)
    expect((error as Error).message).toContain(JSON.stringify(backup))
    expect(await listing(root)).toEqual(before)
  }

  it('refuses a target that holds files (leaving it as it was), and one inside the backup', async () => {
    const { root, backup } = await backedUp()
    await mkdir(join(root, 'target'))
    await writeFile(join(root, 'target', 'keep'), 'x')
    const error = await failure(() => restoreBackup(backup, join(root, 'target')))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toContain(JSON.stringify(join(root, 'target')))
    expect(await listing(join(root, 'target'))).toEqual(['keep'])
    const inside = await failure(() => restoreBackup(backup, join(backup, 'restored')))
    expect(inside).toBeInstanceOf(InvalidPropertyError)
    expect((inside as Error).message).toContain(JSON.stringify(join(backup, 'restored')))
    // Through a symbolic link to the backup, too.
    await symlink(backup, join(root, 'link'))
    expect(await failure(() => restoreBackup(backup, join(root, 'link', 'restored')))).toBeInstanceOf(InvalidPropertyError)
    expect(await listing(backup)).not.toContain('restored')
  })

  it('refuses a backup with a flipped byte in its LevelDB data, without changing the backup', async () => {
    const { root, backup } = await backedUp()
    const sizes = await Promise.all((await readdir(backup)).map(async (name) => ({ name, size: (await stat(join(backup, name))).size })))
    const data = sizes.filter((f) => /\.(log|ldb)$/.test(f.name)).sort((x, y) => y.size - x.size)[0]!
    const bytes = await readFile(join(backup, data.name))
    const middle = bytes.length >> 1
    bytes[middle] = bytes[middle]! ^ 0x40
    await writeFile(join(backup, data.name), bytes)
    await expectRefused(root, backup)
    expect(await readFile(join(backup, data.name))).toEqual(bytes)
  })

  it('refuses a backup whose end-of-log mark or manifest is damaged or missing', async () => {
    const { root, backup } = await backedUp()
    const mark = await readFile(join(backup, 'WHARF-END'))
    await writeFile(join(backup, 'WHARF-END'), Buffer.alloc(mark.length))
    await expectRefused(root, backup)
    await writeFile(join(backup, 'WHARF-END'), mark)
    const manifest = await readFile(join(backup, 'WHARF-BACKUP'), 'utf8')
    await writeFile(join(backup, 'WHARF-BACKUP'), manifest.replace(/"keys": \d+/, '"keys": 1'))
    await expectRefused(root, backup)
    await rm(join(backup, 'WHARF-BACKUP'))
    await expectRefused(root, backup)
  })

  it('refuses arguments that are not paths, naming them', async () => {
    const root = await tempRoot()
    const source = await open(join(root, 'source'))
    for (const bad of ['', 42, undefined]) {
      const errors = [await failure(() => source.backup(bad as string)), await failure(() => restoreBackup(bad as string, join(root, 't'))), await failure(() => restoreBackup(join(root, 'b'), bad as string))]
      for (const error of errors) expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((errors[0] as Error).message).toContain(`got ${bad === '' ? '""' : String(bad)}`)
    }
    expect(await listing(root)).toEqual(['source'])
  })

  it('refuses a store directory that is not a backup, and a missing one', async () => {
    const { root } = await backedUp()
    await expectRefused(root, join(root, 'source'))
    await expectRefused(root, join(root, 'nowhere'))
  })
})
