// Proves a page of finished jobs on LevelDB costs what the query needs, not what the number of
// combos (channel, model, method) is: an app with a channel per tenant has thousands, and a page
// of done jobs read one composite-index range of each (at 20,000 combos, 2.9 s a page). Cost is
// counted in LevelDB iterators opened (deterministic), not in time: combos the counts say are
// empty in the queried state are skipped, a channel's combos are found without the others, and a
// query matching much of history walks the views in order, reading ranges only for what the walk
// within its budget did not reach. Every page is checked against the filtered full listing.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClassicLevel } from 'classic-level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LevelLog, Wharf, type JobView } from '../../src/index.js'

type Db = ClassicLevel<string, Uint8Array>

const TENANTS = 120
let dir: string
let wharf: Wharf
let db: Db
let all: JobView[] = []
let opened = 0

/** Iterators the call opens on the store (keys() and iterator() alike). */
async function iteratorsOf<T>(call: () => Promise<T>): Promise<{ value: T; iterators: number }> {
  const before = opened
  const value = await call()
  return { value, iterators: opened - before }
}

/** Every page of `query`, followed by its cursor, against the full listing filtered alike. */
async function pagesAgree(query: Parameters<Wharf['jobs']>[0] & object, expected: JobView[]): Promise<void> {
  const got: string[] = []
  let after: string | undefined
  for (;;) {
    const page = await wharf.jobs({ ...query, ...(after === undefined ? {} : { after }) })
    got.push(...page.map((j) => j.uuid))
    if (page.length < (query.limit ?? 1000)) break
    after = page.at(-1)!.uuid
  }
  expect(got).toEqual(expected.map((j) => j.uuid))
}

describe('a page of finished jobs among many combos', () => {
  beforeAll(async () => {
    // Tenants' jobs first (one done job each in its own channel), then 300 of m.other in root,
    // then 8 of m.late in each of root.p0 … root.p7, and two cancelled jobs in root.t7.
    dir = await mkdtemp(join(tmpdir(), 'wharf-combos-'))
    const log = new LevelLog(join(dir, 'jobs'))
    wharf = await Wharf.open({ log, channels: 'root:8', snapshotEvery: 0 })
    const m = wharf.model('m', { tenant: (n: number) => n, other: (n: number) => n, late: (n: number) => n })
    await wharf.delayMany(Array.from({ length: TENANTS }, (_, i) => m.delayable({ channel: `root.t${i}` }).tenant(i)))
    await wharf.delayMany(Array.from({ length: 300 }, (_, i) => m.delayable().other(i)))
    await wharf.delayMany(Array.from({ length: 64 }, (_, i) => m.delayable({ channel: `root.p${i % 8}` }).late(i)))
    const cancelled = [await m.withDelay({ channel: 'root.t7', eta: 3_600 }).tenant(-1), await m.withDelay({ channel: 'root.t7', eta: 3_600 }).tenant(-2)]
    for (const job of cancelled) await wharf.cancel(job.uuid)
    await wharf.start()
    await wharf.drain()
    all = await wharf.jobs({})
    expect(all).toHaveLength(TENANTS + 300 + 64 + 2)
    db = (log as unknown as { db: Db }).db
    // keys() opens its iterator through iterator(): counting that counts every iterator once.
    const iterator = db.iterator.bind(db)
    db.iterator = ((...args: Parameters<Db['iterator']>) => (opened++, iterator(...args))) as Db['iterator']
  })
  afterAll(async () => {
    await wharf.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('walks the views for done jobs of every channel instead of a range per combo', async () => {
    const done = all.filter((j) => j.state === 'done')
    const { value, iterators } = await iteratorsOf(() => wharf.jobs({ state: 'done', limit: 10 }))
    expect(value.map((j) => j.uuid)).toEqual(done.slice(0, 10).map((j) => j.uuid))
    expect(iterators).toBe(1)
    const desc = await iteratorsOf(() => wharf.jobs({ state: 'done', limit: 10, order: 'desc' }))
    expect(desc.value.map((j) => j.uuid)).toEqual(done.reverse().slice(0, 10).map((j) => j.uuid))
    expect(desc.iterators).toBe(1)
  })

  it('reads only the combos that hold the state asked for, and only the channel asked for', async () => {
    const cancelled = await iteratorsOf(() => wharf.jobs({ state: 'cancelled' }))
    expect(cancelled.value.map((j) => j.args)).toEqual([[-1], [-2]])
    expect(cancelled.iterators).toBe(1)
    const channel = await iteratorsOf(() => wharf.jobs({ channel: 'root.t7' }))
    expect(channel.value.map((j) => [j.state, j.args])).toEqual([['done', [7]], ['cancelled', [-1]], ['cancelled', [-2]]])
    expect(channel.iterators).toBe(2) // its done and its cancelled range
  })

  it('reads the ranges for what a walk within its budget did not reach', async () => {
    // m.late's jobs come after 420 others in uuid order: its eight ranges give a walk a budget of
    // 256 views, which holds none of them; the ranges then answer from where the walk stopped.
    const late = all.filter((j) => j.method === 'late')
    const { value, iterators } = await iteratorsOf(() => wharf.jobs({ method: 'late', limit: 10 }))
    expect(value.map((j) => j.uuid)).toEqual(late.slice(0, 10).map((j) => j.uuid))
    expect(iterators).toBe(9) // the walk, then the eight done ranges
  })

  it('pages through every filter, both orders, exactly as the full listing filtered', async () => {
    const queries: [Parameters<Wharf['jobs']>[0] & object, (j: JobView) => boolean][] = [
      [{ state: 'done', limit: 7 }, (j) => j.state === 'done'],
      [{ state: 'cancelled', limit: 1 }, (j) => j.state === 'cancelled'],
      [{ method: 'late', limit: 9 }, (j) => j.method === 'late'],
      [{ method: 'tenant', state: 'done', limit: 25 }, (j) => j.method === 'tenant' && j.state === 'done'],
      [{ channel: 'root', limit: 30 }, (j) => j.channel === 'root'],
      [{ channel: 'root.nobody', limit: 5 }, () => false],
    ]
    for (const [query, keep] of queries) {
      await pagesAgree(query, all.filter(keep))
      await pagesAgree({ ...query, order: 'desc' }, all.filter(keep).reverse())
    }
  })
})
