// Replayed jobs of one recordset share one frozen records array, as the API's do (bin-records.ts),
// and sharing never hands a job records other than its own: not across records whose string
// tables differ, not for records that differ in a byte.
import { describe, expect, it } from 'vitest'
import type { JobSpec, RecordId, WharfEvent } from '../../src/engine/core/events.js'
import { decodeBatch, encodeBatch } from '../../src/storage/codec.js'

function created(seq: number, records: RecordId[], model = 'res.partner'): WharfEvent {
  const job: JobSpec = {
    uuid: `job-${seq}`, graphUuid: null, model, method: 'send', records, args: [seq], context: {}, priority: 10,
    eta: null, maxRetries: 5, description: `${model}.send`, channel: 'root', identityKey: null, dependsOn: [], createdAt: 1_000,
  }
  return { seq, v: 1, at: 1_000 + seq, type: 'job.created', job }
}

function recordsOf(events: WharfEvent[]): RecordId[][] {
  return events.map((e) => (e as Extract<WharfEvent, { type: 'job.created' }>).job.records)
}

describe('records of replayed jobs', () => {
  it('are one frozen array for a run of equal numeric records, within a record and across records', () => {
    const a = recordsOf(decodeBatch(encodeBatch([created(1, [1]), created(2, [1])]), 1))
    const b = recordsOf(decodeBatch(encodeBatch([created(3, [1]), created(4, [7, 1_000_000])]), 3))
    expect([...a, ...b]).toEqual([[1], [1], [1], [7, 1_000_000]])
    expect(a[1]).toBe(a[0])
    expect(b[0]).toBe(a[0])
    expect(Object.isFrozen(a[0])).toBe(true)
    expect(b[1]).not.toBe(a[0])
    // Shared by no other job: left as read.
    expect(Object.isFrozen(b[1])).toBe(false)
  })

  it('are read again when a byte differs', () => {
    const records = recordsOf(decodeBatch(encodeBatch([created(1, [1, 2]), created(2, [1, 3]), created(3, [1, 2, 3]), created(4, [1, 2])]), 1))
    expect(records).toEqual([[1, 2], [1, 3], [1, 2, 3], [1, 2]])
  })

  it('holding strings are never shared: the same bytes can name another string of another record', () => {
    // The model is the first string each record's table holds, so ['res.partner'] in one record and
    // ['res.users'] in the next are both written as a reference to entry 0: the same bytes.
    const first = recordsOf(decodeBatch(encodeBatch([created(1, ['res.partner'])]), 1))
    const second = recordsOf(decodeBatch(encodeBatch([created(2, ['res.users'], 'res.users')]), 2))
    expect(first).toEqual([['res.partner']])
    expect(second).toEqual([['res.users']])
  })
})
