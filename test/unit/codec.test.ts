// Proves the record codec: batches and snapshots round-trip exactly (Dates, special numbers, any
// key — the escaping rule), every kind of damage is a LogCorruptionError naming the seq, and old
// event versions are upcast through a per-version table.
import * as zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { AssertionError } from '../../src/engine/core/assert.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import type { JobView } from '../../src/engine/core/view.js'
import { LogCorruptionError } from '../../src/engine/errors.js'
import {
  HEADER_BYTES,
  createUpcaster,
  decodeBatch,
  decodeSnapshot,
  encodeBatch,
  encodeSnapshot,
  upcastEvent,
  type RawEvent,
} from '../../src/storage/codec.js'
import { needsTagging, tag, untag } from '../../src/storage/tagged-json.js'
import { crc32, crc32From, crc32Portable, crc32Text } from '../../src/storage/crc32.js'
import { makeBatch } from './event-log-contract.js'
import { toRow } from '../../src/storage/event-rows.js'

function done(seq: number, result: unknown): WharfEvent {
  return { seq, v: 1, at: 5, type: 'job.done', uuid: 'u', result, manual: false }
}

/** What JSON.stringify + parse of the tagged form gives back. */
function roundTrip(value: unknown): unknown {
  return untag(JSON.parse(JSON.stringify(tag(value))))
}

/** A record's events as format 2 writes them (JSON rows, tagged where needed): still read. */
function asRows(record: Buffer, events: WharfEvent[]): Buffer {
  const rows = events.map((e, i) => toRow(e, i === 0 ? 0 : events[i - 1]!.at))
  const tagged = needsTagging(rows)
  return reseal(record, JSON.stringify(tagged ? tag(rows) : rows), (h) => ((h[1] = 2), (h[2] = tagged ? 1 : 0)))
}

/** Replace a record's body (and fix its length and checksum), as a buggy writer could. */
function reseal(record: Buffer, body: string | null, patch?: (header: Buffer) => void): Buffer {
  const header = Buffer.from(record.subarray(0, HEADER_BYTES))
  const bodyBytes = body === null ? record.subarray(HEADER_BYTES) : Buffer.from(body)
  patch?.(header)
  header.writeUInt32BE(bodyBytes.length, 24)
  header.writeUInt32BE(zlib.crc32(bodyBytes, zlib.crc32(header.subarray(0, 28))), 28)
  return Buffer.concat([header, bodyBytes])
}

/** `record` with these body bytes (length and checksum fixed). */
function resealBytes(record: Buffer, bytes: number[], patch?: (header: Buffer) => void): Buffer {
  const header = Buffer.from(record.subarray(0, HEADER_BYTES))
  const body = Buffer.from(bytes)
  patch?.(header)
  header.writeUInt32BE(body.length, 24)
  header.writeUInt32BE(zlib.crc32(body, zlib.crc32(header.subarray(0, 28))), 28)
  return Buffer.concat([header, body])
}

function corruption(f: () => unknown): LogCorruptionError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(LogCorruptionError)
    return error as LogCorruptionError
  }
  throw new Error('expected a LogCorruptionError, nothing was thrown')
}

describe('tagged JSON (the escaping rule)', () => {
  it('keeps user keys that look like tags, unchanged and in order', () => {
    const value = { $date: 1, $num: 'NaN', $$date: [2], $: '$', '': 0, a$: 1, nested: [{ $$$x: { $date: null } }] }
    const back = roundTrip(value) as Record<string, unknown>
    expect(back).toEqual(value)
    expect(Object.keys(back)).toEqual(Object.keys(value))
    expect(JSON.stringify(tag({ $date: 1 }))).toBe('{"$$date":1}')
  })

  it('restores Dates (valid and invalid) and numbers JSON cannot hold', () => {
    const value = [new Date(1_700_000_000_123), new Date(Number.NaN), -0, Number.NaN, Infinity, -Infinity, 0, 1.5]
    const back = roundTrip(value) as unknown[]
    expect(back).toEqual(value)
    expect(back[0]).toBeInstanceOf(Date)
    expect(Object.is(back[2], -0)).toBe(true)
    expect(Number.isNaN((back[1] as Date).getTime())).toBe(true)
  })

  it("keeps an own '__proto__' key as data, never as a prototype", () => {
    const value = JSON.parse('{"__proto__": {"$x": 1}, "k": 1}') as object
    const back = roundTrip(value) as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.hasOwn(back, '__proto__')).toBe(true)
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')!.value).toEqual({ $x: 1 })
  })

  it('reports plain values as needing nothing, so the codec can skip both walks', () => {
    expect(needsTagging({ a: [1, 'x', null, true, { b: 2 }], c: 'd' })).toBe(false)
    expect(needsTagging({ a: [{ b: new Date(0) }] })).toBe(true)
    expect(needsTagging([{ deep: { $k: 1 } }])).toBe(true)
    expect(needsTagging([[-0]])).toBe(true)
  })

  it('looks past empty containers and into every level, call after call (its stack is reused)', () => {
    const deep = (leaf: unknown): unknown => [[], {}, { a: [[], { b: [{}, [leaf]] }] }]
    for (let round = 0; round < 3; round++) {
      expect(needsTagging(deep(1))).toBe(false)
      expect(needsTagging(deep(NaN))).toBe(true)
      expect(needsTagging(deep(new Date(0)))).toBe(true)
      expect(needsTagging(deep({ $x: 1 }))).toBe(true)
      expect(needsTagging(deep({ x$: Infinity }))).toBe(true)
      expect(needsTagging([[], {}, []])).toBe(false)
    }
  })

  it('refuses encoded values no encoder produces', () => {
    expect(() => untag({ $date: 'yesterday' })).toThrow(/bad \$date/)
    expect(() => untag({ $bogus: 1 })).toThrow(/unknown tag/)
    expect(() => untag({ $date: 1, other: 2 })).toThrow(/tag "\$date" inside an object/)
  })
})

describe('batch records', () => {
  it('round-trips events exactly in binary (format 3), Dates and tag-like keys included, and reads them as JSON rows (format 2)', () => {
    const plain = [done(7, { ok: [1, 2] }), done(8, 'x')]
    const plainRecord = encodeBatch(plain)
    expect([plainRecord[1], plainRecord[2]]).toEqual([3, 0]) // format 3, no flags
    expect(decodeBatch(plainRecord, 7)).toEqual(plain)
    const tricky = makeBatch(7, 4)
    const record = encodeBatch(tricky)
    expect([record[1], record[2]]).toEqual([3, 0])
    for (const back of [decodeBatch(record, 7), decodeBatch(asRows(record, tricky), 7)]) {
      expect(back).toEqual(tricky)
      expect((back[2] as Extract<WharfEvent, { type: 'job.done' }>).result).toEqual({ at: new Date(1_009), $ref: 9 })
    }
    expect(asRows(record, tricky)[2]).toBe(1) // format 2 needed tagged JSON for them
  })

  it('writes a batch holding a value binary does not (toJSON, a class instance) as tagged JSON rows, as JSON keeps it', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const odd = [done(3, { when: { toJSON: () => 'noon' }, at: new Date(2) }), done(4, [new Point(1), -0])]
    const record = encodeBatch(odd)
    expect([record[1], record[2]]).toEqual([2, 1]) // JSON rows, tagged (the Date, -0)
    expect(decodeBatch(record, 3)).toEqual([done(3, { when: 'noon', at: new Date(2) }), done(4, [{ x: 1 }, -0])])
    expect(Object.is((decodeBatch(record, 3)[1] as { result: unknown[] }).result[1], -0)).toBe(true)
  })

  it('refuses to encode an empty batch or one whose seqs are not consecutive', () => {
    expect(() => encodeBatch([])).toThrow(AssertionError)
    expect(() => encodeBatch([done(1, null), done(3, null)])).toThrow(/not consecutive/)
  })

  it('detects every flipped bit anywhere in a record', () => {
    const record = encodeBatch([done(41, { x: 'y' }), done(42, [new Date(3)])])
    for (let i = 0; i < record.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(record)
        damaged[i]! ^= 1 << bit
        expect(corruption(() => decodeBatch(damaged, 41)).seq).toBe(41)
      }
    }
  })

  it('detects truncation, extra bytes, and a record stored under the wrong key', () => {
    const record = encodeBatch([done(5, 1)])
    expect(corruption(() => decodeBatch(record.subarray(0, record.length - 1), 5)).message).toMatch(/truncated/)
    expect(corruption(() => decodeBatch(record.subarray(0, 10), 5)).message).toMatch(/shorter than the 32-byte header/)
    expect(corruption(() => decodeBatch(Buffer.concat([record, Buffer.from('x')]), 5)).seq).toBe(5)
    const moved = corruption(() => decodeBatch(record, 6, '/data/jobs'))
    expect(moved.seq).toBe(6)
    expect(moved.message).toBe('corrupt event log record at seq 6 in "/data/jobs": record holds seq 5, its key says 6')
    // Under a lower key too: a reader that starts at that key has no earlier record to compare with.
    expect(corruption(() => decodeBatch(record, 4)).message).toMatch(/record holds seq 5, its key says 4/)
  })

  it('detects a well-sealed record whose content is wrong', () => {
    const record = encodeBatch([done(5, 1), done(6, 2)])
    // Format 1 (named events, written before 0.2) is still read: its damage is caught too.
    const v1 = (events: unknown[], patch?: (h: Buffer) => void) => reseal(record, JSON.stringify(events), (h) => ((h[1] = 1), (h[3] = 0), patch?.(h)))
    // So is format 2 (JSON rows, written by 0.2).
    const v2 = (body: string, patch?: (h: Buffer) => void) => reseal(record, body, (h) => ((h[1] = 2), patch?.(h)))
    // Format 3: the binary body of done(5, 1), done(6, 2) is [code 4, at 5 (zigzag 10, + 2), uuid
    // "u" (header 4 × 1 + 2, 'u'), result 1 (0x80 + 1), manual 0], then [4, at + 0, "u", 2, 0].
    const body = record.subarray(HEADER_BYTES)
    expect([...body]).toEqual([4, 12, 6, 0x75, 0x81, 0, 4, 2, 6, 0x75, 0x82, 0])
    const second = [4, 2, 6, 0x75, 0x82, 0]
    const v3 = (bytes: number[]) => resealBytes(record, bytes)
    const cases: [string, Buffer, RegExp][] = [
      ['bad JSON', v2('[[4,5'), /unreadable body/],
      ['not an array', v2('{"seq":5}'), /not an array of 2 events/],
      ['not a row', v2('[[4,5,"u",1,0],{"seq":6}]'), /seq 6 .*event 1 is not a row/],
      ['unknown type', v2('[[4,5,"u",1,0],[99,0,"u"]]'), /event 1 has unknown event type code 99/],
      ['short row', v2('[[4,5,"u",1,0],[4,0,"u"]]'), /event 1 is a job.done row of 1 fields, not 3/],
      ['count', reseal(record, null, (h) => h.writeUInt32BE(3, 20)), /do not match 3 events/],
      ['future record format', reseal(record, null, (h) => (h[1] = 4)), /record format 4 is written by a newer Wharf/],
      ['future event', reseal(record, null, (h) => (h[3] = 9)), /seq 5 has format v9, newer than this build/],
      ['stray tag', v2('[[4,5,"u",{"$when":1},0],[4,0,"u",2,0]]', (h) => (h[2] = 1)), /unknown tag/],
      ['binary: flags', reseal(record, null, (h) => (h[2] = 1)), /format 3 record with flags 1/],
      ['binary: unknown type', v3([4, 12, 6, 0x75, 0x81, 0, 99, 2, 6, 0x75, 0x82, 0]), /seq 6 .*event 1 has unknown event type code 99/],
      ['binary: ends early', v3([...body.subarray(0, body.length - 1)]), /seq 6 .*event 1 ends inside an event/],
      ['binary: bytes after', v3([...body, 0]), /seq 6 .*event 1 has 1 bytes after its last/],
      ['binary: no table entry', v3([4, 12, 6, 0x75, 5, 3, 0, ...second]), /seq 5 .*event 0 refers to string 1 of a table of 0/],
      ['binary: a reference for an id', v3([4, 12, 1, 0x81, 0, ...second]), /seq 5 .*event 0 refers to the table where a string is written in full/],
      ['binary: string past the end', v3([4, 12, 6, 0x75, 0x81, 0, 4, 2, 0x7e, 0x75, 0x82, 0]), /seq 6 .*string running past its end/],
      ['binary: null uuid', v3([4, 12, 0, 0x81, 0, ...second]), /seq 5 .*event 0 has null where a string must be/],
      ['binary: unknown value tag', v3([4, 12, 6, 0x75, 0x7f, 0, ...second]), /seq 5 .*unknown value tag 127/],
      ['binary: flag', v3([4, 12, 6, 0x75, 0x81, 2, ...second]), /seq 5 .*has flag 2/],
      ['binary: huge array', v3([4, 12, 6, 0x75, 6, 0xff, 0xff, 0x7f, 0, ...second]), /seq 5 .*an array of 2097151 values in/],
      ['binary: endless number', v3([4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 6, 0x75, 0x81, 0]), /seq 5 .*more bytes than any written/],
      ['kind', reseal(record, null, (h) => (h[0] = 0x53)), /record kind 0x53/],
      ['v1: seq inside', v1([done(5, 1), done(7, 2)]), /event 1 should have seq 6/],
      ['v1: future event', v1([done(5, 1), { ...done(6, 2), v: 9 }]), /seq 6 has format v9, newer than this build/],
    ]
    for (const [name, damaged, message] of cases) {
      const error = corruption(() => decodeBatch(damaged, 5, '/p'))
      expect(error.message, name).toMatch(message)
      expect(error.message, name).toContain('"/p"')
    }
  })

  it('round-trips one event of every type, with the times in any order', () => {
    const spec = makeBatch(1, 1)[0] as Extract<WharfEvent, { type: 'job.created' }>
    const base = (seq: number, at: number) => ({ seq, v: 1 as const, at })
    const view = { uuid: 'v', state: 'done', args: [new Date(4)] } as unknown as JobView
    const all: WharfEvent[] = [
      { ...base(1, 10), type: 'job.created', job: { ...spec.job, description: 'custom', createdAt: 3 } },
      { ...base(2, 10), type: 'job.created', job: { ...spec.job, uuid: 'w', description: `${spec.job.model}.${spec.job.method}` } },
      { ...base(3, 9), type: 'job.eta_reached', uuid: 'u' },
      { ...base(4, 12), type: 'job.enqueued', uuid: 'u' },
      { ...base(5, 12), type: 'job.started', uuid: 'u' },
      { ...base(6, 13), type: 'job.done', uuid: 'u', result: { r: [1] }, manual: true },
      { ...base(7, 13), type: 'job.postponed', uuid: 'u', eta: 99, message: 'later', retryAdjust: -1 },
      { ...base(8, 13), type: 'job.failed', uuid: 'u', excName: 'E', excMessage: 'm', excInfo: 'tb' },
      { ...base(9, 14), type: 'job.cancelled', uuid: 'u', cascade: ['a', 'b'] },
      { ...base(10, 14), type: 'job.requeued', uuid: 'u' },
      { ...base(11, 14), type: 'job.joined_graph', uuid: 'u', graphUuid: 'g', dependsOn: ['p'] },
      { ...base(12, 14), type: 'job.recovered', uuid: 'u', dead: true },
      { ...base(13, 14), type: 'job.run_released', uuid: 'u', run: 3 },
      { ...base(14, 2), type: 'jobs.restored', jobs: [view] },
      { ...base(15, 14), type: 'jobs.vacuumed', uuids: ['x', 'y'] },
      { ...base(16, 14), type: 'channel.paused', channel: 'root.a' },
      { ...base(17, 15), type: 'channel.resumed', channel: 'root.a' },
      { ...base(18, 15), type: 'jobs.removed', memory: ['f'], history: ['x', 'y'] },
      { ...base(19, 15), type: 'job.progressed', uuid: 'u', run: 2, fraction: 0.5, message: null },
      // Batches: the onDone specs are rows like job.created's (a custom description, a Date in args).
      { ...base(20, 16), type: 'batch.created', uuid: 'b', name: 'import', jobs: ['u', 'w'], onDone: [{ ...spec.job, uuid: 'o', args: [new Date(5)], description: 'then', createdAt: 16 }] },
      { ...base(21, 16), type: 'batch.created', uuid: 'c', name: 'no onDone', jobs: ['x'], onDone: null },
      { ...base(22, 17), type: 'batch.done', uuid: 'b', onDone: true },
      { ...base(23, 17), type: 'batch.done', uuid: 'c', onDone: false },
      { ...base(24, 18), type: 'batches.trimmed', batches: [['b', 2, 0], ['c', 0, 1]] },
    ]
    expect(new Set(all.map((e) => e.type)).size).toBe(21)
    const record = encodeBatch(all)
    expect(record[1]).toBe(3)
    expect(decodeBatch(record, 1)).toEqual(all)
    expect(decodeBatch(asRows(record, all), 1)).toEqual(all)
  })

  it('keeps any text (UTF-16 for what Latin-1 cannot hold, a lone surrogate too) and any number, at any size', () => {
    const awkward = ['quote " backslash \\ \n \x00 \x7f', 'café ÿ', 'é ✓ 😀 \u2028', '\ud800 lone', '', 'x'.repeat(64), 'y'.repeat(65), '01KJSGGVE00VE58ZF27X61Z49M']
    const numbers = [0, -0, 1, -1, 127, 128, -128, 1.5, -2.25, 2 ** 31, -(2 ** 31) - 1, 2 ** 50 - 1, -(2 ** 50) + 1, 2 ** 50, 2 ** 53 + 2, -(2 ** 60), 1e21, 5e-7, NaN, Infinity, -Infinity]
    const created = makeBatch(1, 1)[0] as Extract<WharfEvent, { type: 'job.created' }>
    const events: WharfEvent[] = [
      { ...created, job: { ...created.job, args: [...awkward, { k: awkward }, numbers], context: { tz: 'Europe/Brussels', é: awkward } } },
      done(2, { awkward, numbers, nested: [[{ a: [null, true, false, undefined] }]], gone: undefined, again: awkward }),
      { seq: 3, v: 1, at: -(2 ** 40), type: 'job.failed', uuid: awkward[2]!, excName: awkward[0]!, excMessage: awkward[3]!, excInfo: awkward[6]! },
      { seq: 4, v: 1, at: 2 ** 45 + 0.5, type: 'job.postponed', uuid: awkward[7]!, eta: 2 ** 53, message: awkward[1]!, retryAdjust: -1 },
    ]
    const record = encodeBatch(events)
    expect(record[1]).toBe(3)
    const back = decodeBatch(record, 1)
    // As JSON would give them back, but for what tagged JSON kept too (-0, NaN, Infinity).
    const job = (back[0] as Extract<WharfEvent, { type: 'job.created' }>).job
    expect(job.args).toEqual([...awkward, { k: awkward }, numbers])
    expect(Object.is((job.args[awkward.length + 1] as number[])[1], -0)).toBe(true)
    expect((back[1] as { result: unknown }).result).toEqual({ awkward, numbers, nested: [[{ a: [null, true, false, null] }]], again: awkward })
    expect(Object.keys((back[1] as { result: object }).result)).toEqual(['awkward', 'numbers', 'nested', 'again'])
    expect(back.slice(2)).toEqual(events.slice(2))
    // Past the writer's first buffer and past what it keeps, then small again.
    for (const size of [5_000, 300_000, 10]) {
      const big = [done(1, 'x'.repeat(size)), done(2, { k: 'é'.repeat(size), l: '✓'.repeat(size) })]
      expect(decodeBatch(encodeBatch(big), 1)).toEqual(big)
    }
  })

  it('keeps every key as data, and a repeated key or name as a reference to its first time, an id in full', () => {
    const keys = JSON.parse('{"__proto__": {"$x": 1}, "$date": 2, "$$y": [3], "2": "two", "1": "one", "": 0}') as object
    const record = encodeBatch([done(1, keys)])
    const back = (decodeBatch(record, 1)[0] as { result: object }).result as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')!.value).toEqual({ $x: 1 })
    expect(Object.keys(back)).toEqual(Object.keys(keys))
    const uuid = '01KJSGGVE00VE58ZF27X61Z49M'
    const lifecycle = (seq: number): WharfEvent[] => [
      { seq, v: 1, at: 1_795_987_124_003, type: 'job.enqueued', uuid },
      { seq: seq + 1, v: 1, at: 1_795_987_124_003, type: 'job.started', uuid },
      { seq: seq + 2, v: 1, at: 1_795_987_124_004, type: 'job.done', uuid, result: null, manual: false },
    ]
    // enqueued: code, at (6 bytes from 0), the uuid's header and text; started: code, at, uuid, no
    // node; done: code, at, uuid, result, manual.
    expect(encodeBatch(lifecycle(1)).length - HEADER_BYTES).toBe(1 + 6 + 27 + (1 + 1 + 27 + 1) + (1 + 1 + 27 + 1 + 1))
    // A key met again is one byte (a reference), where a new one is its header and text.
    const size = (result: unknown) => encodeBatch([done(1, result)]).length
    expect(size([{ kex: 1 }, { key: 2 }]) - size([{ key: 1 }, { key: 2 }])).toBe(3)
  })

  it('reads a job without context as one frozen empty context, like the API stores it, and any other context as written', () => {
    const { job } = makeBatch(1, 1)[0] as Extract<WharfEvent, { type: 'job.created' }>
    const events: WharfEvent[] = [
      { seq: 1, v: 1, at: 100, type: 'job.created', job: { ...job, uuid: 'a', context: {} } },
      { seq: 2, v: 1, at: 100, type: 'job.created', job: { ...job, uuid: 'b', context: {} } },
      { seq: 3, v: 1, at: 100, type: 'job.created', job: { ...job, uuid: 'c', context: { tz: 'UTC' } } },
    ]
    const [a, b, c] = decodeBatch(encodeBatch(events), 1) as Extract<WharfEvent, { type: 'job.created' }>[]
    expect(a!.job.context).toEqual({})
    expect(Object.isFrozen(a!.job.context)).toBe(true)
    expect(b!.job.context).toBe(a!.job.context)
    expect(c!.job.context).toEqual({ tz: 'UTC' })
  })

  it('writes batch events with codes 22 to 24 (after the crons\' 18 to 21), and refuses events of an unknown code', () => {
    const events: WharfEvent[] = [
      { seq: 1, v: 1, at: 5, type: 'batch.done', uuid: 'b', onDone: false },
      { seq: 2, v: 1, at: 5, type: 'batches.trimmed', batches: [['b', 1, 0]] },
    ]
    const bytes = encodeBatch(events)
    const rows = events.map((e) => toRow(e, 0))
    expect(rows.map((r) => r[0])).toEqual([23, 24])
    expect(bytes[HEADER_BYTES]).toBe(23)
    for (const code of [25, 99]) {
      const reserved = reseal(bytes, JSON.stringify([[code, 5, 'b'], rows[1]]), (h) => (h[1] = 2))
      expect(corruption(() => decodeBatch(reserved, 1)).message).toMatch(new RegExp(`unknown event type code ${code}`))
      const binary = resealBytes(bytes, [code, ...bytes.subarray(HEADER_BYTES + 1)])
      expect(corruption(() => decodeBatch(binary, 1)).message).toMatch(new RegExp(`event 0 has unknown event type code ${code}`))
    }
  })

  it('reads records of format 1 (named events), and writes binary a third of their size', () => {
    const events = makeBatch(7, 4)
    const named = JSON.stringify(tag(events))
    const v1 = reseal(encodeBatch(events), named, (h) => ((h[1] = 1), (h[2] = 1), (h[3] = 0)))
    expect(decodeBatch(v1, 7)).toEqual(events)
    const started = Array.from({ length: 16 }, (_, i): WharfEvent => ({ seq: 1 + i, v: 1, at: 1_795_987_124_003, type: 'job.started', uuid: `01M8MJSBRSZ7324C4V313RY${String(i).padStart(3, '0')}` }))
    const rows = encodeBatch(started)
    expect(rows[1]).toBe(3)
    expect(rows.length - HEADER_BYTES).toBeLessThan(JSON.stringify(started).length / 3)
    expect(decodeBatch(rows, 1)).toEqual(started)
  })

  it('computes the same CRC32 without zlib.crc32 (Node before 20.15)', () => {
    const data = encodeBatch(makeBatch(1, 5))
    expect(crc32Portable(data)).toBe(zlib.crc32(data))
    expect(crc32Portable(data.subarray(9), crc32Portable(data.subarray(0, 9)))).toBe(zlib.crc32(data))
  })

  it('gives zlib.crc32 for short and long inputs, continued or not, and for text in UTF-8', () => {
    const long = encodeBatch(makeBatch(1, 200))
    expect(long.length).toBeGreaterThan(1500)
    for (const data of [new Uint8Array(0), long.subarray(0, 100), long.subarray(0, 511), long.subarray(0, 512), long]) {
      expect(crc32(data)).toBe(zlib.crc32(data))
      expect(crc32(data, 0x1234abcd)).toBe(zlib.crc32(data, 0x1234abcd))
    }
    expect(crc32(long.subarray(700), crc32(long.subarray(0, 700)))).toBe(zlib.crc32(long))
    for (const start of [0, 5, long.length - 600, long.length - 10, long.length]) expect(crc32From(long, start, 7)).toBe(zlib.crc32(long.subarray(start), 7))
    for (const text of ['01KJSGGVE00VE58ZF27X61Z49M', '', 'job-é-✓-😀', 'a\x00b']) {
      expect(crc32Text(text)).toBe(zlib.crc32(Buffer.from(text, 'utf8')))
      expect(crc32Text(text, 99)).toBe(zlib.crc32(Buffer.from(text, 'utf8'), 99))
    }
  })
})

describe('snapshot records', () => {
  it('round-trip a state with Dates and tag-like keys', () => {
    const state = { jobs: [{ args: [new Date(9), { $date: 'not a date' }], throttleUntil: Infinity }], identity: [['k', ['u']]] }
    expect(decodeSnapshot(encodeSnapshot({ seq: 12, formatVersion: 2, state }))).toEqual({ seq: 12, formatVersion: 2, state })
    expect(decodeSnapshot(encodeSnapshot({ seq: 0, formatVersion: 1, state: null }))).toEqual({ seq: 0, formatVersion: 1, state: null })
  })

  it('are not batches, and damage names the snapshot seq', () => {
    const bytes = encodeSnapshot({ seq: 12, formatVersion: 1, state: { a: 'b' } })
    expect(corruption(() => decodeBatch(bytes, 12)).message).toMatch(/record kind/)
    const damaged = Buffer.from(bytes)
    damaged[damaged.length - 3]! ^= 4
    const error = corruption(() => decodeSnapshot(damaged, '/p'))
    expect(error.seq).toBe(12)
    expect(error.message).toMatch(/^corrupt snapshot at seq 12 in "\/p": checksum mismatch/)
  })
})

describe('upcasting', () => {
  // A fake past: v0 called the done event 'job.finished' and its result 'output'.
  const v0ToV1 = (e: RawEvent): RawEvent => {
    if (e.type !== 'job.finished') return { ...e, v: 1 }
    const { output, ...rest } = e
    return { ...rest, v: 1, type: 'job.done', result: output, manual: false }
  }
  const upcast = createUpcaster({ 0: v0ToV1 }, 1)

  it('maps an old event through the table, and returns a current one as it is', () => {
    const old: RawEvent = { seq: 3, v: 0, at: 5, type: 'job.finished', uuid: 'u', output: [1] }
    expect(upcast(old)).toEqual({ seq: 3, v: 1, at: 5, type: 'job.done', uuid: 'u', result: [1], manual: false })
    const current = done(4, null)
    expect(upcast(current as unknown as RawEvent)).toBe(current)
    expect(upcastEvent(current as unknown as RawEvent)).toBe(current) // v1 -> v1: identity today
  })

  it('chains steps, one entry per version', () => {
    const twoSteps = createUpcaster({ 0: v0ToV1, 1: (e) => ({ ...e, v: 2, migrated: true }) }, 2)
    expect(twoSteps({ seq: 1, v: 0, at: 0, type: 'job.started', uuid: 'u' })).toEqual({ seq: 1, v: 2, at: 0, type: 'job.started', uuid: 'u', migrated: true })
  })

  it('refuses versions it has no step for, and versions from the future', () => {
    expect(corruption(() => upcastEvent({ seq: 8, v: 0, type: 'job.started' })).message).toMatch(/seq 8 has format v0, and no upcaster reads it/)
    expect(corruption(() => upcast({ seq: 8, v: 2, type: 'job.started' })).seq).toBe(8)
    expect(() => createUpcaster({ 0: (e) => ({ ...e, v: 5 }) }, 1)({ seq: 1, v: 0, type: 'x' })).toThrow(AssertionError)
  })

  it('is applied by decodeBatch to stored events of an old version', () => {
    const v1 = reseal(encodeBatch([done(5, 1)]), JSON.stringify([{ ...done(5, 1), v: 0 }]), (h) => (h[1] = 1))
    expect(corruption(() => decodeBatch(v1, 5)).message).toMatch(/seq 5 has format v0/)
    const rows = reseal(encodeBatch([done(5, 1)]), null, (h) => (h[3] = 0))
    expect(corruption(() => decodeBatch(rows, 5)).message).toMatch(/seq 5 has format v0/)
  })
})
