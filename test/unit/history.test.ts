// Proves the history store's contract on every log that carries one (MemoryLog, VolatileLog,
// LevelLog, PgLog on a real PostgreSQL server): views written by append come back whole; pages by
// any filter, in either order, by cursor, equal a naive model's answer (fast-check); deletes,
// counts and the finish-time walk; a refused append writes nothing; LevelDB and PostgreSQL keep
// all of it across a reopen.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobView } from '../../src/engine/core/view.js'
import type { EventLog } from '../../src/storage/event-log.js'
import { finishedAtOf, historyQuery, type HistoryQuery } from '../../src/storage/history.js'
import { LevelLog } from '../../src/storage/level-log.js'
import { MemoryLog } from '../../src/storage/memory-log.js'
import { PgLog } from '../../src/storage/pg-log.js'
import { VolatileLog } from '../../src/storage/volatile-log.js'
import { doneView as view, makeBatch, TRICKY_ARGS } from './event-log-contract.js'
import { pgTestDatabase } from '../pg/database.js'

const pg = pgTestDatabase()

const dirs: string[] = []
const logs: EventLog[] = []
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const query = historyQuery

const kinds = {
  MemoryLog: async () => ({ log: new MemoryLog() as EventLog, reopen: null }),
  VolatileLog: async () => ({ log: new VolatileLog() as EventLog, reopen: null }),
  LevelLog: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-history-'))
    dirs.push(dir)
    return { log: new LevelLog(join(dir, 'log')) as EventLog, reopen: () => new LevelLog(join(dir, 'log')) as EventLog }
  },
  PgLog: async () => {
    const schema = pg.schema()
    return { log: new PgLog(pg.url(), { schema }) as EventLog, reopen: () => new PgLog(pg.url(), { schema }) as EventLog }
  },
}

/** An open log plus an append that stamps the next seqs. */
async function open(kind: keyof typeof kinds) {
  const fixture = await kinds[kind]()
  let log = fixture.log
  await log.open()
  logs.push(log)
  let seq = 0
  const write = async (put: JobView[], del: JobView[] = []) => {
    await log.append(makeBatch(seq + 1, 1), { put, del })
    seq++
  }
  const reopen = async () => {
    await log.close()
    logs.splice(logs.indexOf(log), 1)
    log = fixture.reopen!()
    await log.open()
    logs.push(log)
    return log
  }
  return { get log() { return log }, write, reopen, canReopen: fixture.reopen !== null }
}

describe.each(Object.keys(kinds) as (keyof typeof kinds)[])('history on %s', (kind) => {
  it('keeps a view whole, tricky payloads included, and forgets it when deleted', async () => {
    const h = await open(kind)
    const v = view('a', { args: TRICKY_ARGS, result: { when: new Date(5), n: -0 }, context: { $date: 'not a tag' } })
    await h.write([v])
    expect(await h.log.history.get('a')).toEqual(v)
    expect(Object.is((((await h.log.history.get('a'))!.result) as { n: number }).n, -0)).toBe(true)
    await h.write([], [v])
    expect(await h.log.history.get('a')).toBeUndefined()
    expect(await h.log.history.page(query())).toEqual([])
    expect(await h.log.history.finishedUpTo(Infinity, 10)).toEqual([])
    expect([...h.log.history.counts()]).toEqual([])
  })

  it('counts finished jobs per channel and state', async () => {
    const h = await open(kind)
    const a = view('a', { channel: 'root.mail' })
    const b = view('b', { channel: 'root.mail', state: 'cancelled', doneAt: null, cancelledAt: 3_000 })
    await h.write([a, b, view('c')])
    expect(new Map(h.log.history.counts())).toEqual(new Map([['root.mail', { done: 1, cancelled: 1 }], ['root', { done: 1, cancelled: 0 }]]))
    await h.write([], [b])
    expect(h.log.history.counts().get('root.mail')).toEqual({ done: 1, cancelled: 0 })
  })

  it('walks finish times in order, up to a bound, from a cursor', async () => {
    const h = await open(kind)
    await h.write([view('c', { doneAt: 3_000 }), view('a', { doneAt: 1_000 }), view('b', { doneAt: 3_000 }), view('d', { state: 'cancelled', doneAt: null, cancelledAt: 2_000 })])
    const walk = (at: number, limit: number, cursor?: { atMs: number; uuid: string }) => h.log.history.finishedUpTo(at, limit, cursor).then((vs) => vs.map((v) => v.uuid))
    expect(await walk(3_000, 10)).toEqual(['a', 'd', 'b', 'c'])
    expect(await walk(2_999, 10)).toEqual(['a', 'd'])
    expect(await walk(3_000, 2)).toEqual(['a', 'd'])
    expect(await walk(3_000, 10, { atMs: 2_000, uuid: 'd' })).toEqual(['b', 'c'])
    expect(await walk(3_000, 10, { atMs: 3_000, uuid: 'b' })).toEqual(['c'])
  })

  it('answers every page like a naive model, for any filters, order, limit and cursor', async () => {
    const channels = ['root', 'root.mail', 'root.a\u0000b']
    const arbView = fc.record({
      n: fc.nat(400),
      state: fc.constantFrom('done' as const, 'cancelled' as const),
      channel: fc.constantFrom(...channels),
      model: fc.constantFrom('m1', 'm2'),
      method: fc.constantFrom('x', 'y', 'x\u0001'),
      graphUuid: fc.constantFrom(null, 'g1', 'g2'),
      identityKey: fc.constantFrom(null, 'k1', 'k\u0000'),
      batchUuid: fc.constantFrom(null, 'b1', 'b\u0000'),
      at: fc.nat(5),
    })
    // At most two filters: with more, almost every answer would be empty.
    const values = fc.record({
      state: fc.constantFrom('done', 'cancelled'),
      channel: fc.constantFrom(...channels),
      model: fc.constantFrom('m1', 'm2'),
      method: fc.constantFrom('x', 'y', 'x\u0001'),
      graphUuid: fc.constantFrom('g1', 'g2'),
      identityKey: fc.constantFrom('k1', 'k\u0000'),
      batchUuid: fc.constantFrom('b1', 'b\u0000'),
    })
    const arbQuery = fc
      .tuple(fc.subarray(['state', 'channel', 'model', 'method', 'graphUuid', 'identityKey', 'batchUuid'] as const, { maxLength: 2 }), values)
      .map(([keys, v]) => Object.fromEntries(keys.map((k) => [k, v[k]])) as Partial<HistoryQuery>)
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(arbView, { selector: (v) => v.n, maxLength: 40 }), fc.array(fc.nat(60)), arbQuery, fc.integer({ min: 1, max: 7 }), fc.boolean(), async (specs, deletes, filters, limit, desc) => {
        const h = await open(kind)
        const views = specs.map((s) =>
          view(`u${String(s.n).padStart(4, '0')}`, {
            state: s.state, channel: s.channel, model: s.model, method: s.method, graphUuid: s.graphUuid, identityKey: s.identityKey, batchUuid: s.batchUuid,
            doneAt: s.state === 'done' ? 1_000 * s.at : null, cancelledAt: s.state === 'cancelled' ? 1_000 * s.at : null,
          }),
        )
        await h.write(views.slice(0, 20))
        await h.write(views.slice(20))
        const gone = new Set(deletes.filter((i) => i < views.length).map((i) => views[i]!.uuid))
        await h.write([], views.filter((v) => gone.has(v.uuid)))
        const kept = views.filter((v) => !gone.has(v.uuid))
        const expected = kept
          .filter((v) => Object.entries(filters).every(([k, value]) => v[k as keyof JobView] === value))
          .sort((a, b) => (a.uuid < b.uuid ? -1 : 1))
        if (desc) expected.reverse()
        // Page through it all: each page is the next `limit` of the model's answer.
        const got: string[] = []
        for (let pages = 0; pages <= expected.length; pages++) {
          const page = await h.log.history.page(query({ ...filters, limit, desc, after: got.at(-1) }))
          got.push(...page.map((v) => v.uuid))
          if (page.length < limit) break
        }
        expect(got).toEqual(expected.map((v) => v.uuid))
        const byTime = [...kept].sort((a, b) => finishedAtOf(a) - finishedAtOf(b) || (a.uuid < b.uuid ? -1 : 1))
        expect((await h.log.history.finishedUpTo(Infinity, 1000)).map((v) => v.uuid)).toEqual(byTime.map((v) => v.uuid))
        await h.log.close()
        logs.splice(logs.indexOf(h.log), 1)
      }),
      { numRuns: kind === 'LevelLog' || kind === 'PgLog' ? 25 : 100 },
    )
  })
})

// VolatileLog keeps no events, so it cannot tell a gap in seqs: only the logs that check refuse.
describe.each(['MemoryLog', 'LevelLog', 'PgLog'] as const)('a refused append on %s', (kind) => {
  it('writes nothing to history', async () => {
    const h = await open(kind)
    await h.write([view('a')])
    await expect(h.log.append(makeBatch(7, 1), { put: [view('b')], del: [view('a')] })).rejects.toThrow(/seq 7/)
    expect(await h.log.history.get('a')).toBeDefined()
    expect(await h.log.history.get('b')).toBeUndefined()
  })
})

describe.each(['LevelLog', 'PgLog'] as const)('history on %s, reopened', (kind) => {
  it('survives close and reopen: views, indexes and counts', async () => {
    const h = await open(kind)
    await h.write([view('a', { channel: 'root.mail', identityKey: 'k' }), view('b')])
    await h.write([], [view('b')])
    const log = await h.reopen()
    expect(await log.history.get('a')).toEqual(view('a', { channel: 'root.mail', identityKey: 'k' }))
    expect((await log.history.page(query({ identityKey: 'k' }))).map((v) => v.uuid)).toEqual(['a'])
    expect(new Map(log.history.counts())).toEqual(new Map([['root.mail', { done: 1, cancelled: 0 }]]))
    expect(await log.history.get('b')).toBeUndefined()
  })
})

describe('history on LevelLog', () => {
  it('keeps one finish-time key per batch and finish time, and removes the keys of jobs gone', async () => {
    const h = await open('LevelLog')
    const db = () => (h.log as LevelLog)['requireDb']()
    const timeKeys = async () => (await db().keys({ gte: 'h\x00t\x00', lt: 'h\x00t\x01' }).all()).length
    const at = (uuid: string, ms: number) => view(uuid, { doneAt: ms })
    await h.write([at('a', 1_000), at('b', 1_000), at('c', 2_000)])
    await h.write([at('d', 1_000)])
    expect(await timeKeys()).toBe(3) // (1000, batch 1), (2000, batch 1), (1000, batch 2)
    // b leaves history (brought back to memory) and finishes again later: its old entry is stale.
    await h.write([], [at('b', 1_000)])
    await h.write([at('b', 3_000)])
    expect((await h.log.history.finishedUpTo(Infinity, 10)).map((v) => v.uuid)).toEqual(['a', 'd', 'c', 'b'])
    // A vacuum of everything up to 2,000 (what the scan returned) empties those groups: deleted.
    const old = await h.log.history.finishedUpTo(2_000, 10)
    await h.write([], old)
    expect((await h.log.history.finishedUpTo(Infinity, 10)).map((v) => v.uuid)).toEqual(['b'])
    expect(await timeKeys()).toBe(1)
    // A cursor inside one millisecond resumes after the uuid it names.
    await h.write([at('x', 5_000), at('y', 5_000), at('z', 5_000)])
    expect((await h.log.history.finishedUpTo(Infinity, 10, { atMs: 5_000, uuid: 'x' })).map((v) => v.uuid)).toEqual(['y', 'z'])
  })
})
