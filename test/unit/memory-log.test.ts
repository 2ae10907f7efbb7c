// Proves MemoryLog keeps the EventLog contract (shared suite), plus what only it promises: a
// stored snapshot is a copy, so mutating the live state afterwards cannot change it.
import { describe, expect, it } from 'vitest'
import { MemoryLog } from '../../src/storage/memory-log.js'
import { VolatileLog } from '../../src/storage/volatile-log.js'
import { eventLogContract, makeBatch, readAll } from './event-log-contract.js'

eventLogContract('MemoryLog', async () => {
  const log = new MemoryLog()
  return { log, reopen: () => log, cleanup: () => log.close() }
})

describe('MemoryLog', () => {
  it('stores a snapshot by value: later mutation of the state does not reach it', async () => {
    const log = new MemoryLog()
    await log.open()
    await log.append(makeBatch(1, 1))
    const state = { jobs: [{ uuid: 'a', when: new Date(7) }] }
    await log.writeSnapshot({ seq: 1, formatVersion: 1, state })
    state.jobs.push({ uuid: 'b', when: new Date(8) })
    expect(await log.readSnapshot()).toEqual({ seq: 1, formatVersion: 1, state: { jobs: [{ uuid: 'a', when: new Date(7) }] } })
  })

  it('events() lists what remains after compaction', async () => {
    const log = new MemoryLog()
    await log.open()
    await log.append(makeBatch(1, 2))
    await log.append(makeBatch(3, 1))
    await log.writeSnapshot({ seq: 2, formatVersion: 1, state: null })
    await log.compact(2)
    expect(log.events().map((e) => e.seq)).toEqual([3])
  })
})

describe('VolatileLog', () => {
  it('keeps nothing: no events, no snapshot, compaction is a no-op', async () => {
    const log = new VolatileLog()
    await log.open()
    await log.append(makeBatch(1, 2))
    await log.writeSnapshot({ seq: 2, formatVersion: 1, state: { a: 1 } })
    await log.compact(2)
    expect(await readAll(log)).toEqual([])
    expect(await log.readSnapshot()).toBeNull()
    await log.close()
    await expect(log.append(makeBatch(3, 1))).rejects.toThrow(/closed/)
  })
})
