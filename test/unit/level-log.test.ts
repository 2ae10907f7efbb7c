// Proves LevelLog keeps the EventLog contract on a real LevelDB (shared suite), and what only a
// disk log must do: detect corruption written straight into LevelDB, recover by explicit
// truncation, refuse a locked directory by name, and write one record per batch (synced on demand).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LogCorruptionError, StorageLockedError } from '../../src/engine/errors.js'
import { LevelLog, recordKey, type LevelLogOptions } from '../../src/storage/level-log.js'
import { eventLogContract, makeBatch, readAll } from './event-log-contract.js'
import { tempLevelLogs } from './helpers.js'

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'wharf-level-log-'))
}

eventLogContract('LevelLog', async () => {
  const dir = await tempDir()
  const path = join(dir, 'jobs')
  const opened: LevelLog[] = []
  const make = (): LevelLog => {
    const log = new LevelLog(path)
    opened.push(log)
    return log
  }
  const log = make()
  return {
    log,
    reopen: make,
    cleanup: async () => {
      for (const l of opened) await l.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

describe('LevelLog', () => {
  const temp = tempLevelLogs('wharf-level-log-')

  /** A LevelLog at a fresh path; not opened. */
  async function fresh(options?: LevelLogOptions, path?: string): Promise<LevelLog> {
    return temp.at(path ?? (await temp.path(join('nested', 'jobs'))), options)
  }

  /** Given batches [1,2] [3,4] [5,6] on disk, and the log closed again. */
  async function givenSixEvents(): Promise<string> {
    const log = await fresh()
    await log.open()
    for (const first of [1, 3, 5]) await log.append(makeBatch(first, 2))
    await log.close()
    return log.path
  }

  /** Change LevelDB directly, as a disk fault or another program would. */
  async function tamper(path: string, change: (db: ClassicLevel<string, Uint8Array>) => Promise<void>): Promise<void> {
    const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()
    await change(db)
    await db.close()
  }

  async function flipByte(path: string, key: string, offset: (length: number) => number): Promise<void> {
    await tamper(path, async (db) => {
      const value = Buffer.from((await db.get(key))!)
      value[offset(value.length)]! ^= 0x20
      await db.put(key, value)
    })
  }

  /** Read everything, collecting the batches yielded before the error. */
  async function readUntilError(log: LevelLog): Promise<{ seqs: number[][]; error: unknown }> {
    const seqs: number[][] = []
    try {
      for await (const batch of log.read()) seqs.push(batch.map((e) => e.seq))
    } catch (error) {
      return { seqs, error }
    }
    return { seqs, error: null }
  }

  it('stores one record per batch, keyed by its first seq in a fixed-width sortable key', async () => {
    const path = await givenSixEvents()
    await tamper(path, async (db) => {
      expect(await db.keys({ gte: 'e', lt: 'f' }).all()).toEqual(['e0000000000000001', 'e0000000000000003', 'e0000000000000005'])
    })
    expect(recordKey(12)).toBe('e0000000000000012')
  })

  it('refuses a record stored under a key below its seqs, even where a read starts at it (after a snapshot)', async () => {
    const path = await givenSixEvents()
    // Records [3,4] lost and [5,6] found under 3's key: reading on from seq 2 starts at that key.
    await tamper(path, async (db) => {
      await db.put(recordKey(3), (await db.get(recordKey(5)))!)
      await db.del(recordKey(5))
    })
    const log = await fresh({}, path)
    const read: number[][] = []
    // Open reads the last record's header, the read its first one: either may be the one to refuse.
    const error = await (async () => {
      await log.open()
      for await (const batch of log.read(2)) read.push(batch.map((e) => e.seq))
    })().then(() => null, (e: unknown) => e)
    expect(read).toEqual([]) // never seqs 5 and 6 as if 3 and 4 had not existed
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as Error).message).toContain('record holds seq 5, its key says 3')
  })

  it('fails with LogCorruptionError naming the seq and path when a record holds garbage', async () => {
    const path = await givenSixEvents()
    await tamper(path, (db) => db.put(recordKey(3), Buffer.from('not a record at all, just garbage')))
    const log = await fresh({}, path)
    await log.open()
    const { seqs, error } = await readUntilError(log)
    expect(seqs).toEqual([[1, 2]])
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as LogCorruptionError).seq).toBe(3)
    expect((error as Error).message).toContain('seq 3')
    expect((error as Error).message).toContain(path)
  })

  it('detects a flipped byte in a body, in a header, and a truncated value', async () => {
    const path = await givenSixEvents()
    const log = await fresh({}, path)
    for (const [name, change] of [
      ['body', () => flipByte(path, recordKey(3), (n) => n - 5)],
      ['header', () => flipByte(path, recordKey(3), () => 11)],
    ] as const) {
      await change()
      await log.open()
      const { seqs, error } = await readUntilError(log)
      expect(seqs, name).toEqual([[1, 2]])
      expect((error as LogCorruptionError).seq, name).toBe(3)
      await log.close()
      await change() // flip back
    }
    await tamper(path, async (db) => db.put(recordKey(3), (await db.get(recordKey(3)))!.subarray(0, 40)))
    await log.open()
    expect((await readUntilError(log)).error).toMatchObject({ code: 'LOG_CORRUPTION', seq: 3 })
  })

  it('treats a missing record (a gap between records) as corruption at the first missing seq', async () => {
    const path = await givenSixEvents()
    await tamper(path, (db) => db.del(recordKey(3)))
    const log = await fresh({}, path)
    await log.open()
    const { seqs, error } = await readUntilError(log)
    expect(seqs).toEqual([[1, 2]])
    expect(error).toMatchObject({ code: 'LOG_CORRUPTION', seq: 3 })
    expect((error as Error).message).toMatch(/events 3\.\.4 are missing/)
    await log.close()
    await tamper(path, (db) => db.del(recordKey(1)))
    await log.open()
    expect(await readUntilError(log)).toMatchObject({ seqs: [], error: { code: 'LOG_CORRUPTION', seq: 1 } })
  })

  it('refuses to open when the last record is corrupt (it defines where appends continue)', async () => {
    const path = await givenSixEvents()
    await flipByte(path, recordKey(5), (n) => n - 2)
    const log = await fresh({}, path)
    await expect(log.open()).rejects.toMatchObject({ code: 'LOG_CORRUPTION', seq: 5 })
    await expect(log.append(makeBatch(7, 1))).rejects.toThrow(/closed/)
  })

  it("'truncate' drops the corrupt record and all after it, warns, and yields what came before", async () => {
    const path = await givenSixEvents()
    await flipByte(path, recordKey(3), (n) => n - 5)
    const warnings: string[] = []
    const log = await fresh({ onCorruption: 'truncate', onWarning: (m) => warnings.push(m) }, path)
    await log.open()
    expect((await readAll(log)).map((b) => b.map((e) => e.seq))).toEqual([[1, 2]])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/seq 3.*deleted 2 record\(s\) from seq 3 on.*ends at seq 2/)
    await log.append(makeBatch(3, 1))
    await log.close()
    const again = await fresh({}, path)
    await again.open()
    expect(await readAll(again)).toEqual([makeBatch(1, 2), makeBatch(3, 1)])
  })

  it("'truncate' defers a corrupt last record to the first read, refusing appends until then", async () => {
    const path = await givenSixEvents()
    await tamper(path, (db) => db.put(recordKey(5), Buffer.alloc(10)))
    const warnings: string[] = []
    const log = await fresh({ onCorruption: 'truncate', onWarning: (m) => warnings.push(m) }, path)
    await log.open()
    await expect(log.append(makeBatch(5, 1))).rejects.toThrow(/last record .* is corrupt; read the log to the end first/)
    expect((await readAll(log)).map((b) => b.map((e) => e.seq))).toEqual([[1, 2], [3, 4]])
    expect(warnings[0]).toMatch(/seq 5.*ends at seq 4/)
    await log.append(makeBatch(5, 1))
  })

  /** Given batches of `sizes` from seq 1, a snapshot at 4, and the record at seq 3 corrupt. */
  async function givenCorruptRecordUnderSnapshot(sizes: number[]): Promise<string> {
    const log = await fresh()
    await log.open()
    let seq = 1
    for (const size of sizes) {
      await log.append(makeBatch(seq, size))
      seq += size
    }
    await log.writeSnapshot({ seq: 4, formatVersion: 1, state: { upTo: 4 } })
    await log.close()
    await flipByte(log.path, recordKey(3), (n) => n - 5)
    return log.path
  }

  it('a reader starting at the snapshot never visits a corrupt record the snapshot covers', async () => {
    const path = await givenCorruptRecordUnderSnapshot([2, 2, 2])
    const log = await fresh({}, path)
    await log.open()
    expect((await readAll(log, 4)).map((b) => b.map((e) => e.seq))).toEqual([[5, 6]])
  })

  it("'truncate' for a reader from seq 0: the log ends before the corruption and the snapshot beyond it goes", async () => {
    const path = await givenCorruptRecordUnderSnapshot([2, 2, 2])
    const warnings: string[] = []
    const log = await fresh({ onCorruption: 'truncate', onWarning: (m) => warnings.push(m) }, path)
    await log.open()
    expect((await readAll(log)).map((b) => b.map((e) => e.seq))).toEqual([[1, 2]])
    expect(warnings[0]).toMatch(/deleted 2 record\(s\) from seq 3 on, and the snapshot at seq 4.*ends at seq 2/)
    expect(await log.readSnapshot()).toBeNull()
    await log.append(makeBatch(3, 1))
  })

  it("'truncate' for a reader from its snapshot: that snapshot becomes the base of the log", async () => {
    const path = await givenCorruptRecordUnderSnapshot([2, 4])
    const warnings: string[] = []
    const log = await fresh({ onCorruption: 'truncate', onWarning: (m) => warnings.push(m) }, path)
    await log.open()
    expect(await log.readSnapshot()).toEqual({ seq: 4, formatVersion: 1, state: { upTo: 4 } })
    expect(await readAll(log, 4)).toEqual([])
    expect(warnings[0]).toMatch(/continues from that snapshot/)
    await expect(log.append(makeBatch(3, 1))).rejects.toThrow(/log ends at 4/)
    await log.append(makeBatch(5, 1))
    await log.close()
    const again = await fresh({}, path)
    await again.open()
    expect(await again.readSnapshot()).toEqual({ seq: 4, formatVersion: 1, state: { upTo: 4 } })
    expect((await readAll(again)).map((b) => b.map((e) => e.seq))).toEqual([[5]])
  })

  it('reports a corrupt snapshot, and truncate mode drops it while the full log remains', async () => {
    const path = await givenSixEvents()
    const writer = await fresh({}, path)
    await writer.open()
    await writer.writeSnapshot({ seq: 6, formatVersion: 1, state: { big: 'x'.repeat(50) } })
    await writer.close()
    await flipByte(path, 's', (n) => n - 10)
    const strict = await fresh({}, path)
    await strict.open()
    await expect(strict.readSnapshot()).rejects.toMatchObject({ code: 'LOG_CORRUPTION', seq: 6 })
    await strict.close()
    const warnings: string[] = []
    const lenient = await fresh({ onCorruption: 'truncate', onWarning: (m) => warnings.push(m) }, path)
    await lenient.open()
    expect(await lenient.readSnapshot()).toBeNull()
    expect(warnings[0]).toMatch(/snapshot at seq 6.*deleted the snapshot/)
    expect((await readAll(lenient)).length).toBe(3)
  })

  it("a compacted log whose snapshot is lost is corruption; 'truncate' restarts from an empty state after the highest seq", async () => {
    const path = await givenSixEvents()
    const writer = await fresh({}, path)
    await writer.open()
    await writer.writeSnapshot({ seq: 4, formatVersion: 1, state: { upTo: 4 } })
    await writer.compact(4)
    await writer.close()
    await tamper(path, (db) => db.del('s'))
    const strict = await fresh({}, path)
    await strict.open()
    const error = await strict.readSnapshot().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as Error).message).toMatch(/events up to seq 4 were compacted into a snapshot, but there is no snapshot.*restore the store from a backup, or open with onCorruption: 'truncate'/)
    await strict.close()
    const warnings: string[] = []
    const lenient = await fresh({ onCorruption: 'truncate', onWarning: (m) => warnings.push(m) }, path)
    await lenient.open()
    expect(await lenient.readSnapshot()).toEqual({ seq: 6, formatVersion: 0, state: null })
    expect(warnings.at(-1)).toMatch(/every job that was live at that snapshot is lost, with the 1 record\(s\) after it.*empty state at seq 6/)
    expect(await readAll(lenient, 6)).toEqual([])
    await lenient.append(makeBatch(7, 1))
    await lenient.close()
    const again = await fresh({}, path)
    await again.open()
    expect(await again.readSnapshot()).toEqual({ seq: 6, formatVersion: 0, state: null })
    expect((await readAll(again, 6)).map((b) => b.map((e) => e.seq))).toEqual([[7]])
    await again.close()
  })

  it("a snapshot beyond the end of the log is corruption; 'truncate' continues from the snapshot", async () => {
    const path = await givenSixEvents()
    const writer = await fresh({}, path)
    await writer.open()
    await writer.writeSnapshot({ seq: 6, formatVersion: 1, state: { upTo: 6 } })
    await writer.close()
    await tamper(path, (db) => db.del(recordKey(5)))
    const warnings: string[] = []
    const log = await fresh({ onCorruption: 'truncate', onWarning: (m) => warnings.push(m) }, path)
    await log.open()
    expect(await log.readSnapshot()).toEqual({ seq: 6, formatVersion: 1, state: { upTo: 6 } })
    expect(warnings.at(-1)).toMatch(/the snapshot is at seq 6 but the log ends at seq 4.*continues from the snapshot/)
    expect(await readAll(log, 6)).toEqual([])
    await log.append(makeBatch(7, 1))
    await log.close()
    const again = await fresh({}, path)
    await again.open()
    expect((await again.readSnapshot())?.seq).toBe(6)
    expect((await readAll(again, 6)).map((b) => b.map((e) => e.seq))).toEqual([[7]])
  })

  it('refuses a second open of the same directory with StorageLockedError naming the path', async () => {
    const first = await fresh()
    await first.open()
    const second = await fresh({}, first.path)
    const error = await second.open().then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(StorageLockedError)
    expect((error as StorageLockedError).path).toBe(first.path)
    expect((error as Error).message).toContain(first.path)
    await first.close()
    await second.open() // the lock is released with the first
  })

  it("'fsync' durability syncs every write, one put per batch", async () => {
    const put = vi.spyOn(ClassicLevel.prototype, 'put')
    const log = await fresh({ durability: 'fsync' })
    await log.open() // a new store: one put records its identity, one marks its history complete
    await log.append(makeBatch(1, 3))
    await log.append(makeBatch(4, 2))
    expect(put).toHaveBeenCalledTimes(4)
    for (const call of put.mock.calls) expect(call[2]).toEqual({ sync: true })
    await log.close()
    await log.open()
    expect(await readAll(log)).toEqual([makeBatch(1, 3), makeBatch(4, 2)])
  })

  it('a failed write rejects, writes nothing, and the same batch can be appended again', async () => {
    const log = await fresh()
    await log.open()
    await log.append(makeBatch(1, 2))
    vi.spyOn(ClassicLevel.prototype, 'put').mockRejectedValueOnce(new Error('disk full'))
    await expect(log.append(makeBatch(3, 2))).rejects.toThrow('disk full')
    expect((await readAll(log)).length).toBe(1)
    await log.append(makeBatch(3, 2))
    expect((await readAll(log)).map((b) => b.map((e) => e.seq))).toEqual([[1, 2], [3, 4]])
  })

  it('orders concurrent appends and refuses one queued after a failure', async () => {
    const log = await fresh()
    await log.open()
    vi.spyOn(ClassicLevel.prototype, 'put').mockRejectedValueOnce(new Error('disk full'))
    const results = await Promise.allSettled([log.append(makeBatch(1, 1)), log.append(makeBatch(2, 1))])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    await Promise.all([log.append(makeBatch(1, 1)), log.append(makeBatch(2, 1)), log.close()])
    await log.open()
    expect((await readAll(log)).map((b) => b.map((e) => e.seq))).toEqual([[1], [2]])
  })

  it('compacts across many chunks of records, keeping the record the cut falls in', async () => {
    // 2,600 records (more than two chunks of the compaction's key walk), of one and of two events.
    const log = await fresh()
    await log.open()
    const firsts: number[] = []
    let seq = 1
    for (let i = 0; i < 2_600; i++) {
      const count = i % 3 === 0 ? 2 : 1
      firsts.push(seq)
      await log.append(makeBatch(seq, count))
      seq += count
    }
    const end = seq - 1
    // A cut inside a two-event record: that record and all after it stay.
    const inside = firsts.find((first, i) => i > 2_100 && i % 3 === 0)!
    await log.writeSnapshot({ seq: inside, formatVersion: 3, state: null })
    await log.compact(inside)
    let batches = await readAll(log)
    expect(batches[0]![0]!.seq).toBe(inside)
    expect(batches.length).toBe(firsts.length - firsts.indexOf(inside))
    expect(batches.at(-1)!.at(-1)!.seq).toBe(end)
    // Then everything but the last record: the cut at a record's end.
    const lastFirst = firsts.at(-1)!
    await log.writeSnapshot({ seq: lastFirst - 1, formatVersion: 3, state: null })
    await log.compact(lastFirst - 1)
    batches = await readAll(log)
    expect(batches.map((b) => b[0]!.seq)).toEqual([lastFirst])
    await log.close()
    const again = await fresh(undefined, log.path)
    await again.open()
    expect((await readAll(again)).map((b) => b[0]!.seq)).toEqual([lastFirst])
    await again.append(makeBatch(end + 1, 1))
    expect((await readAll(again, lastFirst - 1)).length).toBe(2)
    await again.close()
  })
})
