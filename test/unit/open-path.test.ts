// Proves Wharf.open({ path }) refuses, with a StorageError naming the path and before writing
// anything, a regular file or a directory that is not a Wharf store, and a store whose directory
// cannot be written (read-only); empty or new directories work.
import * as fs from 'node:fs/promises'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeClock, StorageError, Wharf } from '../../src/index.js'
import { failure } from './helpers.js'

// A read-only directory refuses every write, root's included; root ignores modes and a read-only
// mount needs privileges, so the file system's answer is played here: mkdir under `readOnly`.
let readOnly: string | null = null
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fs>()
  const mkdir = (async (path, options) => {
    if (readOnly !== null && String(path).startsWith(readOnly + '/')) throw Object.assign(new Error(`EROFS: read-only file system, mkdir '${String(path)}'`), { code: 'EROFS' })
    return real.mkdir(path, options)
  }) as typeof real.mkdir
  return { ...real, default: { ...real, mkdir }, mkdir }
})

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-open-path-'))
})
afterEach(() => {
  readOnly = null
  rmSync(dir, { recursive: true, force: true })
})

async function refusal(path: string): Promise<StorageError> {
  const error = await failure(() => Wharf.open({ path, clock: new FakeClock() }))
  expect(error).toBeInstanceOf(StorageError)
  expect((error as StorageError).code).toBe('STORAGE')
  expect((error as Error).message).toContain(JSON.stringify(path))
  return error as StorageError
}

describe('Wharf.open({ path }) refuses what is not a Wharf store', () => {
  it('a regular file, and leaves it as it was', async () => {
    const path = join(dir, 'notes.txt')
    writeFileSync(path, 'hello')
    await refusal(path)
    expect(readFileSync(path, 'utf8')).toBe('hello')
  })

  it('a path under a regular file', async () => {
    writeFileSync(join(dir, 'file'), 'x')
    await refusal(join(dir, 'file', 'jobs'))
  })

  it('a directory holding other files, and writes nothing into it', async () => {
    const path = join(dir, 'photos')
    mkdirSync(path)
    writeFileSync(join(path, 'cat.jpg'), 'meow')
    await refusal(path)
    expect(readdirSync(path)).toEqual(['cat.jpg'])
  })

  it("another application's LevelDB store", async () => {
    const path = join(dir, 'other')
    const db = new ClassicLevel<string, string>(path)
    await db.put('user:1', 'ada')
    await db.close()
    await refusal(path)
  })

  // The open's first write, linking the files aside (evidence.ts), failed with the file system's
  // raw error (EROFS, EACCES): not a StorageError, in either mode.
  it('a store whose directory cannot be written, naming the system code, in either mode', async () => {
    const path = join(dir, 'jobs')
    const wharf = await Wharf.open({ path, clock: new FakeClock() })
    await wharf.close()
    const before = readdirSync(path).sort()
    readOnly = path
    for (const onCorruption of ['throw', 'truncate'] as const) {
      const error = await failure(() => Wharf.open({ path, clock: new FakeClock(), onCorruption }))
      expect(error).toBeInstanceOf(StorageError)
      expect((error as Error).message).toContain(`cannot open the Wharf store at ${JSON.stringify(path)}: its directory cannot be written (EROFS)`)
    }
    expect(readdirSync(path).sort()).toEqual(before)
  })
})

describe('Wharf.open({ path }) creates a store', () => {
  it.each([
    ['in a new directory', (d: string) => join(d, 'new', 'jobs')],
    ['in an empty directory', (d: string) => (mkdirSync(join(d, 'empty')), join(d, 'empty'))],
  ])('%s, and opens it again', async (_what, makePath) => {
    const path = makePath(dir)
    const first = await Wharf.open({ path, clock: new FakeClock() })
    const model = first.model('test.job', { run: () => 'ok' })
    const job = await model.withDelay().run()
    await first.close()
    const second = await Wharf.open({ path, clock: new FakeClock() })
    expect((await second.job(job.uuid))?.state).toBe('pending')
    await second.close()
  })
})
