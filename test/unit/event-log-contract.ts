// The EventLog contract as one shared suite: every log (MemoryLog, LevelLog, …) must pass it, so
// the engine can be given any of them. Each test runs against a fresh fixture from `makeLog`.
import { afterEach, describe, expect, it } from 'vitest'
import type { JobSpec, WharfEvent } from '../../src/engine/core/events.js'
import type { JobView } from '../../src/engine/core/view.js'
import type { EventLog } from '../../src/storage/event-log.js'

export interface LogFixture {
  /** A fresh log over empty storage, not yet opened. */
  log: EventLog
  /** After `log.close()`: a log over the same storage (the same instance or a new one), unopened. */
  reopen(): EventLog
  /** Remove whatever the fixture created. */
  cleanup(): Promise<void>
}

/** Payload values a log must keep exactly: Dates, keys that look like tags, nesting. */
export const TRICKY_ARGS: unknown[] = [
  new Date(Date.UTC(2024, 1, 29, 12, 30)),
  { $date: 1, $num: 'NaN', $$x: [1, { $: '$' }], '': null },
  [[], {}, [new Date(0)], { nested: { when: new Date(-1000) } }],
  'a string with "quotes" and ünïcödé',
  -12.5,
  true,
  null,
]

function spec(uuid: string, args: unknown[]): JobSpec {
  return {
    uuid, graphUuid: null, model: 'res.partner', method: 'generate', records: [1, 'x'], args,
    context: { tz: 'Europe/Brussels', since: new Date(86_400_000) }, priority: 10, eta: null,
    maxRetries: 5, description: 'res.partner.generate', channel: 'root', identityKey: null,
    dependsOn: [], createdAt: 1_000,
  }
}

/** A batch of `count` events starting at `first`: a creation, then starts and dones. */
/** A finished job's view, as history keeps it (`over` changes fields). */
export function doneView(uuid: string, over: Partial<JobView> = {}): JobView {
  return {
    uuid, graphUuid: null, model: 'res.partner', method: 'send', records: [1], args: [], context: {}, state: 'done',
    priority: 10, eta: null, maxRetries: 5, retry: 1, description: 'res.partner.send', channel: 'root',
    identityKey: null, dependsOn: [], dependents: [], result: 'ok', excName: null, excMessage: null, excInfo: null,
    createdAt: 1_000, enqueuedAt: 1_000, startedAt: 1_000, doneAt: 2_000, cancelledAt: null, execTimeMs: 1_000,
    progress: null, node: null, batchUuid: null,
    ...over,
  }
}

export function makeBatch(first: number, count: number): WharfEvent[] {
  const events: WharfEvent[] = []
  for (let i = 0; i < count; i++) {
    const seq = first + i
    const at = 1_000 + seq
    if (i === 0) events.push({ seq, v: 1, at, type: 'job.created', job: spec(`job-${seq}`, TRICKY_ARGS) })
    else if (i % 2 === 1) events.push({ seq, v: 1, at, type: 'job.started', uuid: `job-${first}` })
    else events.push({ seq, v: 1, at, type: 'job.done', uuid: `job-${first}`, result: { at: new Date(at), $ref: seq }, manual: false })
  }
  return events
}

export async function readAll(log: EventLog, afterSeq?: number): Promise<WharfEvent[][]> {
  const batches: WharfEvent[][] = []
  for await (const batch of log.read(afterSeq)) batches.push([...batch])
  return batches
}

function seqs(batches: WharfEvent[][]): number[][] {
  return batches.map((b) => b.map((e) => e.seq))
}

export function eventLogContract(name: string, makeLog: () => Promise<LogFixture>): void {
  describe(`EventLog contract: ${name}`, () => {
    let fixture: LogFixture | null = null
    const cleanups: (() => Promise<void>)[] = []

    /** Given an opened log with batches of the given sizes appended, from seq 1. */
    async function given(...sizes: number[]): Promise<EventLog> {
      fixture = await makeLog()
      cleanups.push(fixture.cleanup)
      await fixture.log.open()
      let seq = 1
      for (const size of sizes) {
        await fixture.log.append(makeBatch(seq, size))
        seq += size
      }
      return fixture.log
    }

    async function reopened(log: EventLog): Promise<EventLog> {
      await log.close()
      const again = fixture!.reopen()
      await again.open()
      cleanups.push(() => again.close())
      return again
    }

    afterEach(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup()
      cleanups.length = 0
      fixture = null
    })

    it('reads back what was appended, batch by batch, payloads exact (Dates, tag-like keys)', async () => {
      const log = await given(3, 1, 4)
      const batches = await readAll(log)
      expect(batches).toEqual([makeBatch(1, 3), makeBatch(4, 1), makeBatch(5, 4)])
      const created = batches[0]![0]! as Extract<WharfEvent, { type: 'job.created' }>
      expect(created.job.args[0]).toBeInstanceOf(Date)
      expect(created.job.context.since).toBeInstanceOf(Date)
    })

    it('read(afterSeq) starts inside a batch and skips whole batches before it', async () => {
      const log = await given(3, 3, 2)
      expect(seqs(await readAll(log, 2))).toEqual([[3], [4, 5, 6], [7, 8]])
      expect(seqs(await readAll(log, 3))).toEqual([[4, 5, 6], [7, 8]])
      expect(seqs(await readAll(log, 7))).toEqual([[8]])
      expect(seqs(await readAll(log, 8))).toEqual([])
      expect(seqs(await readAll(log, 99))).toEqual([])
    })

    it('refuses a batch that does not start right after the log, and keeps the log unchanged', async () => {
      const log = await given(2)
      await expect(log.append(makeBatch(4, 1))).rejects.toThrow(/starts at seq 4, log ends at 2/)
      await expect(log.append(makeBatch(2, 1))).rejects.toThrow(/starts at seq 2/)
      expect(seqs(await readAll(log))).toEqual([[1, 2]])
      await log.append(makeBatch(3, 2))
      expect(seqs(await readAll(log))).toEqual([[1, 2], [3, 4]])
    })

    it('treats an empty batch as nothing to do', async () => {
      const log = await given(1)
      await log.append([])
      expect(seqs(await readAll(log))).toEqual([[1]])
    })

    it('keeps everything across close and reopen, and appends continue after the last seq', async () => {
      const log = await reopened(await given(2, 3))
      expect(await readAll(log)).toEqual([makeBatch(1, 2), makeBatch(3, 3)])
      await expect(log.append(makeBatch(5, 1))).rejects.toThrow(/log ends at 5/)
      await log.append(makeBatch(6, 2))
      expect(seqs(await readAll(log, 5))).toEqual([[6, 7]])
    })

    it('stores the latest snapshot exactly, and keeps it across reopen', async () => {
      const log = await given(2, 2)
      expect(await log.readSnapshot()).toBeNull()
      await log.writeSnapshot({ seq: 2, formatVersion: 1, state: { jobs: [] } })
      const state = { jobs: [{ args: TRICKY_ARGS, doneAt: new Date(5) }], throttleUntil: -Infinity, $meta: { '': 0 } }
      await log.writeSnapshot({ seq: 4, formatVersion: 3, state })
      expect(await log.readSnapshot()).toEqual({ seq: 4, formatVersion: 3, state })
      const again = await reopened(log)
      expect(await again.readSnapshot()).toEqual({ seq: 4, formatVersion: 3, state })
    })

    it('refuses a snapshot past the end of the log', async () => {
      const log = await given(2)
      await expect(log.writeSnapshot({ seq: 3, formatVersion: 1, state: null })).rejects.toThrow(/seq 3 is outside the log/)
      expect(await log.readSnapshot()).toBeNull()
    })

    it('compacts the records a snapshot covers, keeps the tail, and reads what remains', async () => {
      const log = await given(2, 2, 2)
      await log.writeSnapshot({ seq: 4, formatVersion: 1, state: 'at 4' })
      await log.compact(3) // [3,4] holds seq 4 > 3: it stays
      expect(seqs(await readAll(log))).toEqual([[3, 4], [5, 6]])
      await log.compact(4)
      expect(seqs(await readAll(log))).toEqual([[5, 6]])
      expect(seqs(await readAll(log, 2))).toEqual([[5, 6]])
      expect(seqs(await readAll(log, 5))).toEqual([[6]])
      const again = await reopened(log)
      expect(seqs(await readAll(again))).toEqual([[5, 6]])
      await again.append(makeBatch(7, 1))
      expect(seqs(await readAll(again, 4))).toEqual([[5, 6], [7]])
    })

    it('refuses to compact beyond the snapshot, deleting nothing', async () => {
      const log = await given(2, 2)
      await expect(log.compact(2)).rejects.toThrow(/no snapshot covers/)
      await log.writeSnapshot({ seq: 2, formatVersion: 1, state: null })
      await expect(log.compact(4)).rejects.toThrow(/no snapshot covers/)
      expect(seqs(await readAll(log))).toEqual([[1, 2], [3, 4]])
    })

    it('can compact everything; the log then continues from the snapshot', async () => {
      const log = await given(2, 2)
      await log.writeSnapshot({ seq: 4, formatVersion: 1, state: { n: 4 } })
      await log.compact(4)
      expect(await readAll(log)).toEqual([])
      const again = await reopened(log)
      expect(await again.readSnapshot()).toEqual({ seq: 4, formatVersion: 1, state: { n: 4 } })
      await expect(again.append(makeBatch(1, 1))).rejects.toThrow(/log ends at 4/)
      await again.append(makeBatch(5, 2))
      expect(seqs(await readAll(again))).toEqual([[5, 6]])
      await expect(again.writeSnapshot({ seq: 3, formatVersion: 1, state: null })).rejects.toThrow(/outside the log/)
    })

    it('rejects appends and snapshot writes after close', async () => {
      const log = await given(1)
      await log.close()
      await expect(log.append(makeBatch(2, 1))).rejects.toThrow(/closed/)
      await expect(log.writeSnapshot({ seq: 1, formatVersion: 1, state: null })).rejects.toThrow(/closed/)
      await expect(log.compact(0)).rejects.toThrow(/closed/)
    })
  })
}
