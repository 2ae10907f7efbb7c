// Proves the finish-time index's scan (autovacuum's candidates) reads nothing when nothing can be
// due: a clock within removeAfterDays of 1970 (a FakeClock started near 0) asks for the jobs
// finished before a negative time. The bound was clamped to 0, so the jobs finished at ms 0 were
// read as candidates — all of that millisecond again for every page (a reopen with 50,000 such
// jobs took 13-25 s) — only to be found not due. And a page checks a page's worth of the jobs
// of one millisecond (all of a tick's finished jobs share it), not all of them again per page.
import { describe, expect, it } from 'vitest'
import { FinishGroups } from '../../src/storage/finish-groups.js'

describe('FinishGroups.scan', () => {
  it('reads nothing for a time before 1970, and the groups up to a time from 0 on', async () => {
    const groups = new FinishGroups()
    const staged = new Map<string, Uint8Array>()
    groups.stagePuts({ put: (key, value) => staged.set(key, value), del: (key) => staged.delete(key) }, [{ uuid: 'a', atMs: 0 }, { uuid: 'b', atMs: 0 }, { uuid: 'c', atMs: 5 }], 1)
    let reads = 0
    const keysFrom = async function* (gte: string, lt: string): AsyncIterable<[string, Uint8Array]> {
      reads++
      for (const [key, value] of [...staged].sort(([x], [y]) => (x < y ? -1 : 1))) if (key >= gte && key < lt) yield [key, value]
    }
    const allCurrent = async (entries: { uuid: string }[]) => entries.map(() => true)
    expect(await groups.scan(keysFrom, -86_400_000, 1000, undefined, allCurrent)).toEqual([])
    expect(reads).toBe(0)
    expect(await groups.scan(keysFrom, 0, 1000, undefined, allCurrent)).toEqual([{ atMs: 0, uuid: 'a' }, { atMs: 0, uuid: 'b' }])
    expect(await groups.scan(keysFrom, 5, 1000, undefined, allCurrent)).toEqual([{ atMs: 0, uuid: 'a' }, { atMs: 0, uuid: 'b' }, { atMs: 5, uuid: 'c' }])
  })

  it('checks a page of one millisecond a page at a time, skipping the entries that are not current', async () => {
    const groups = new FinishGroups()
    const staged = new Map<string, Uint8Array>()
    const uuids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    groups.stagePuts({ put: (key, value) => staged.set(key, value), del: (key) => staged.delete(key) }, uuids.map((uuid) => ({ uuid, atMs: 7 })), 1)
    const keysFrom = async function* (gte: string, lt: string): AsyncIterable<[string, Uint8Array]> {
      for (const [key, value] of staged) if (key >= gte && key < lt) yield [key, value]
    }
    const checked: number[] = []
    const current = async (entries: { uuid: string }[]) => {
      checked.push(entries.length)
      return entries.map((e) => e.uuid !== 'b')
    }
    const first = await groups.scan(keysFrom, 7, 3, undefined, current)
    expect(first.map((e) => e.uuid)).toEqual(['a', 'c', 'd'])
    expect(checked).toEqual([3, 1])
    checked.length = 0
    const second = await groups.scan(keysFrom, 7, 3, first.at(-1), current)
    expect(second.map((e) => e.uuid)).toEqual(['e', 'f', 'g'])
    expect(checked).toEqual([3])
  })

  it('pages through a millisecond of many groups in uuid order, each job once, and a removal cleans every group that lists it', async () => {
    const groups = new FinishGroups()
    const staged = new Map<string, Uint8Array>()
    const batch = { put: (key: string, value: Uint8Array) => staged.set(key, value), del: (key: string) => staged.delete(key) }
    const keysFrom = async function* (gte: string, lt: string): AsyncIterable<[string, Uint8Array]> {
      for (const [key, value] of [...staged].sort(([x], [y]) => (x < y ? -1 : 1))) if (key >= gte && key < lt) yield [key, value]
    }
    const allCurrent = async (entries: { uuid: string }[]) => entries.map(() => true)
    // 40 batches finish 25 jobs each at one millisecond, their uuids interleaved across batches
    // (written in reverse order within a group); then 'u0007' again, alone in a 41st batch
    // (brought back and finished again within the millisecond).
    const id = (n: number) => 'u' + String(n).padStart(4, '0')
    for (let b = 0; b < 40; b++) {
      const jobs = Array.from({ length: 25 }, (_, i) => ({ uuid: id(i * 40 + b), atMs: 9 })).reverse()
      groups.stagePuts(batch, jobs, 100 + b)
    }
    groups.stagePuts(batch, [{ uuid: id(7), atMs: 9 }], 200)
    const seen: string[] = []
    for (let cursor: { atMs: number; uuid: string } | undefined; ; ) {
      const page = await groups.scan(keysFrom, 9, 64, cursor, allCurrent)
      seen.push(...page.map((e) => e.uuid))
      if (page.length < 64) break
      cursor = page.at(-1)
    }
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, n) => id(n)))
    // 'u0007' is listed by the group of batch 7 and by the last one: removing it cleans both.
    groups.stageCleanup(batch, [id(7)])
    const listing = [...staged.values()].filter((value) => Buffer.from(value).toString('utf8').split('\x00').includes(id(7)))
    expect(listing).toEqual([])
    const after = await groups.scan(keysFrom, 9, 2000, undefined, allCurrent)
    expect(after.map((e) => e.uuid)).toEqual(seen.filter((uuid) => uuid !== id(7)))
  })
})
