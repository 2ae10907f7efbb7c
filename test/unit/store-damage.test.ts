// Proves the pieces of a safe open one by one, each on a small store damaged by hand: a rebuild
// interrupted between its two renames is finished (never an empty store in its place), a key
// outside Wharf's ranges is named and 'truncate' deletes it, and 'truncate' drops a damaged
// history view naming the job, after which the next open is clean; a second open refused by the
// lock leaves the links of the open holding the store alone; a table cut short is damage
// like any other, though LevelDB reports it as an IO error; an open LevelDB refuses is named by
// what LevelDB said (a table gone, the lock file a directory), not by classic-level's wrapper; a
// job whose finishing events 'truncate' dropped is live again and out of history, in one state.
import { cp, mkdir, readdir, rename, rm, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { describe, expect, it } from 'vitest'
import { FakeClock, LevelLog, LogCorruptionError, StorageError, StorageLockedError, Wharf, type JobView } from '../../src/index.js'
import { levelChild } from '../../src/storage/level-child.js'
import { VIEW_PREFIX } from '../../src/storage/level-history.js'
import { recordKey } from '../../src/storage/level-recovery.js'
import { makeBatch, readAll } from './event-log-contract.js'
import { failure, tempLevelLogs } from './helpers.js'

const temp = tempLevelLogs('wharf-store-damage-')

async function tamper(path: string, change: (db: ClassicLevel<string, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  await change(db)
  await db.close()
}

/** Run `body` with every process warning collected into the array it is given. */
async function withProcessWarnings(body: (warnings: string[]) => Promise<void>): Promise<void> {
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(w.message)
  process.on('warning', onWarning)
  try {
    await body(warnings)
  } finally {
    process.off('warning', onWarning)
  }
}

async function givenSixEvents(): Promise<string> {
  const path = await temp.path()
  const log = temp.at(path)
  await log.open()
  for (const first of [1, 3, 5]) await log.append(makeBatch(first, 2))
  await log.close()
  return path
}

/** A closed store of 20 waiting jobs whose writes LevelDB has moved into a table; its file name. */
async function givenATable(): Promise<{ path: string; clock: FakeClock; table: string }> {
  const path = await temp.path()
  const clock = new FakeClock()
  const wharf = await Wharf.open({ path, clock })
  const model = wharf.model('m', { async f(n: number) { return n } })
  for (let n = 0; n < 20; n++) await model.withDelay({ eta: 3_600 }).f(n)
  await wharf.close()
  await tamper(path, async () => {}) // LevelDB's open moves the write-ahead log into a table
  return { path, clock, table: (await readdir(path)).find((name) => name.endsWith('.ldb'))! }
}

/** A closed store of two jobs run to done, enqueued in that order (records 1 and 2). */
async function givenTwoDone(): Promise<{ path: string; clock: FakeClock; jobs: [JobView, JobView] }> {
  const path = await temp.path()
  const clock = new FakeClock()
  const wharf = await Wharf.open({ path, clock })
  const model = wharf.model('m', { async f(n: number) { return n } })
  const jobs: [JobView, JobView] = [await model.withDelay().f(1), await model.withDelay().f(2)]
  await wharf.start()
  await wharf.drain()
  await wharf.close()
  return { path, clock, jobs }
}

describe('a safe open', () => {
  it('links the files aside while an open runs and removes them once it is clean (first append or close)', async () => {
    const path = await givenSixEvents()
    const log = temp.at(path)
    await log.open()
    expect((await readdir(path)).some((n) => n.startsWith('wharf-before-open-'))).toBe(true)
    await readAll(log)
    await log.append(makeBatch(7, 1))
    expect((await readdir(path)).filter((n) => n.startsWith('wharf-'))).toEqual([])
    await log.close()
    const again = temp.at(path)
    await again.open()
    await again.close()
    expect((await readdir(path)).filter((n) => n.startsWith('wharf-'))).toEqual([])
  })

  it("keeps an open's files aside from a second open of the store, which the lock refuses", async () => {
    const path = await givenSixEvents()
    await mkdir(join(path, 'wharf-before-open-1-1')) // the links of an open whose process died
    const first = new LevelLog(path, { scrubHistory: true })
    await first.open() // its links are aside until the log has been read
    expect((await readdir(path)).filter((n) => n.startsWith('wharf-'))).toEqual([expect.stringMatching(/^wharf-before-open-\d+-\d+$/)])
    await expect(Wharf.open({ path })).rejects.toBeInstanceOf(StorageLockedError)
    await readAll(first)
    await expect(first.scrubHistory()!.done).resolves.toMatchObject({ checked: true, problems: [] })
    await first.append(makeBatch(7, 1))
    await first.close()
    expect((await readdir(path)).filter((n) => n.startsWith('wharf-'))).toEqual([])
  })

  it('finishes a rebuild interrupted between its renames instead of creating an empty store', async () => {
    const path = await givenSixEvents()
    // The state a crash leaves: the rebuilt store complete beside the kept one, no store at path.
    await cp(path, `${path}.rebuilding-T1`, { recursive: true })
    await rename(path, `${path}.damaged-T1`)
    const log = temp.at(path)
    await log.open()
    expect((await readAll(log)).flat().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
    const siblings = await readdir(join(path, '..'))
    expect(siblings).toContain('jobs.damaged-T1')
    expect(siblings).not.toContain('jobs.rebuilding-T1')
  })

  it("names a key outside every Wharf range; 'truncate' deletes it with a warning", async () => {
    const path = await givenSixEvents()
    await tamper(path, (db) => db.put('h\x00J\x00garbled', new Uint8Array([1])))
    const error = await failure(() => temp.at(path).open())
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as Error).message).toContain('LevelDB holds key "h\\u0000J\\u0000garbled", outside every range Wharf writes')
    const warnings: string[] = []
    const log = temp.at(path, { onCorruption: 'truncate', onWarning: (m) => warnings.push(m) })
    await log.open()
    expect(warnings.some((w) => /deleted 1 such key/.test(w))).toBe(true)
    await log.close()
    const again = temp.at(path, { onWarning: (m) => warnings.push(`again: ${m}`) })
    await again.open()
    expect(warnings.filter((w) => w.startsWith('again'))).toEqual([])
  })

  it("'truncate' goes on without a snapshot lost over the compaction floor: live jobs lost and named, history kept, the next open clean", async () => {
    const path = await temp.path()
    const clock = new FakeClock()
    const first = await Wharf.open({ path, clock })
    const model = first.model('m', { async f(n: number) { return n } })
    const finished = await model.withDelay().f(1)
    await first.start()
    await first.drain()
    await first.stop()
    const live = await model.withDelay({ eta: 3_600 }).f(2)
    await first.snapshot() // compacts the records it covers: from here the snapshot alone holds `live`
    const after = await model.withDelay({ eta: 3_600 }).f(3)
    await first.close()
    await tamper(path, (db) => db.del('s'))
    await expect(Wharf.open({ path, clock })).rejects.toThrow(LogCorruptionError)
    await withProcessWarnings(async (warnings) => {
      const lenient = await Wharf.open({ path, clock, onCorruption: 'truncate' })
      expect(await lenient.job(live.uuid)).toBeUndefined()
      expect(await lenient.job(after.uuid)).toBeUndefined()
      expect((await lenient.job(finished.uuid))?.state).toBe('done')
      const model2 = lenient.model('m', { async f(n: number) { return n } })
      const fresh = await model2.withDelay().f(4)
      await lenient.start()
      await lenient.drain()
      await lenient.close()
      await new Promise((resolve) => setImmediate(resolve))
      const recovery = warnings.find((w) => w.includes('every job that was live at that snapshot is lost'))
      expect(recovery).toContain(after.uuid) // named by the record dropped after the snapshot
      warnings.length = 0
      const next = await Wharf.open({ path, clock })
      expect((await next.job(fresh.uuid))?.state).toBe('done')
      expect((await next.job(finished.uuid))?.state).toBe('done')
      await next.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toEqual([])
    })
  })

  it("'truncate' drops a damaged history view and names its job; the next open is clean", async () => {
    const { path, clock, jobs: [kept, lost] } = await givenTwoDone()
    await tamper(path, async (db) => {
      const key = VIEW_PREFIX + lost.uuid
      const bytes = Buffer.from((await db.get(key))!)
      bytes[bytes.length - 3]! ^= 0x01 // a digit of a time: valid JSON, caught by the checksum
      await db.put(key, bytes)
    })
    const strict = await Wharf.open({ path, clock })
    await expect(strict.jobs()).rejects.toThrow(`the history entry of job ${lost.uuid} is damaged (checksum mismatch)`)
    await strict.close()
    await withProcessWarnings(async (warnings) => {
      const lenient = await Wharf.open({ path, clock, onCorruption: 'truncate' })
      expect((await lenient.jobs()).map((j) => j.uuid)).toEqual([kept.uuid])
      // Recounted from the index: the lost job no longer counts as done.
      expect(lenient.stats().states.done).toBe(1)
      await lenient.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.some((w) => w.includes(`lost from history (${lost.uuid})`))).toBe(true)
      warnings.length = 0
      const next = await Wharf.open({ path, clock })
      expect((await next.jobs()).map((j) => j.uuid)).toEqual([kept.uuid])
      await next.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toEqual([])
    })
  })

  // History is written in the batch of the event that finishes a job. 'truncate' dropped the
  // events from a corrupt record on, but not the history they wrote: a job pending in memory and
  // done in history, listed by both state filters and counted twice by stats(), on every open.
  it("'truncate' that drops the record finishing a job leaves it in one state: live again, out of history, named", async () => {
    const { path, clock, jobs: [again, kept] } = await givenTwoDone() // enqueued in records 1 and 2
    await tamper(path, async (db) => {
      const value = Buffer.from((await db.get(recordKey(2)))!)
      value[value.length - 2]! ^= 0x20
      await db.put(recordKey(2), value)
    })
    const states = async (w: Wharf): Promise<unknown> => ({
      jobs: Object.fromEntries((await w.jobs()).map((j) => [j.uuid, j.state])),
      done: (await w.jobs({ state: 'done' })).map((j) => j.uuid),
      stats: w.stats().states,
    })
    const expected = { jobs: { [again.uuid]: 'pending', [kept.uuid]: 'done' }, done: [kept.uuid], stats: expect.objectContaining({ pending: 1, done: 1 }) }
    await withProcessWarnings(async (warnings) => {
      const lenient = await Wharf.open({ path, clock, onCorruption: 'truncate' })
      expect(await states(lenient)).toEqual(expected)
      await lenient.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.some((w) => w.includes(`live again, left history (${again.uuid})`))).toBe(true)
      warnings.length = 0
      const next = await Wharf.open({ path, clock })
      expect(await states(next)).toEqual(expected)
      await next.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).toEqual([])
    })
  })

  // classic-level fails an open as "Database failed to open", with LevelDB's own words — which
  // file, what is wrong with it — only in the error's cause: the open's error said "LevelDB
  // reports Database failed to open", and 'truncate''s warning "LevelDB failed (exit 1: Database
  // failed to open)", naming nothing.
  it("names what LevelDB found when it cannot open a store, in the error and in 'truncate''s warning", async () => {
    const { path, clock, table } = await givenATable()
    await rm(join(path, table))

    const error = await failure(() => Wharf.open({ path, clock }))
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as Error).message).toContain(`missing files; e.g.: ${join(path, table)}`)
    await withProcessWarnings(async (warnings) => {
      const lenient = await Wharf.open({ path, clock, onCorruption: 'truncate' })
      await lenient.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.some((w) => w.includes(`rebuilt by 'truncate'`) && w.includes(`missing files; e.g.: ${join(path, table)}`))).toBe(true)
    })

    // Not damage, LevelDB's IO error: a StorageError, naming the file as well.
    await rm(join(path, 'LOCK'), { force: true })
    await mkdir(join(path, 'LOCK'))
    const io = await failure(() => Wharf.open({ path, clock }))
    expect(io).toBeInstanceOf(StorageError)
    expect((io as Error).message).toContain(`${join(path, 'LOCK')}: Is a directory`)
  })

  // A table LevelDB may not read (EACCES for another user's file, EIO, a directory in its place
  // here: mmap fails with ENODEV) is LevelDB's IO error on the open's first read, not its
  // corruption error: it escaped raw, a LEVEL_IO_ERROR.
  it('names a table LevelDB cannot read as a StorageError, not a raw LevelDB error', async () => {
    const { path, clock, table } = await givenATable()
    await rm(join(path, table))
    await mkdir(join(path, table))
    const error = await failure(() => Wharf.open({ path, clock }))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toContain(`the Wharf store ${JSON.stringify(path)} failed: LevelDB reports IO error: ${join(path, table)}`)
  })

  // LevelDB 1.20 reads tables through mmap: a read past the end of a table shorter than its
  // MANIFEST says is "IO error: …ldb: Invalid argument", not its corruption error. It escaped raw
  // (the CLI crashed with a stack), the files from before the open went to a scrub directory the
  // next open deletes, and verify said only "LevelDB failed (exit 1: Node.js v20…)".
  it('names a table cut short as damage: open fails keeping the files, the scan names it, truncate rebuilds', async () => {
    const { path, clock, table } = await givenATable()
    await truncate(join(path, table), Math.floor((await stat(join(path, table))).size / 2))

    const error = await failure(() => Wharf.open({ path, clock }))
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as Error).message).toContain(`${table}: Invalid argument`)
    expect((error as Error).message).toContain('are kept in')
    expect((await readdir(path)).filter((n) => n.startsWith('wharf-scrub-'))).toEqual([])

    const scan = await levelChild('scan', path)
    expect(scan).toMatchObject({ ok: false, message: expect.stringContaining(`${table}: Invalid argument`) })

    await withProcessWarnings(async (warnings) => {
      const lenient = await Wharf.open({ path, clock, onCorruption: 'truncate' })
      await lenient.close()
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.some((w) => w.includes(`rebuilt by 'truncate'`) && w.includes(`${table}: Invalid argument`))).toBe(true)
    })
  })
})
