// Proves the end-of-log mark (WHARF-END) makes a silently shortened log an error: on real files,
// records deleted through a raw LevelDB handle and the newest WAL file truncated at several points
// both fail the open naming the missing seqs; 'truncate' accepts the loss with a warning; identity,
// pre-mark stores, a lost mark file, and the write order in 'fsync' mode.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LogCorruptionError, StorageError } from '../../src/engine/errors.js'
import { Wharf } from '../../src/index.js'
import { decodeMarkFile, decodeSlot, encodeSlot, MARK_FILE, MarkFile, newStoreId } from '../../src/storage/end-mark-file.js'
import { STORE_ID_KEY } from '../../src/storage/end-mark.js'
import { LevelLog, recordKey, type LevelLogOptions } from '../../src/storage/level-log.js'
import { makeBatch, readAll } from './event-log-contract.js'
import { failure, tempLevelLogs } from './helpers.js'

const temp = tempLevelLogs('wharf-end-mark-')
const newPath = (): Promise<string> => temp.path()
const logAt = (path: string, options?: LevelLogOptions): LevelLog => temp.at(path, options)

/** A closed store holding batches of `size` events, seqs 1..batches*size, written in one session. */
async function givenStore(batches: number, size: number, options?: LevelLogOptions): Promise<string> {
  const path = await newPath()
  const log = logAt(path, options)
  await log.open()
  for (let b = 0; b < batches; b++) await log.append(makeBatch(1 + b * size, size))
  await log.close()
  return path
}

/** Change LevelDB directly: the loss LevelDB's own recovery causes, made deterministic. */
async function tamper(path: string, change: (db: ClassicLevel<string, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  await change(db)
  await db.close()
}

async function markSeq(path: string): Promise<number | undefined> {
  return decodeMarkFile(await readFile(join(path, MARK_FILE)))?.seq
}

async function lastSeqOf(log: LevelLog): Promise<number> {
  return (await readAll(log)).flat().at(-1)?.seq ?? 0
}

describe('the end-of-log mark', () => {
  it('is written at the end of the log when the store closes', async () => {
    const path = await givenStore(4, 3)
    expect(await markSeq(path)).toBe(12)
  })

  it('fails the open naming the missing seqs when the newest records are gone from LevelDB', async () => {
    const path = await givenStore(4, 3) // records at seqs 1, 4, 7, 10
    await tamper(path, async (db) => {
      await db.del(recordKey(10))
      await db.del(recordKey(7))
    })
    const error = await failure(() => logAt(path).open())
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as LogCorruptionError).seq).toBe(7)
    expect((error as Error).message).toContain('the log ends at seq 6 but seq 12 was acknowledged')
    expect((error as Error).message).toContain('events 7..12 are missing')
    expect((error as Error).message).toContain(join(path, MARK_FILE))
    // A failed open changes nothing: it fails the same way again.
    await expect(logAt(path).open()).rejects.toThrow('events 7..12 are missing')
  })

  it("'truncate' accepts the loss with a warning that counts it, and the next open is clean", async () => {
    const path = await givenStore(4, 3)
    await tamper(path, (db) => db.del(recordKey(10)))
    const warnings: string[] = []
    const log = logAt(path, { onCorruption: 'truncate', onWarning: (m) => warnings.push(m) })
    await log.open()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('events 10..12 are missing')
    expect(warnings[0]).toContain('3 acknowledged event(s) lost')
    expect(await markSeq(path)).toBe(9)
    expect(await lastSeqOf(log)).toBe(9)
    await log.append(makeBatch(10, 2))
    await log.close()

    const again = logAt(path)
    await again.open()
    expect(await lastSeqOf(again)).toBe(11)
  })

  it('keeps the mark as it was in the files a failed open keeps, whatever later opens write to the mark', async () => {
    const path = await givenStore(4, 3)
    await tamper(path, (db) => db.del(recordKey(10)))
    const error = await failure(() => logAt(path).open())
    const kept = /kept in "([^"]+)"/.exec((error as Error).message)?.[1]
    expect(kept).toBeDefined()
    expect(await markSeq(kept!)).toBe(12)
    const recovered = logAt(path, { onCorruption: 'truncate', onWarning: () => {} })
    await recovered.open()
    await recovered.append(makeBatch(10, 5))
    await recovered.close()
    expect(await markSeq(path)).toBe(14)
    expect(await markSeq(kept!)).toBe(12) // the evidence: seq 12 was acknowledged
  })

  it('goes through process.emitWarning by default', async () => {
    const path = await givenStore(2, 2)
    await tamper(path, (db) => db.del(recordKey(3)))
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    await logAt(path, { onCorruption: 'truncate' }).open()
    expect(emit).toHaveBeenCalledWith(expect.stringContaining('2 acknowledged event(s) lost'), expect.objectContaining({ code: 'WHARF_LOG_RECOVERED' }))
  })

  // LevelDB drops a damaged WAL tail on recovery and opens without an error; the mark notices.
  for (const fraction of [0.25, 0.5, 0.8, 0.97]) {
    it(`fails the open naming the missing seqs when the newest WAL file is cut at ${fraction} of its length`, async () => {
      const path = await givenStore(40, 5)
      const wal = (await readdir(path)).filter((f) => f.endsWith('.log') && f !== 'LOG').sort().at(-1)!
      const size = (await stat(join(path, wal))).size
      await truncate(join(path, wal), Math.floor(size * fraction))

      const error = await failure(() => logAt(path).open())
      expect(error).toBeInstanceOf(LogCorruptionError)
      const match = /the log ends at seq (\d+) but seq 200 was acknowledged .*: events (\d+)\.\.200 are missing/.exec((error as Error).message)
      expect(match).not.toBeNull()
      const end = Number(match![1])
      expect(Number(match![2])).toBe(end + 1)
      expect((error as LogCorruptionError).seq).toBe(end + 1)

      // The seqs named are exactly what is gone: the accepted log ends where the error said.
      const warnings: string[] = []
      const recovered = logAt(path, { onCorruption: 'truncate', onWarning: (m) => warnings.push(m) })
      await recovered.open()
      expect(await lastSeqOf(recovered)).toBe(end)
      expect(warnings.join('\n')).toContain(`${200 - end} acknowledged event(s) lost`)
      await recovered.close()
      await logAt(path).open()
    })
  }

  it("keeps the mark consistent when 'truncate' drops a corrupt last record on the first read", async () => {
    const path = await givenStore(3, 2)
    await tamper(path, async (db) => {
      const value = Buffer.from((await db.get(recordKey(5)))!)
      value[value.length - 2]! ^= 0x20
      await db.put(recordKey(5), value)
    })
    const warnings: string[] = []
    const log = logAt(path, { onCorruption: 'truncate', onWarning: (m) => warnings.push(m) })
    await log.open()
    expect(warnings).toEqual([]) // the end is not known until the corrupt record is read
    expect(await lastSeqOf(log)).toBe(4)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('2 acknowledged event(s) lost (the end-of-log mark said seq 6, now 4)')
    expect(await markSeq(path)).toBe(4)
    await log.close()
    const again = logAt(path)
    await again.open()
    expect(await lastSeqOf(again)).toBe(4)
  })

  it('stays consistent across a snapshot and a compaction of the whole log', async () => {
    const path = await givenStore(3, 2)
    const log = logAt(path)
    await log.open()
    await log.writeSnapshot({ seq: 6, formatVersion: 1, state: { n: 6 } })
    await log.compact(6)
    await log.close()
    const again = logAt(path)
    await again.open() // the log ends at its floor, 6, as the mark says
    await again.append(makeBatch(7, 2))
    await again.close()
    expect(await markSeq(path)).toBe(8)
  })
})

describe("the mark file's identity and presence", () => {
  it('refuses a mark file from another store, even with truncate', async () => {
    const path = await givenStore(2, 2)
    const other = await givenStore(5, 2)
    await copyFile(join(other, MARK_FILE), join(path, MARK_FILE))
    await expect(logAt(path).open()).rejects.toSatisfy((e: unknown) => e instanceof StorageError && /belongs to another store/.test((e as Error).message))
    await expect(logAt(path, { onCorruption: 'truncate' }).open()).rejects.toThrow(/belongs to another store/)
  })

  it('gives a store written before the mark existed one on its first open, without an error', async () => {
    const path = await givenStore(3, 2)
    // What the previous version left: no identity in LevelDB, no mark file.
    await tamper(path, (db) => db.del(STORE_ID_KEY))
    await rm(join(path, MARK_FILE))
    const warnings: string[] = []
    const log = logAt(path, { onWarning: (m) => warnings.push(m) })
    await log.open()
    expect(warnings).toEqual([])
    expect(await markSeq(path)).toBe(6)
    await log.close()
    // From now on it is protected like a new store.
    await tamper(path, (db) => db.del(recordKey(5)))
    await expect(logAt(path).open()).rejects.toThrow('events 5..6 are missing')
  })

  it('reports a LevelDB emptied under its mark (as a deleted CURRENT makes a fresh one)', async () => {
    const path = await givenStore(3, 2)
    await tamper(path, (db) => db.clear())
    await expect(logAt(path).open()).rejects.toThrow('the log ends at seq 0 but seq 6 was acknowledged')
    await expect(logAt(path).open()).rejects.toThrow('events 1..6 are missing') // nothing was adopted
  })

  it('adopts the mark of a creation that stopped before its id reached LevelDB', async () => {
    const path = await givenStore(3, 2)
    const before = await readFile(join(path, MARK_FILE))
    await tamper(path, (db) => db.del(STORE_ID_KEY))
    const log = logAt(path)
    await log.open()
    await log.close()
    expect(decodeMarkFile(await readFile(join(path, MARK_FILE)))?.storeId).toBe(decodeMarkFile(before)?.storeId)
    await tamper(path, async (db) => expect(Buffer.from((await db.get(STORE_ID_KEY))!).toString()).toBe(decodeMarkFile(before)?.storeId))
  })

  it("reports a missing mark file of a store that had one; 'truncate' writes a new one", async () => {
    const path = await givenStore(3, 2)
    await rm(join(path, MARK_FILE))
    await expect(logAt(path).open()).rejects.toSatisfy((e: unknown) => e instanceof LogCorruptionError && /WHARF-END" is missing/.test((e as Error).message))
    const warnings: string[] = []
    const log = logAt(path, { onCorruption: 'truncate', onWarning: (m) => warnings.push(m) })
    await log.open()
    expect(warnings.join('\n')).toContain('wrote a new one at the log\'s end, seq 6')
    await log.close()
    await logAt(path).open()
  })

  it('reports a mark file with no valid slot', async () => {
    const path = await givenStore(2, 2)
    await writeFile(join(path, MARK_FILE), Buffer.alloc(128, 7))
    await expect(logAt(path).open()).rejects.toThrow(/is unreadable/)
  })

  // A mark the file system will not read (a directory in its place here; EIO from a bad sector,
  // EACCES) failed the open with Node's raw error, in either mode.
  it('refuses a mark file that cannot be opened with a StorageError naming it and the system code, in either mode', async () => {
    const path = await givenStore(2, 2)
    await rm(join(path, MARK_FILE))
    await mkdir(join(path, MARK_FILE))
    for (const onCorruption of ['throw', 'truncate'] as const) {
      const error = await failure(() => logAt(path, { onCorruption, onWarning: () => {} }).open())
      expect(error).toBeInstanceOf(StorageError)
      expect((error as Error).message).toContain(`the end-of-log mark ${JSON.stringify(join(path, MARK_FILE))} cannot be opened (EISDIR)`)
    }
  })

  it('believes the older slot when the newer one is torn: a lower bound', async () => {
    const storeId = newStoreId()
    const older = encodeSlot({ storeId, generation: 4, seq: 40 })
    const newer = encodeSlot({ storeId, generation: 5, seq: 50 })
    expect(decodeMarkFile(Buffer.concat([older, newer]))?.seq).toBe(50)
    expect(decodeMarkFile(Buffer.concat([newer, older]))?.seq).toBe(50)
    newer[44]! ^= 1
    expect(decodeSlot(newer)).toBeNull()
    expect(decodeMarkFile(Buffer.concat([older, newer]))?.seq).toBe(40)
    expect(decodeMarkFile(Buffer.concat([older, newer]).subarray(0, 100))).toBeNull()
  })
})

describe('when the mark is written', () => {
  /** Records the order of LevelDB writes, mark writes and append results. */
  function traceWrites(): string[] {
    const trace: string[] = []
    const put = ClassicLevel.prototype.put
    vi.spyOn(ClassicLevel.prototype, 'put').mockImplementation(async function (this: ClassicLevel<string, Uint8Array>, key: string, ...rest: unknown[]) {
      await (put as (...args: unknown[]) => Promise<void>).call(this, key, ...rest)
      if (key.startsWith('e')) trace.push(`put ${Number(key.slice(1))}`)
    } as typeof put)
    const write = MarkFile.prototype.write
    vi.spyOn(MarkFile.prototype, 'write').mockImplementation(async function (this: MarkFile, mark, sync) {
      trace.push(`mark ${mark.seq} start`)
      await write.call(this, mark, sync)
      trace.push(`mark ${mark.seq} ${sync ? 'synced' : 'written'}`)
    })
    return trace
  }

  it("'fsync': the mark is synced after the batch is durable and before append resolves", async () => {
    const path = await newPath()
    const log = logAt(path, { durability: 'fsync' })
    await log.open()
    const trace = traceWrites()
    await log.append(makeBatch(1, 3))
    trace.push('append 3 resolved')
    // Read back by someone else, before close: the file already says so.
    expect(await markSeq(path)).toBe(3)
    await log.append(makeBatch(4, 2))
    trace.push('append 5 resolved')
    expect(trace).toEqual(['put 1', 'mark 3 start', 'mark 3 synced', 'append 3 resolved', 'put 4', 'mark 5 start', 'mark 5 synced', 'append 5 resolved'])
  })

  it("'fsync': appendDurable resolves once the batch is durable, its acknowledgement once the mark is synced", async () => {
    const path = await newPath()
    const log = logAt(path, { durability: 'fsync' })
    await log.open()
    const trace = traceWrites()
    const first = await log.appendDurable(makeBatch(1, 3))
    trace.push('durable 3')
    // The next batch may be written before the first one's mark is synced.
    const second = await log.appendDurable(makeBatch(4, 2))
    trace.push('durable 5')
    await first!.acknowledged
    trace.push('acknowledged 3')
    await second!.acknowledged
    trace.push('acknowledged 5')
    const at = (step: string): number => trace.indexOf(step)
    expect(at('put 1')).toBeLessThan(at('durable 3'))
    expect(at('put 4')).toBeLessThan(at('durable 5'))
    expect(at('mark 3 synced')).toBeLessThan(at('acknowledged 3'))
    expect(at('mark 5 synced')).toBeLessThan(at('acknowledged 5'))
    expect(trace.filter((s) => s.startsWith('mark') && !s.endsWith('start')).every((s) => s.endsWith('synced'))).toBe(true)
    expect(await markSeq(path)).toBe(5)
    await log.close()
  })

  it("'fsync': a batch no call waits for gets no synced mark of its own; the next one a call waits for is marked with it, and without one the mark catches up, synced", async () => {
    const path = await newPath()
    const log = logAt(path, { durability: 'fsync' })
    await log.open()
    const trace = traceWrites()
    expect(await log.appendDurable(makeBatch(1, 3), undefined, undefined, false)).toBeNull()
    expect(await log.appendDurable(makeBatch(4, 2), undefined, undefined, false)).toBeNull()
    expect(trace).toEqual(['put 1', 'put 4'])
    const answered = await log.appendDurable(makeBatch(6, 1), undefined, undefined, true)
    await answered!.acknowledged
    // One synced mark write, naming the newest batch: it covers the two before it.
    expect(trace.filter((s) => s.startsWith('mark'))).toEqual(['mark 6 start', 'mark 6 synced'])
    expect(await markSeq(path)).toBe(6)
    expect(await log.appendDurable(makeBatch(7, 2), undefined, undefined, false)).toBeNull()
    await vi.waitFor(() => expect(trace).toContain('mark 8 synced'), { timeout: 5_000, interval: 20 })
    expect(await markSeq(path)).toBe(8)
    await log.close()
  })

  it("'fsync' through Wharf: a caller is answered only once the mark claims its job", async () => {
    const path = await newPath()
    const wharf = await Wharf.open({ path, durability: 'fsync', channels: 'root:4' })
    const seqOf = new Map<string, number>()
    wharf.on('transition', (event) => {
      if (event.type === 'job.created') seqOf.set(event.job.uuid, event.seq)
    })
    const partner = wharf.model('res.partner', { async work() {} })
    await wharf.start()
    for (let i = 0; i < 20; i++) {
      const job = await partner.withDelay().work()
      expect(await markSeq(path)).toBeGreaterThanOrEqual(seqOf.get(job.uuid)!)
    }
    const many = await Promise.all(Array.from({ length: 20 }, () => partner.withDelay().work()))
    const claimed = (await markSeq(path))!
    for (const job of many) expect(claimed).toBeGreaterThanOrEqual(seqOf.get(job.uuid)!)
    await wharf.drain()
    expect((await wharf.jobs({ state: 'done' })).length).toBe(40)
    await wharf.close()
  })

  it("'process': the mark never names a seq before its batch is written, and catches up by close", async () => {
    const path = await newPath()
    const log = logAt(path)
    await log.open()
    const trace = traceWrites()
    const appends: Promise<void>[] = []
    for (let first = 1; first <= 30; first += 3) appends.push(log.append(makeBatch(first, 3)))
    await Promise.all(appends)
    await log.close()
    let durable = 0
    for (const step of trace) {
      const [what, seq] = step.split(' ') as [string, string]
      if (what === 'put') durable = Number(seq) + 2
      else expect(Number(seq)).toBeLessThanOrEqual(durable)
    }
    expect(trace.filter((s) => s.endsWith('synced'))).toEqual([])
    expect(await markSeq(path)).toBe(30)
  })
})

describe('through Wharf.open', () => {
  it("refuses a store whose newest acknowledged jobs are gone; 'truncate' opens it without them", async () => {
    const path = await newPath()
    const first = await Wharf.open({ path, snapshotEvery: 0 })
    const partner = first.model('res.partner', { async work() {} })
    const kept = await partner.withDelay().work()
    const lost = await partner.withDelay().work()
    await first.close()
    await tamper(path, async (db) => {
      const keys = await db.keys({ gte: 'e', lt: 'f' }).all()
      await db.del(keys.at(-1)!) // the record of the second enqueue
    })
    await expect(Wharf.open({ path })).rejects.toSatisfy((e: unknown) => e instanceof LogCorruptionError && /events \d+\.\.\d+ are missing/.test((e as Error).message))
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
    const second = await Wharf.open({ path, onCorruption: 'truncate' })
    expect(emit).toHaveBeenCalledWith(expect.stringMatching(/\d+ acknowledged event\(s\) lost/), expect.anything())
    expect((await second.job(kept.uuid))?.state).toBe('pending')
    expect(await second.job(lost.uuid)).toBeUndefined()
    await second.close()
    const third = await Wharf.open({ path })
    expect(await third.jobs()).toHaveLength(1)
    await third.close()
  })
})
