// Proves `wharf backup` and `wharf restore` as real processes: a round trip gives a store that
// verifies clean and holds the same jobs; a target that is not empty, a directory that is not a
// backup, a store that does not exist and a store another process holds are refused with exit 1,
// nothing written; a backup given to a command that would open it (and write into it) too.
import { cp, mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { Wharf, type JobView } from '../../src/index.js'
import { buildStore, tempDirs, wharf, wharfJson } from './cli-helpers.js'

const tempDir = tempDirs('wharf-cli-backup-')
let template: string

type Result = { path: string; seq: number; keys: number; bytes: number; storeId: string }
type Page = { jobs: JobView[] }

beforeAll(async () => {
  template = join(await tempDir(), 'store')
  await buildStore(template)
})

describe('wharf backup, then wharf restore', () => {
  it('round-trips the store: the restored one verifies clean and holds the same jobs', async () => {
    const dir = await tempDir()
    const store = join(dir, 'store')
    await cp(template, store, { recursive: true })
    const backup = await wharfJson<Result>(0, 'backup', '--path', store, '--to', join(dir, 'backup'))
    expect(backup).toMatchObject({ path: join(dir, 'backup'), seq: expect.any(Number), keys: expect.any(Number) })
    expect(backup.seq).toBeGreaterThan(0)

    const run = await wharf('restore', join(dir, 'backup'), '--path', join(dir, 'restored'))
    expect(run.code).toBe(0)
    expect(run.out.split('\n').slice(0, 2)).toEqual([`restored ${join(dir, 'backup')} as the store ${join(dir, 'restored')}`, `seq:      ${backup.seq}`])
    expect((await wharf('verify', '--path', join(dir, 'restored'))).code).toBe(0)

    const states = async (path: string) => (await wharfJson<Page>(0, 'jobs', '--path', path)).jobs.map((j) => [j.uuid, j.state, j.retry])
    expect(await states(join(dir, 'restored'))).toEqual(await states(store))
  })

  it('prints what it wrote for people', async () => {
    const dir = await tempDir()
    const run = await wharf('backup', '--path', template, '--to', join(dir, 'b'))
    expect(run.code).toBe(0)
    expect(run.out).toMatch(new RegExp(`^backed up ${template} to ${join(dir, 'b')}\\nseq: +\\d+\\nkeys: +\\d+\\nbytes: +\\d+\\nstore id: +[0-9a-f]{32}\\n$`))
  })
})

// The library refuses a backup directory inside the store it copies (or a restore target inside
// the backup) with an InvalidPropertyError: a bad value of an option, which every other command
// reports as bad usage. backup and restore turned it into a refusal, exit 1, without the usage line.
describe('a target inside what it copies is bad usage (exit 2), nothing written', () => {
  it('wharf backup --to a directory inside the store', async () => {
    const dir = await tempDir()
    await cp(template, join(dir, 'store'), { recursive: true })
    const run = await wharf('backup', '--path', join(dir, 'store'), '--to', join(dir, 'store', 'b'))
    expect([run.code, run.out]).toEqual([2, ''])
    expect(run.err).toMatch(/InvalidPropertyError: \w+\(\): the backup directory ".*" is inside/)
    expect(run.err).toContain('\nusage: wharf backup ')
    await expect(stat(join(dir, 'store', 'b'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('wharf restore --path a directory inside the backup', async () => {
    const dir = await tempDir()
    await wharfJson(0, 'backup', '--path', template, '--to', join(dir, 'backup'))
    const run = await wharf('restore', join(dir, 'backup'), '--path', join(dir, 'backup', 'r'))
    expect([run.code, run.out]).toEqual([2, ''])
    expect(run.err).toContain(`InvalidPropertyError: restoreBackup(): the target directory "${join(dir, 'backup', 'r')}" is inside`)
    expect(run.err).toContain('\nusage: wharf restore ')
    await expect(stat(join(dir, 'backup', 'r'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('refused, nothing written (exit 1)', () => {
  it('a backup into a directory that is not empty', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, 'full'))
    await writeFile(join(dir, 'full', 'keep.txt'), 'mine')
    const run = await wharf('backup', '--path', template, '--to', join(dir, 'full'))
    expect(run.code).toBe(1)
    expect(run.err).toContain('StorageError')
    expect(run.err).toContain('is not empty')
    expect(await readdir(join(dir, 'full'))).toEqual(['keep.txt'])
  })

  it('a backup of a store that does not exist', async () => {
    const dir = await tempDir()
    const run = await wharf('backup', '--path', join(dir, 'none'), '--to', join(dir, 'b'))
    expect([run.code, run.err]).toEqual([1, expect.stringContaining('it does not exist')])
    await expect(stat(join(dir, 'b'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('a backup of a store another process holds, pointing at wharf.backup()', async () => {
    const dir = await tempDir()
    await cp(template, join(dir, 'store'), { recursive: true })
    const app = await Wharf.open({ path: join(dir, 'store') })
    try {
      const run = await wharf('backup', '--path', join(dir, 'store'), '--to', join(dir, 'b'))
      expect(run.code).toBe(1)
      expect(run.err).toMatch(/StorageLockedError: .*wharf\.backup\(dir\)/)
    } finally {
      await app.close()
    }
  })

  it('a restore of a directory that is not a backup', async () => {
    const dir = await tempDir()
    const run = await wharf('restore', template, '--path', join(dir, 'r'))
    expect(run.code).toBe(1)
    expect(run.err).toContain('InvalidBackupError')
    await expect(stat(join(dir, 'r'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  // A backup holds the jobs running at its point as started: opening it as a store recovers them,
  // writing into it, and restore then refused it as "not a whole backup" — after what looked
  // like a read, `wharf jobs --path <backup>`.
  it('a command that would open a backup as a store; the backup still restores', async () => {
    const dir = await tempDir()
    await wharfJson(0, 'backup', '--path', template, '--to', join(dir, 'backup'))
    const run = await wharf('jobs', '--path', join(dir, 'backup'))
    expect(run.code).toBe(1)
    expect(run.err).toContain(`StorageError: "${join(dir, 'backup')}" is a backup`)
    expect(run.err).toContain('wharf restore')
    expect((await wharf('restore', join(dir, 'backup'), '--path', join(dir, 'restored'))).code).toBe(0)
  })
})
