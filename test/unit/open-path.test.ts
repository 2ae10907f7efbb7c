// Proves Wharf.open({ path }) refuses, with a StorageError naming the path and before writing
// anything, a regular file or a directory that is not a Wharf store; empty or new directories work.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FakeClock, StorageError, Wharf } from '../../src/index.js'
import { failure } from './helpers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-open-path-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

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
