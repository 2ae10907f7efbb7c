// Proves record format 3's binary body against damage a checksum cannot see (a buggy writer's
// record, resealed): seeded batches of every event type and payload shape round-trip, and every
// truncation or byte change of their bodies is a LogCorruptionError naming a seq of the record,
// or a decode — never another error, a hang or a huge allocation. FC_SEED picks the seed.
import * as zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { RecordId, WharfEvent } from '../../src/engine/core/events.js'
import { LogCorruptionError } from '../../src/engine/errors.js'
import { decodeBatch, encodeBatch, HEADER_BYTES } from '../../src/storage/codec.js'
import { Rng } from '../sim/prng.js'
import { makeBatch } from './event-log-contract.js'

const SEED = Number(process.env.FC_SEED ?? 20261201)

function reseal(record: Buffer, body: Uint8Array): Buffer {
  const header = Buffer.from(record.subarray(0, HEADER_BYTES))
  header.writeUInt32BE(body.length, 24)
  header.writeUInt32BE(zlib.crc32(body, zlib.crc32(header.subarray(0, 28))), 28)
  return Buffer.concat([header, body])
}

/** A payload of random shape: nested containers, every kind of number, text and key. */
function payload(rng: Rng, depth = 0): unknown {
  const texts = ['', 'a', 'root.mail', 'é', '✓😀', '\ud800', '$date', '__proto__', 'x'.repeat(70)]
  switch (rng.below(depth > 2 ? 7 : 9)) {
    case 0: return null
    case 1: return rng.chance(0.5)
    case 2: return rng.below(300) - 100
    case 3: return [-0, NaN, Infinity, 1.25, 2 ** 52, -(2 ** 51)][rng.below(6)]
    case 4: return texts[rng.below(texts.length)]
    case 5: return new Date(rng.chance(0.2) ? NaN : rng.below(2 ** 40))
    case 6: return rng.below(10)
    case 7: return Array.from({ length: rng.below(4) }, () => payload(rng, depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      // Own keys, '__proto__' too (as JSON.parse makes them).
      for (let i = rng.below(4); i > 0; i--) Object.defineProperty(o, texts[rng.below(texts.length)]!, { value: payload(rng, depth + 1), enumerable: true, writable: true, configurable: true })
      return o
    }
  }
}

const RECORDS: RecordId[][] = [[1], [1], [2, 300], [-1.5], [1, 'x'], ['x'], []]

/** A batch of `n` events from `first`: lifecycles, failures, progress, cancels, crons, batches. */
function randomBatch(rng: Rng, first: number, n: number): WharfEvent[] {
  const spec = (makeBatch(1, 1)[0] as Extract<WharfEvent, { type: 'job.created' }>).job
  const events: WharfEvent[] = []
  let at = 1_795_987_124_003
  for (let seq = first; seq < first + n; seq++) {
    at += rng.below(5) - 1
    const uuid = `01KJSGGVE00VE58ZF27X61Z4${String(rng.below(20)).padStart(2, '0')}`
    const base = { seq, v: 1 as const, at }
    const kinds: (() => WharfEvent)[] = [
      // Records from a few shapes, so that runs of equal ones are shared (bin-records.ts).
      () => ({ ...base, type: 'job.created', job: { ...spec, uuid, records: RECORDS[rng.below(RECORDS.length)]!, args: [payload(rng)], context: { tz: 'UTC' }, eta: rng.chance(0.5) ? null : at + 5, createdAt: at - rng.below(3) } }),
      () => ({ ...base, type: 'job.enqueued', uuid }),
      () => (rng.chance(0.5) ? { ...base, type: 'job.started', uuid } : { ...base, type: 'job.started', uuid, node: 'w1' }),
      () => ({ ...base, type: 'job.done', uuid, result: payload(rng), manual: rng.chance(0.5) }),
      () => ({ ...base, type: 'job.failed', uuid, excName: 'E', excMessage: 'é ✓', excInfo: 'tb' }),
      () => ({ ...base, type: 'job.progressed', uuid, run: 1, fraction: rng.float(), message: rng.chance(0.5) ? null : 'half' }),
      () => ({ ...base, type: 'job.cancelled', uuid, cascade: [uuid, 'c'] }),
      () => ({ ...base, type: 'cron.fired', name: 'hourly', fired: [at - 1, at], nextMs: rng.chance(0.5) ? null : at + 60 }),
      () => ({ ...base, type: 'batch.created', uuid, name: 'b', jobs: [uuid], onDone: rng.chance(0.5) ? null : [{ ...spec, uuid: 'o', createdAt: at }] }),
    ]
    events.push(kinds[rng.below(kinds.length)]!())
  }
  return events
}

/** decodeBatch's answer: events, or the seq its LogCorruptionError names. Anything else throws. */
function decodeOrSeq(record: Buffer, first: number): WharfEvent[] | number {
  try {
    return decodeBatch(record, first)
  } catch (error) {
    if (!(error instanceof LogCorruptionError)) throw error
    return error.seq!
  }
}

describe('binary records (format 3)', () => {
  it(`round-trip seeded batches of every kind of event and payload (seed ${SEED})`, () => {
    const rng = new Rng(SEED)
    for (let round = 0; round < 200; round++) {
      const events = randomBatch(rng, 1 + round, 1 + rng.below(12))
      const record = encodeBatch(events)
      expect(record[1]).toBe(3)
      // As tagged JSON gives them back: -0, NaN and Dates kept, undefined gone.
      expect(decodeBatch(record, 1 + round)).toEqual(events)
    }
  })

  it('name a seq of the record for every truncation and many byte changes of a body, and never fail otherwise', () => {
    const rng = new Rng(SEED + 1)
    for (let round = 0; round < 40; round++) {
      const first = 100 + round
      const events = randomBatch(rng, first, 2 + rng.below(6))
      const last = first + events.length - 1
      const record = encodeBatch(events)
      const body = record.subarray(HEADER_BYTES)
      for (let cut = 0; cut < body.length; cut++) {
        const seq = decodeOrSeq(reseal(record, body.subarray(0, cut)), first)
        expect(typeof seq === 'number' && seq >= first && seq <= last, `cut at ${cut}`).toBe(true)
      }
      for (let change = 0; change < 200; change++) {
        const damaged = Buffer.from(body)
        damaged[rng.below(damaged.length)] = rng.below(256)
        const answer = decodeOrSeq(reseal(record, damaged), first)
        if (typeof answer === 'number') expect(answer >= first && answer <= last).toBe(true)
        else expect(answer.map((e) => e.seq)).toEqual(events.map((e) => e.seq))
      }
    }
  })

  it('write a payload nested deeper than the binary walk goes as tagged JSON rows, which keep it', () => {
    let deep: unknown = [new Date(1)]
    for (let i = 0; i < 300; i++) deep = [deep]
    const events: WharfEvent[] = [{ seq: 1, v: 1, at: 5, type: 'job.done', uuid: 'u', result: deep, manual: false }]
    const record = encodeBatch(events)
    expect(record[1]).toBe(2)
    expect(decodeBatch(record, 1)).toEqual(events)
  })
})
