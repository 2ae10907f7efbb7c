// Proves the read API of 0.2: job(), jobs() and graph() are async, read committed state only (a
// read made while a batch is in flight waits for it, and never sees what a failed append held),
// page by cursor in creation order, and refuse unknown or bad query keys by name.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, InvalidPropertyError, MemoryLog, Wharf, WharfClosedError, chain, group } from '../../src/index.js'
import { failure, FlakyLog } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close()
})

async function setup(log = new MemoryLog()) {
  let n = 0
  const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1', newId: () => `job-${String(++n).padStart(4, '0')}` })
  opened.push(wharf)
  const m = wharf.model('test.reads', {
    run(_x: unknown) {
      return 'ok'
    },
  })
  return { wharf, m }
}

describe('jobs() queries', () => {
  it.each([
    [{ stat: 'done' }, /unknown query key "stat"/],
    [{ state: 'finished' }, /unknown state "finished"/],
    [{ limit: 0 }, /limit must be an integer from 1 to 10000, got 0/],
    [{ limit: 10_001 }, /got 10001/],
    [{ limit: 2.5 }, /got 2.5/],
    [{ order: 'newest' }, /order must be 'asc' or 'desc', got "newest"/],
    [{ after: 42 }, /after must be a non-empty string, got 42/],
    [{ channel: 'root..b' }, /channel/],
    // An empty channel names the default channel in a job's properties (queue_job); as a filter it
    // silently narrowed the page to root's jobs, where every other empty filter is refused.
    [{ channel: '' }, /channel must be a non-empty channel name, got ""/],
    [{ channel: '  ' }, /channel must be a non-empty channel name, got "  "/],
  ])('refuses %j with InvalidPropertyError naming it', async (query, message) => {
    const { wharf } = await setup()
    const error = await failure(() => wharf.jobs(query as never))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toMatch(message)
  })

  it('pages by cursor in creation order, ascending and descending, with filters', async () => {
    const { wharf, m } = await setup()
    const made = []
    for (let i = 0; i < 25; i++) made.push(await m.withDelay({ identityKey: i % 5 === 0 ? `k${i}` : null }).run(i))
    const all = made.map((j) => j.uuid)
    const pages = async (order: 'asc' | 'desc', extra: Record<string, unknown> = {}) => {
      const seen: string[] = []
      for (;;) {
        const page = await wharf.jobs({ limit: 10, order, ...extra, ...(seen.length > 0 ? { after: seen.at(-1) } : {}) })
        seen.push(...page.map((j) => j.uuid))
        if (page.length < 10) return seen
      }
    }
    expect(await pages('asc')).toEqual(all)
    expect(await pages('desc')).toEqual([...all].reverse())
    expect(await pages('asc', { identityKey: 'k10' })).toEqual([all[10]])
    expect((await wharf.jobs({ state: 'pending', limit: 3, order: 'desc' })).map((j) => j.uuid)).toEqual([all[24], all[23], all[22]])
    expect(await wharf.jobs({ after: all[24] })).toEqual([])
  })

  it('pages in uuid order whatever order the jobs were made in (a newId that is not monotonic)', async () => {
    // A page keeps only its best hits as it scans, cut each time they reach twice its limit: jobs
    // made out of uuid order must still come in order, none skipped or repeated across pages.
    const ids = Array.from({ length: 60 }, (_, i) => `id-${String((i * 37) % 60).padStart(2, '0')}`)
    const wharf = await Wharf.open({ log: new MemoryLog(), clock: new FakeClock(), channels: 'root:1', newId: () => ids.shift()! })
    opened.push(wharf)
    const m = wharf.model('test.reads', { run: (_x: unknown) => 'ok' })
    for (let i = 0; i < 60; i++) await m.withDelay().run(i)
    const sorted = Array.from({ length: 60 }, (_, i) => `id-${String(i).padStart(2, '0')}`)
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = []
      for (;;) {
        const page = await wharf.jobs({ limit: 7, order, ...(seen.length > 0 ? { after: seen.at(-1) } : {}) })
        seen.push(...page.map((j) => j.uuid))
        if (page.length < 7) break
      }
      expect(seen).toEqual(order === 'asc' ? sorted : [...sorted].reverse())
    }
  })

  it('graph() gives every job of a graph and its edges; an unknown graph is empty', async () => {
    const { wharf, m } = await setup()
    const a = m.delayable().run('a')
    const b = m.delayable().run('b')
    const c = m.delayable().run('c')
    await chain(a, group(b, c)).delay()
    const graph = await wharf.graph(a.job!.graphUuid!)
    expect(graph.jobs.map((j) => j.args[0])).toEqual(['a', 'b', 'c'])
    expect(graph.edges.sort()).toEqual([
      [a.job!.uuid, b.job!.uuid],
      [a.job!.uuid, c.job!.uuid],
    ])
    expect(await wharf.graph('no-such-graph')).toEqual({ jobs: [], edges: [] })
    expect(await failure(() => wharf.graph(''))).toBeInstanceOf(InvalidPropertyError)
  })

  it('after close(), reads reject with WharfClosedError', async () => {
    const { wharf } = await setup()
    await wharf.close()
    for (const read of [() => wharf.job('x'), () => wharf.jobs(), () => wharf.graph('g')]) {
      expect(await failure(read)).toBeInstanceOf(WharfClosedError)
    }
  })
})

describe('committed reads', () => {
  it('a read made while a batch is in flight answers once it is durable, and sees it', async () => {
    const log = new FlakyLog(new MemoryLog())
    const { wharf, m } = await setup(log as never)
    const gate = log.hold()
    const stored = m.withDelay().run(1)
    await gate.entered
    let answered = false
    const read = wharf.job('job-0001').then((view) => ((answered = true), view))
    await new Promise((resolve) => setImmediate(resolve))
    expect(answered).toBe(false)
    gate.release()
    expect((await read)?.state).toBe('pending')
    expect((await stored).uuid).toBe('job-0001')
  })

  it('no reader ever sees what a failed append held', async () => {
    const log = new FlakyLog(new MemoryLog())
    const { wharf, m } = await setup(log as never)
    await m.withDelay().run('kept')
    const gate = log.hold()
    const lost = m.withDelay().run('lost')
    const requeue = wharf.cancel('job-0001')
    await gate.entered
    const reads = Promise.all([wharf.job('job-0002'), wharf.jobs(), wharf.job('job-0001'), wharf.graph('g')])
    gate.release(new Error('disk hiccup'))
    expect(await failure(() => lost)).toMatchObject({ message: 'disk hiccup' })
    expect(await failure(() => requeue)).toMatchObject({ message: 'disk hiccup' })
    const [second, all, first] = await reads
    expect(second).toBeUndefined()
    expect(all.map((j) => [j.uuid, j.state])).toEqual([['job-0001', 'pending']])
    expect(first?.state).toBe('pending')
    expect(wharf.stats().states.pending).toBe(1)
  })
})
