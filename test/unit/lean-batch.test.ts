// Proves the lean batch (classic-level's implementation interface, below abstract-level's checks)
// writes what the public batch would: puts and deletes, atomically, read back through the public
// API; and that it refuses a closed database instead of handing it to native code.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { LeanBatch } from '../../src/storage/lean-batch.js'
import type { Db } from '../../src/storage/level-recovery.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function openDb(): Promise<Db> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-lean-batch-'))
  dirs.push(dir)
  const db: Db = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  return db
}

describe('LeanBatch', () => {
  it('writes puts and deletes that the public API reads back, keys with separators included', async () => {
    const db = await openDb()
    await db.put('gone', Buffer.from('x'))
    const batch = new LeanBatch(db)
    batch.put('h\x00v\x00a', Buffer.from('view a'))
    batch.put('h\x00i\x00\x01\x01b', new Uint8Array(0))
    batch.put('é', Uint8Array.of(0, 255, 7))
    batch.del('gone')
    expect(batch.length).toBe(4)
    await batch.write({ sync: true })
    const entries = await db.iterator().all()
    expect(entries.map(([k, v]) => [k, Buffer.from(v).toString('hex')])).toEqual([
      ['h\x00i\x00\x01\x01b', ''],
      ['h\x00v\x00a', Buffer.from('view a').toString('hex')],
      ['é', '00ff07'],
    ])
    await db.close()
  })

  it('refuses to write into a closed database, and writes nothing', async () => {
    const db = await openDb()
    const batch = new LeanBatch(db)
    batch.put('k', Buffer.from('v'))
    await db.close()
    await expect(batch.write({ sync: false })).rejects.toThrow('cannot write a batch: the database is closed')
    await db.open()
    expect(await db.keys().all()).toEqual([])
    await db.close()
  })
})
