// Proves queue_job §1.6 graph semantics through the public API: edges of onDone/chain/group/split,
// true entry/exit sets for nested chains (Wharf's fix), graph uuids, dependency release, cancel cascade.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, InvalidGraphError, InvalidPropertyError, Wharf, chain, group } from '../../src/index.js'
import type { JobView } from '../../src/index.js'
import { failure } from './helpers.js'
import { GRAPH_JOBS_MAX } from '../../src/engine/core/limits.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close()
})

/** A Wharf with one model whose jobs are named by their first argument. */
async function setup(channels = 'root:1') {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ channels, clock })
  opened.push(wharf)
  const log: string[] = []
  const failures = new Map<string, number>()
  const m = wharf.model('test.graph', {
    run(name: string) {
      log.push(name)
      return name
    },
    async slow(name: string, ms: number) {
      log.push(`start ${name}`)
      await this.sleep(ms)
      log.push(`end ${name}`)
    },
    /** Fails `times` times (default: always), then succeeds. */
    flaky(name: string) {
      const left = failures.get(name) ?? Infinity
      if (left > 0) {
        failures.set(name, left - 1)
        throw new Error(`boom ${name}`)
      }
      log.push(name)
    },
  })
  const d = (name: string) => m.delayable().run(name)
  return { wharf, clock, log, failures, m, d }
}

const nameOf = (job: JobView): string => String(job.args[0])

/** Every stored edge as 'parent->child', by job name, sorted; checks both directions agree. */
async function edges(wharf: Wharf): Promise<string[]> {
  const all = await wharf.jobs()
  const byUuid = new Map(all.map((j) => [j.uuid, j]))
  const out: string[] = []
  for (const child of all) {
    for (const p of child.dependsOn) {
      const parent = byUuid.get(p)!
      expect(parent.dependents).toContain(child.uuid)
      out.push(`${nameOf(parent)}->${nameOf(child)}`)
    }
  }
  const reverse = all.reduce((n, j) => n + j.dependents.length, 0)
  expect(reverse).toBe(out.length)
  return out.sort()
}

async function stateOf(wharf: Wharf, name: string): Promise<string> {
  const job = (await wharf.jobs()).find((j) => nameOf(j) === name)
  if (job === undefined) throw new Error(`no job named ${name}`)
  return job.state
}

describe('edges', () => {
  it('onDone(b, c) adds a->b and a->c', async () => {
    const { wharf, d } = await setup()
    await d('a').onDone(d('b'), d('c')).delay()
    expect(await edges(wharf)).toEqual(['a->b', 'a->c'])
  })

  it('d1.onDone(d2.onDone(d3)) gives d1 -> d2 -> d3', async () => {
    const { wharf, d } = await setup()
    await d('d1').onDone(d('d2').onDone(d('d3'))).delay()
    expect(await edges(wharf)).toEqual(['d1->d2', 'd2->d3'])
  })

  it('chain links in order; group adds no edges but is one graph', async () => {
    const { wharf, d } = await setup()
    await chain(d('a'), d('b'), d('c')).delay()
    expect(await edges(wharf)).toEqual(['a->b', 'b->c'])
    const g = group(d('x'), d('y'))
    await g.delay()
    const x = (await wharf.jobs()).find((j) => nameOf(j) === 'x')!
    const y = (await wharf.jobs()).find((j) => nameOf(j) === 'y')!
    expect(x.dependsOn).toEqual([])
    expect(y.dependsOn).toEqual([])
    expect(x.graphUuid).not.toBeNull()
    expect(x.graphUuid).toBe(y.graphUuid)
  })

  it('chain(group(a, b), group(c, d)) links every tail of the first to every head of the second', async () => {
    const { wharf, d } = await setup()
    await chain(group(d('a'), d('b')), group(d('c'), d('d'))).delay()
    expect(await edges(wharf)).toEqual(['a->c', 'a->d', 'b->c', 'b->d'])
  })

  it('x.onDone(chain(chain(a, b), c)) gives x->a (queue_job wrongly gives x->b, leaving a a root)', async () => {
    const { wharf, d } = await setup()
    await d('x').onDone(chain(chain(d('a'), d('b')), d('c'))).delay()
    expect(await edges(wharf)).toEqual(['a->b', 'b->c', 'x->a'])
    expect(await stateOf(wharf, 'a')).toBe('wait_dependencies')
  })

  it('group(chain(a, chain(b, c))).onDone(y) gives c->y (queue_job wrongly gives b->y)', async () => {
    const { wharf, d } = await setup()
    await group(chain(d('a'), chain(d('b'), d('c'))))
      .onDone(d('y'))
      .delay()
    expect(await edges(wharf)).toEqual(['a->b', 'b->c', 'c->y'])
  })

  it('chain(a, chain(b, c), y) and group(chain(a, b), chain(c, d)).onDone(y) are wired as in queue_job', async () => {
    const first = await setup()
    await chain(first.d('a'), chain(first.d('b'), first.d('c')), first.d('y')).delay()
    expect(await edges(first.wharf)).toEqual(['a->b', 'b->c', 'c->y'])
    const second = await setup()
    const { d } = second
    await group(chain(d('a'), d('b')), chain(d('c'), d('d')))
      .onDone(d('y'))
      .delay()
    expect(await edges(second.wharf)).toEqual(['a->b', 'b->y', 'c->d', 'd->y'])
  })
})

describe('delay() and graph uuids', () => {
  it('gives one graphUuid per connected graph and null to a single job', async () => {
    const { wharf, m, d } = await setup()
    await chain(d('a'), d('b')).delay()
    await chain(d('c'), d('e')).delay()
    const alone = await m.withDelay().run('alone')
    const single = d('single')
    await single.delay()
    const g = async (name: string) => (await wharf.jobs()).find((j) => nameOf(j) === name)!.graphUuid
    expect(await g('a')).not.toBeNull()
    expect(await g('a')).toBe(await g('b'))
    expect(await g('c')).toBe(await g('e'))
    expect(await g('c')).not.toBe(await g('a'))
    expect(alone.graphUuid).toBeNull()
    expect(single.job!.graphUuid).toBeNull()
    expect((await wharf.jobs({ graphUuid: (await g('a'))! })).map(nameOf).sort()).toEqual(['a', 'b'])
  })

  it('delay() on a middle node stores the whole graph and sets .job on every Delayable', async () => {
    const { wharf, d } = await setup()
    const [a, b, c, x] = [d('a'), d('b'), d('c'), d('x')]
    a.onDone(b)
    b.onDone(c)
    x.onDone(c)
    await b.delay()
    expect(await wharf.jobs()).toHaveLength(4)
    for (const node of [a, b, c, x]) {
      expect(node.job).toBeDefined()
      expect((await wharf.job(node.job!.uuid))!.args).toEqual(node.job!.args)
    }
    expect(c.job!.dependsOn.sort()).toEqual([b.job!.uuid, x.job!.uuid].sort())
    expect(a.job!.state).toBe('pending')
    expect(c.job!.state).toBe('wait_dependencies')
  })

  it('calling delay() twice stores nothing more', async () => {
    const { wharf, d } = await setup()
    const a = d('a')
    const c = chain(a, d('b'))
    await c.delay()
    const first = a.job!.uuid
    await c.delay()
    await a.delay()
    expect(await wharf.jobs()).toHaveLength(2)
    expect(a.job!.uuid).toBe(first)
  })

  it('delay() calls of one graph made before the first resolves store it once', async () => {
    // Each call used to plan the graph while no vertex had its job yet, so each stored it anew.
    const { wharf, m, d } = await setup()
    const [a, b] = [d('a'), d('b')]
    a.onDone(b)
    const lone = d('lone')
    await Promise.all([a.delay(), b.delay(), a.delay(), lone.delay(), lone.delay()])
    expect(await edges(wharf)).toEqual(['a->b'])
    expect((await wharf.jobs()).map(nameOf).sort()).toEqual(['a', 'b', 'lone'])
    expect(b.job!.dependsOn).toEqual([a.job!.uuid])
    // delayMany and batch refuse a delayable whose delay() is in flight, as one already delayed.
    const c = d('c')
    const storing = c.delay()
    for (const store of [() => wharf.delayMany([c]), () => wharf.batch('again', [c])]) {
      const error = await failure(store)
      expect(error).toBeInstanceOf(InvalidGraphError)
      expect((error as Error).message).toMatch(/delayables\[0\]: .*being delayed/)
    }
    await storing
    expect((await wharf.jobs()).map(nameOf).sort()).toEqual(['a', 'b', 'c', 'lone'])
    // A graph that grew while it was being stored is stored as it is now, once that store is done:
    // two lone jobs grouped while delayMany stores them join one graph, as they would after it.
    const [x, y] = [d('x'), d('y')]
    const many = wharf.delayMany([x, y])
    group(x, y)
    await Promise.all([many, x.delay()])
    expect(x.job!.graphUuid).not.toBeNull()
    expect(y.job!.graphUuid).toBe(x.job!.graphUuid)
    // A graph skipped for its identity keys: every call answers as the first, storing nothing.
    const held = await m.delayable({ identityKey: 'k' }).run('held').delay()
    const [k, after] = [m.delayable({ identityKey: 'k' }).run('k'), d('after')]
    k.onDone(after)
    await Promise.all([k.delay(), after.delay()])
    expect(k.job!.uuid).toBe(held.job!.uuid)
    expect(after.job).toBeUndefined()
    expect((await wharf.jobs()).map(nameOf).sort()).toEqual(['a', 'b', 'c', 'held', 'lone', 'x', 'y'])
  })

  it('answers a later delay() of a graph skipped for its identity keys as the first, storing nothing', async () => {
    // The first delay() stored nothing (every keyed job matched); a later one planned again the
    // vertices without a job, and stored the rest of the graph under the matched job.
    const { wharf, m, d } = await setup()
    const held = await m.delayable({ identityKey: 'k' }).run('held').delay()
    const [k, after, last] = [m.delayable({ identityKey: 'k' }).run('k'), d('after'), d('last')]
    chain(k, after, last)
    await after.delay()
    for (const again of [() => after.delay(), () => k.delay(), () => last.delay()]) {
      await again()
      expect(k.job!.uuid).toBe(held.job!.uuid)
      expect(after.job).toBeUndefined()
      expect(last.job).toBeUndefined()
      expect((await wharf.jobs()).map(nameOf)).toEqual(['held'])
    }
    // Skipped by delayMany, likewise.
    const [k2, after2] = [m.delayable({ identityKey: 'k' }).run('k2'), d('after2')]
    k2.onDone(after2)
    expect(await wharf.delayMany([k2])).toEqual([expect.objectContaining({ uuid: held.job!.uuid })])
    await after2.delay()
    expect(after2.job).toBeUndefined()
    expect((await wharf.jobs()).map(nameOf)).toEqual(['held'])
  })

  it('refuses a cycle with InvalidGraphError, storing nothing', async () => {
    const { wharf, d } = await setup()
    const [a, b, c] = [d('a'), d('b'), d('c')]
    a.onDone(b)
    b.onDone(c)
    c.onDone(a)
    const cycle = await failure(() => a.delay())
    expect(cycle).toBeInstanceOf(InvalidGraphError)
    // It names the jobs on the cycle (it said only 'this graph has a cycle'), from any of them.
    const run = (names: string[]) => names.map((n) => `test.graph.run("${n}")`).join(' -> ')
    expect([run(['a', 'b', 'c', 'a']), run(['b', 'c', 'a', 'b']), run(['c', 'a', 'b', 'c'])].map((path) => `this graph has a cycle: a job would wait for itself: ${path}`)).toContain((cycle as Error).message)
    d('x').onDone(b)
    expect((await failure(() => c.delay()) as Error).message).toMatch(/cycle: .*test\.graph\.run\("b"\) -> test\.graph\.run\("c"\)/)
    expect(await failure(() => a.onDone(a))).toBeInstanceOf(InvalidGraphError)
    expect(await wharf.jobs()).toEqual([])
  })

  it('refuses a delayable made to depend on itself before adding any edge or joining any graph', async () => {
    // The self-edge was found while connecting, after the edges before it were added: a.onDone
    // of group(b, a) threw, yet left a -> b, which the next delay() stored.
    const { wharf, d } = await setup()
    const [a, b] = [d('a'), d('b')]
    const pair = group(b, a)
    const [q, r, s] = [d('q'), d('r'), d('s')]
    const rs = group(s, r)
    for (const join of [() => a.onDone(pair), () => pair.onDone(d('x'), a), () => chain(q, r, rs)]) {
      const error = await failure(join)
      expect(error).toBeInstanceOf(InvalidGraphError)
      expect((error as Error).message).toMatch(/cannot depend on itself: test\.graph\.run/)
    }
    await a.delay()
    await q.delay()
    await r.delay()
    expect(await edges(wharf)).toEqual([])
    expect((await wharf.jobs()).map(nameOf).sort()).toEqual(['a', 'b', 'q', 'r', 's'])
    expect(q.job!.graphUuid).toBeNull()
  })

  it('refuses to join delayables of two Wharfs, in a graph and in delayMany or batch, storing nothing', async () => {
    // The graph was stored by the first Wharf, where the other's model has no handler: its job
    // waited for ever, and the other Wharf never saw it.
    const { wharf, d } = await setup()
    const other = await Wharf.open({ channels: 'root:1', clock: new FakeClock() })
    opened.push(other)
    const foreign = () => other.model('test.other', { go: () => 'go' }).delayable().go()
    const theirs = foreign()
    for (const join of [() => chain(d('a'), theirs), () => group(d('a'), theirs), () => d('a').onDone(theirs), () => chain(d('a')).onDone(theirs)]) {
      const error = await failure(join)
      expect(error).toBeInstanceOf(InvalidGraphError)
      expect((error as Error).message).toMatch(/another Wharf/)
    }
    for (const store of [() => wharf.delayMany([d('b'), theirs]), () => wharf.batch('mixed', [theirs])]) {
      const error = await failure(store)
      expect(error).toBeInstanceOf(InvalidGraphError)
      expect((error as Error).message).toContain('delayables[')
    }
    expect(await wharf.jobs()).toEqual([])
    expect(await other.jobs()).toEqual([])
  })

  it('refuses a delayable without a method call with InvalidGraphError, storing nothing', async () => {
    const { wharf, m, d } = await setup()
    const bare = m.browse([1]).delayable()
    const err = await failure(() => chain(d('a'), bare).delay())
    expect(err).toBeInstanceOf(InvalidGraphError)
    expect((err as InvalidGraphError).code).toBe('INVALID_GRAPH')
    expect(await wharf.jobs()).toEqual([])
  })
})

describe('dependencies at run time', () => {
  it('children wait until ALL their parents are done', async () => {
    const { wharf, d } = await setup()
    const [a, b, c] = [d('a'), d('b'), d('c')]
    await group(a, b).onDone(c).delay()
    expect(c.job!.state).toBe('wait_dependencies')
    await wharf.setDone(a.job!.uuid)
    expect((await wharf.job(c.job!.uuid))!.state).toBe('wait_dependencies')
    await wharf.setDone(b.job!.uuid)
    expect((await wharf.job(c.job!.uuid))!.state).toBe('pending')
  })

  it('runs in an order that respects every edge, even with free capacity (root:4)', async () => {
    const { wharf, m, log } = await setup('root:4')
    const s = (name: string, ms: number) => m.delayable().slow(name, ms)
    // Diamond: a -> {b (long), c (short)} -> e ; e must wait for the slow b.
    const [a, b, c, e] = [s('a', 5), s('b', 50), s('c', 1), s('e', 1)]
    await chain(a, group(b, c), e).delay()
    await wharf.start()
    await wharf.drain()
    const at = (entry: string) => log.indexOf(entry)
    expect(log).toHaveLength(8)
    expect(at('end a')).toBeLessThan(Math.min(at('start b'), at('start c')))
    expect(at('start c')).toBeLessThan(at('end b')) // b and c overlap: capacity is not what orders them
    expect(at('end c')).toBeLessThan(at('start e'))
    expect(at('end b')).toBeLessThan(at('start e'))
    expect(await wharf.jobs({ state: 'done' })).toHaveLength(4)
  })

  it('a failed parent holds its children; setDone on it releases them', async () => {
    const { wharf, m, d, log } = await setup()
    const parent = m.delayable().flaky('p')
    const child = d('child')
    await parent.onDone(child).delay()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.job(parent.job!.uuid))!.state).toBe('failed')
    expect((await wharf.job(child.job!.uuid))!.state).toBe('wait_dependencies')
    await wharf.setDone(parent.job!.uuid)
    await wharf.drain()
    expect((await wharf.job(child.job!.uuid))!.state).toBe('done')
    expect(log).toEqual(['child'])
  })

  it('a failed parent that is requeued and succeeds releases its children', async () => {
    const { wharf, m, d, log, failures } = await setup()
    failures.set('p', 1)
    const parent = m.delayable().flaky('p')
    const child = d('child')
    await parent.onDone(child).delay()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.job(parent.job!.uuid))!.state).toBe('failed')
    expect((await wharf.job(child.job!.uuid))!.state).toBe('wait_dependencies')
    await wharf.requeue(parent.job!.uuid)
    await wharf.drain()
    expect((await wharf.job(parent.job!.uuid))!.state).toBe('done')
    expect((await wharf.job(child.job!.uuid))!.state).toBe('done')
    expect(log).toEqual(['p', 'child'])
  })
})

describe('cancel cascade', () => {
  it('cancels every descendant transitively (queue_job stops at direct children)', async () => {
    const { wharf, d } = await setup()
    await chain(d('a'), d('b'), d('c'), group(d('d'), d('e'))).delay()
    await wharf.cancel((await wharf.jobs()).find((j) => nameOf(j) === 'a')!.uuid)
    for (const name of ['a', 'b', 'c', 'd', 'e']) expect(await stateOf(wharf, name)).toBe('cancelled')
  })

  it('keeps a child waiting while one of its parents is not cancelled', async () => {
    const { wharf, d } = await setup()
    const [a, b, c, y, z] = [d('a'), d('b'), d('c'), d('y'), d('z')]
    chain(a, b, c, z)
    y.onDone(c)
    await a.delay()
    await wharf.cancel(a.job!.uuid)
    expect(await stateOf(wharf, 'b')).toBe('cancelled')
    expect(await stateOf(wharf, 'c')).toBe('wait_dependencies')
    expect(await stateOf(wharf, 'z')).toBe('wait_dependencies')
    expect(await stateOf(wharf, 'y')).toBe('pending')
    await wharf.cancel(y.job!.uuid)
    expect(await stateOf(wharf, 'c')).toBe('cancelled')
    expect(await stateOf(wharf, 'z')).toBe('cancelled')
  })
})

describe('split()', () => {
  const ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

  it('cuts 10 ids by 3 into [0,1,2] [3,4,5] [6,7,8] [9], described "base (split i/4)"', async () => {
    const { wharf, m } = await setup()
    await m.browse(ids).delayable({ description: 'base' }).run('x').split(3).delay()
    const jobs = (await wharf.jobs()).sort((a, b) => a.description.localeCompare(b.description))
    expect(jobs.map((j) => j.records)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]])
    expect(jobs.map((j) => j.description)).toEqual([1, 2, 3, 4].map((i) => `base (split ${i}/4)`))
    for (const j of jobs) {
      expect(j.args).toEqual(['x'])
      expect(j.dependsOn).toEqual([])
      expect(j.graphUuid).toBe(jobs[0]!.graphUuid)
    }
  })

  it.each([
    [5, 2],
    [10, 1],
    [20, 1],
  ])('size %i gives %i chunk(s)', async (size, count) => {
    const { wharf, m } = await setup()
    await m.browse(ids).delayable().run('x').split(size).delay()
    const jobs = await wharf.jobs()
    expect(jobs).toHaveLength(count)
    expect(jobs.flatMap((j) => j.records).sort((a, b) => Number(a) - Number(b))).toEqual(ids)
    if (count === 1) expect(jobs[0]!.description).toBe('test.graph.run (split 1/1)')
  })

  it('chain: true links the chunks in order', async () => {
    const { wharf, m } = await setup()
    const parts = m.browse(ids).delayable().run('x').split(4, { chain: true })
    await parts.delay()
    const byDesc = async (i: number) => (await wharf.jobs()).find((j) => j.description.endsWith(`(split ${i}/3)`))!
    expect((await byDesc(1)).dependsOn).toEqual([])
    expect((await byDesc(2)).dependsOn).toEqual([(await byDesc(1)).uuid])
    expect((await byDesc(3)).dependsOn).toEqual([(await byDesc(2)).uuid])
    expect((await byDesc(3)).state).toBe('wait_dependencies')
  })

  it('refuses to split before a method call', async () => {
    const { m } = await setup()
    expect(await failure(() => m.browse(ids).delayable().split(3))).toBeInstanceOf(InvalidGraphError)
  })

  it('refuses a recordset with no ids (queue_job cuts no chunk, and its delay() of that raises), storing nothing', async () => {
    const { wharf, m } = await setup()
    for (const records of [m, m.browse([])]) {
      const err = await failure(() => records.delayable().run('x').split(3))
      expect(err).toBeInstanceOf(InvalidGraphError)
      expect((err as Error).message).toContain('test.graph.run has no records')
    }
    expect(await wharf.jobs()).toEqual([])
  })

  it('refuses chunks past GRAPH_JOBS_MAX when it splits, naming the count, not only when it is delayed', async () => {
    const { m } = await setup()
    const many = Array.from({ length: GRAPH_JOBS_MAX + 1 }, (_, i) => i)
    const err = await failure(() => m.browse(many).delayable().run('x').split(1))
    expect(err).toBeInstanceOf(InvalidGraphError)
    expect((err as Error).message).toContain(`make ${GRAPH_JOBS_MAX + 1} jobs`)
    // At the limit, the chunks are one graph that split() gives back whole.
    expect(m.browse(many.slice(1)).delayable().run('x').split(1).members).toHaveLength(GRAPH_JOBS_MAX)
  })

  it.each([0, -1, 1.5, '3'])('refuses size %j with InvalidPropertyError naming it', async (size) => {
    const { wharf, m } = await setup()
    const err = await failure(() => m.browse(ids).delayable().run('x').split(size as number))
    expect(err).toBeInstanceOf(InvalidPropertyError)
    expect((err as Error).message).toContain(JSON.stringify(size))
    expect(await wharf.jobs()).toEqual([])
  })
})
