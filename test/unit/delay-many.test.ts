// Proves wharf.delayMany (API.md "Bulk"): many jobs and graphs stored by one command in one log
// batch, all or none; views in input order; identity keys per element as sequential delays;
// refusals that name the element and store nothing; before start(), no-delay mode, trapJobs, and
// a LevelDB store that keeps it all across a reopen. Log appends are counted with a wrapper log.
import { afterEach, describe, expect, it } from 'vitest'
import {
  chain,
  DELAY_MANY_JOBS_MAX,
  FakeClock,
  group,
  InvalidGraphError,
  InvalidPropertyError,
  MemoryLog,
  NotSerializableError,
  Wharf,
  WharfClosedError,
  type EventLog,
  type OpenOptions,
  type WharfEvent,
} from '../../src/index.js'
import { trapJobs } from '../../src/testing.js'
import type { HistoryWrite } from '../../src/storage/history.js'
import { failure, FlakyLog, tempLevelLogs } from './helpers.js'

/** Counts the batches appended and the events in each. */
class CountingLog extends FlakyLog {
  readonly batches: WharfEvent[][] = []
  override async append(batch: readonly WharfEvent[], history?: HistoryWrite): Promise<void> {
    this.batches.push([...batch])
    await super.append(batch, history)
  }
}

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function setup(options: OpenOptions = {}) {
  const log = new CountingLog(new MemoryLog())
  const wharf = await Wharf.open({ clock: new FakeClock(), channels: 'root:4', log: log as EventLog, ...options })
  opened.push(wharf)
  const ran: string[] = []
  const m = wharf.model('test.bulk', {
    run(name: string) {
      ran.push(name)
      return name
    },
    boom(name: string) {
      ran.push(name)
      throw new Error(`boom ${name}`)
    },
  })
  const d = (name: string, props = {}) => m.delayable(props).run(name)
  return { wharf, log, m, d, ran }
}

const names = (views: { args: unknown[] }[]) => views.map((v) => v.args[0])

describe('delayMany stores', () => {
  it('1,000 jobs with one command: one log batch of 1,000 job.created events, views in input order', async () => {
    const { wharf, log, d } = await setup()
    const before = log.batches.length
    const delayables = Array.from({ length: 1_000 }, (_, i) => d(`j${i}`))
    const views = await wharf.delayMany(delayables)
    expect(log.batches.length - before).toBe(1)
    const batch = log.batches[log.batches.length - 1]!
    expect(batch.map((e) => e.type)).toEqual(new Array(1_000).fill('job.created'))
    expect(names(views)).toEqual(delayables.map((_, i) => `j${i}`))
    expect(views.every((v, i) => v.state === 'pending' && delayables[i]!.job === v)).toBe(true)
    expect(new Set(views.map((v) => v.uuid)).size).toBe(1_000)
    expect((await wharf.jobs({ limit: 2_000 })).length).toBe(1_000)
  })

  it('graphs mixed with single jobs: each graph whole, parents first, every delayable gets its job', async () => {
    const { wharf, d } = await setup()
    const a = d('a')
    const [p, c1, c2] = [d('p'), d('c1'), d('c2')]
    const tail = d('t2')
    const graph = chain(d('t1'), tail)
    const z = d('z')
    // The group is given by a child node: any node of a graph stores all of it, as delay() does.
    p.onDone(group(c1, c2))
    const views = await wharf.delayMany([a, c2, graph, z])
    expect(names(views)).toEqual(['a', 'p', 'c1', 'c2', 't1', 't2', 'z'])
    expect(views.map((v) => v.state)).toEqual(['pending', 'pending', 'wait_dependencies', 'wait_dependencies', 'pending', 'wait_dependencies', 'pending'])
    const [va, vp, vc1, vc2, vt1, vt2, vz] = views
    expect([va!.graphUuid, vz!.graphUuid]).toEqual([null, null])
    expect(vp!.graphUuid).not.toBeNull()
    expect([vc1!.graphUuid, vc2!.graphUuid]).toEqual([vp!.graphUuid, vp!.graphUuid])
    expect(vt2!.graphUuid).toBe(vt1!.graphUuid)
    expect(vt1!.graphUuid).not.toBe(vp!.graphUuid)
    expect([vc1!.dependsOn, vc2!.dependsOn, vt2!.dependsOn]).toEqual([[vp!.uuid], [vp!.uuid], [vt1!.uuid]])
    expect([p.job, c1.job, c2.job, tail.job]).toEqual([vp, vc1, vc2, vt2])
    // Already stored as one graph: a later delay() stores nothing more, as after delay().
    await c1.delay()
    expect(await wharf.jobs()).toHaveLength(7)
  })

  it('runs what it stored: every job done, each graph in order', async () => {
    const { wharf, d, ran } = await setup({ channels: 'root:1' })
    await wharf.delayMany([chain(d('a1'), d('a2')), d('b'), chain(d('c1'), d('c2'))])
    await wharf.start()
    await wharf.drain()
    expect(wharf.stats().states.done).toBe(5)
    expect(ran.indexOf('a1')).toBeLessThan(ran.indexOf('a2'))
    expect(ran.indexOf('c1')).toBeLessThan(ran.indexOf('c2'))
  })

  it('while running, in one batch with what that tick starts; the answer is the jobs as stored', async () => {
    const { wharf, log, d } = await setup()
    await wharf.start()
    const before = log.batches.length
    const views = await wharf.delayMany([d('a'), d('b')])
    expect(views.map((v) => v.state)).toEqual(['pending', 'pending'])
    expect(log.batches.length - before).toBe(1)
    expect(log.batches[before]!.slice(0, 2).map((e) => e.type)).toEqual(['job.created', 'job.created'])
  })

  it('an empty array resolves [] with no command queued', async () => {
    const { wharf, log } = await setup()
    const before = log.batches.length
    const pending = wharf.delayMany([])
    expect(wharf.engine.quiet).toBe(true)
    expect(await pending).toEqual([])
    expect(log.batches.length).toBe(before)
  })

  it('before start(): stored pending, run once started', async () => {
    const { wharf, d, ran } = await setup()
    const views = await wharf.delayMany([d('a'), d('b')])
    expect(views.map((v) => v.state)).toEqual(['pending', 'pending'])
    expect(ran).toEqual([])
    await wharf.start()
    await wharf.drain()
    expect(ran.sort()).toEqual(['a', 'b'])
  })

  it('a lost batch stores none of the call, and the Wharf goes on', async () => {
    const { wharf, log, d } = await setup()
    log.failing = true
    expect((await failure(() => wharf.delayMany([d('a'), chain(d('b'), d('c'))])) as Error).message).toBe('disk hiccup')
    expect(await wharf.jobs()).toEqual([])
    log.failing = false
    expect(await wharf.delayMany([d('x')])).toHaveLength(1)
    expect(await wharf.jobs()).toHaveLength(1)
  })
})

describe('delayMany and identity keys', () => {
  it('an element whose key is held gets the existing job; the others are stored', async () => {
    const { wharf, d } = await setup()
    const held = await d('first', { identityKey: 'k' }).delay()
    const views = await wharf.delayMany([d('a'), d('again', { identityKey: 'k' }), d('b')])
    expect(names(views)).toEqual(['a', 'first', 'b'])
    expect(views[1]!.uuid).toBe(held.job!.uuid)
    expect(await wharf.jobs()).toHaveLength(3)
  })

  it('two elements sharing a key: the second gets the first one’s job, as two withDelay calls in a row', async () => {
    const { wharf, d } = await setup()
    const [x, y] = [d('x', { identityKey: 'k' }), d('y', { identityKey: 'k' })]
    const views = await wharf.delayMany([x, d('between'), y])
    expect(names(views)).toEqual(['x', 'between', 'x'])
    expect(y.job!.uuid).toBe(x.job!.uuid)
    expect((await wharf.jobs()).map((j) => j.args[0])).toEqual(['x', 'between'])
  })

  it('a graph element is skipped only when all its keyed jobs match (then its matched jobs are returned)', async () => {
    const { wharf, d } = await setup()
    const [k1, k2] = [d('k1', { identityKey: 'k1' }), d('k2', { identityKey: 'k2' })]
    const unkeyed = d('unkeyed')
    const skipped = chain(d('k1 again', { identityKey: 'k1' }), unkeyed)
    const partial = chain(d('k2 again', { identityKey: 'k2' }), d('k3', { identityKey: 'k3' }))
    const views = await wharf.delayMany([k1, k2, skipped, partial])
    expect(names(views)).toEqual(['k1', 'k2', 'k1', 'k2 again', 'k3'])
    expect(views[2]!.uuid).toBe(k1.job!.uuid)
    expect(unkeyed.job).toBeUndefined()
    expect(await wharf.jobs()).toHaveLength(4)
  })
})

describe('delayMany refuses, naming the element, and stores nothing', () => {
  async function refused(run: (s: Awaited<ReturnType<typeof setup>>) => Promise<unknown>, setupOptions: OpenOptions = {}) {
    const s = await setup(setupOptions)
    const before = s.log.batches.length
    const error = await failure(() => run(s))
    expect(s.log.batches.length).toBe(before)
    expect(await s.wharf.jobs()).toEqual([])
    return error as Error
  }

  it('an element that is not a delayable, chain or group', async () => {
    const error = await refused(({ wharf, d }) => wharf.delayMany([d('a'), 'b' as never]))
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect(error.message).toBe('delayMany(): delayables[1] is not a delayable, chain or group: "b"')
    expect(await refused(({ wharf }) => wharf.delayMany('nope' as never))).toBeInstanceOf(InvalidGraphError)
  })

  it('a delayable already delayed, or a graph given twice', async () => {
    const { wharf, d } = await setup()
    const done = d('done')
    await wharf.delayMany([done])
    const again = await failure(() => wharf.delayMany([d('new'), done]))
    expect(again).toBeInstanceOf(InvalidGraphError)
    expect((again as Error).message).toContain(`delayables[1]: job ${done.job!.uuid} of it was delayed already`)
    const [p, c] = [d('p'), d('c')]
    p.onDone(c)
    const twice = await failure(() => wharf.delayMany([p, d('x'), c]))
    expect((twice as Error).message).toContain('delayables[2] belongs to the same graph as delayables[0]')
    expect(await wharf.jobs()).toHaveLength(1)
  })

  it('a delayable without a method call, or a cycle', async () => {
    const noCall = await refused(({ wharf, m, d }) => wharf.delayMany([d('a'), m.delayable()]))
    expect(noCall.message).toContain('delayables[1]: a delayable of model test.bulk has no method call')
    const cycle = await refused(({ wharf, d }) => {
      const [a, b] = [d('a'), d('b')]
      a.onDone(b)
      b.onDone(a)
      return wharf.delayMany([d('x'), a])
    })
    expect(cycle).toBeInstanceOf(InvalidGraphError)
    expect(cycle.message).toContain('delayables[1]: this graph has a cycle')
  })

  it(`more than DELAY_MANY_JOBS_MAX (${DELAY_MANY_JOBS_MAX}) jobs in one call`, async () => {
    const error = await refused(({ wharf, d }) => {
      const many = Array.from({ length: DELAY_MANY_JOBS_MAX }, () => d('x'))
      return wharf.delayMany([...many, d('one too many')])
    })
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect(error.message).toContain(`at most ${DELAY_MANY_JOBS_MAX} jobs per call (DELAY_MANY_JOBS_MAX); delayables[${DELAY_MANY_JOBS_MAX}] brings this call to`)
  })

  it('a bad property or argument found while building the jobs', async () => {
    const key = await refused(({ wharf, d }) => wharf.delayMany([d('a'), d('b'), d('c', { identityKey: () => 42 as never })]))
    expect(key).toBeInstanceOf(InvalidPropertyError)
    expect(key.message).toMatch(/^delayMany\(\): delayables\[2\]: identityKey function of test\.bulk\.run/)
    const arg = await refused(({ wharf, m, d }) => wharf.delayMany([d('a'), m.delayable().run((() => 1) as never)]))
    expect(arg).toBeInstanceOf(NotSerializableError)
    expect(arg.message).toMatch(/^delayMany\(\): delayables\[1\]: /)
  })

  it('a uuid a custom newId() repeats (refused by the core, which names the element)', async () => {
    // Lone jobs take one id each: the third repeats the first.
    const ids = ['a', 'b', 'a']
    const error = await refused(({ wharf, d }) => wharf.delayMany([d('1'), d('2'), d('3')]), { newId: () => ids.shift() ?? 'fresh' })
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect(error.message).toBe('delayMany(): delayables[2]: job uuid "a" is not unique: an earlier job of this call has it; newId() must return a new id on every call')
  })

  it('a uuid of a finished job, from a custom newId() (read from history before the tick)', async () => {
    const ids = ['x', 'y', 'x']
    const { wharf, log, d } = await setup({ newId: () => ids.shift() ?? 'fresh' })
    await d('first').delay()
    await wharf.start()
    await wharf.drain()
    const before = log.batches.length
    const error = await failure(() => wharf.delayMany([d('1'), d('2')]))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toBe('delayMany(): delayables[1]: job uuid "x" is not unique: a finished job already has it; newId() must return a new id on every call')
    expect(log.batches.length).toBe(before)
    expect((await wharf.jobs()).map((j) => [j.uuid, j.state])).toEqual([['x', 'done']])
  })

  it('a closed Wharf', async () => {
    const { wharf, d } = await setup()
    await wharf.close()
    expect(await failure(() => wharf.delayMany([d('a')]))).toBeInstanceOf(WharfClosedError)
  })
})

describe('delayMany in no-delay mode', () => {
  it('runs each element at once, in order, a graph in topological order; stores nothing', async () => {
    const { wharf, d, ran } = await setup({ noDelay: true })
    const c = d('c')
    const views = await wharf.delayMany([d('a'), chain(d('b1'), d('b2')), c])
    expect(ran).toEqual(['a', 'b1', 'b2', 'c'])
    expect(views.map((v) => [v.args[0], v.state, v.result])).toEqual([['a', 'done', 'a'], ['b1', 'done', 'b1'], ['b2', 'done', 'b2'], ['c', 'done', 'c']])
    expect(c.job!.state).toBe('done')
    expect(await wharf.jobs()).toEqual([])
  })

  it('a handler error rejects the call; the elements after it do not run', async () => {
    const { wharf, m, d, ran } = await setup({ noDelay: true })
    const error = await failure(() => wharf.delayMany([d('a'), m.delayable().boom('x'), d('c')]))
    expect((error as Error).message).toBe('boom x')
    expect(ran).toEqual(['a', 'x'])
  })
})

describe('delayMany under trapJobs', () => {
  it('traps every job of the call, with identity keys per element as for delay()', async () => {
    const { wharf, m, d } = await setup()
    const trap = trapJobs(wharf)
    const views = await wharf.delayMany([d('a', { identityKey: 'k' }), chain(d('b1'), d('b2')), d('a again', { identityKey: 'k' })])
    expect(names(views)).toEqual(['a', 'b1', 'b2', 'a'])
    expect(trap.calls).toHaveLength(4)
    trap.assertJobsCount(3)
    trap.assertEnqueuedJob(m.run, { args: ['b2'] })
    expect(await wharf.jobs()).toEqual([])
  })

  it('a bad element traps none of the call', async () => {
    const { wharf, d } = await setup()
    const trap = trapJobs(wharf)
    const error = await failure(() => wharf.delayMany([d('a'), d('b', { identityKey: () => '' })]))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toMatch(/^delayMany\(\): delayables\[1\]: /)
    expect(trap.calls).toHaveLength(0)
    trap.assertJobsCount(0)
  })
})

describe('delayMany on LevelDB', () => {
  const temp = tempLevelLogs('wharf-delay-many-')

  it('keeps every job of the call across close and reopen', async () => {
    const path = await temp.path()
    const first = await Wharf.open({ path, clock: new FakeClock() })
    const m1 = first.model('test.bulk', { run: (_name: string) => undefined })
    const views = await first.delayMany([...Array.from({ length: 500 }, (_, i) => m1.delayable().run(`j${i}`)), chain(m1.delayable().run('p'), m1.delayable().run('c'))])
    await first.close()
    const second = await Wharf.open({ path, clock: new FakeClock() })
    const jobs = await second.jobs({ limit: 1_000 })
    expect(jobs.map((j) => j.uuid).sort()).toEqual(views.map((v) => v.uuid).sort())
    expect(jobs.find((j) => j.args[0] === 'c')!.state).toBe('wait_dependencies')
    await second.close()
  })
})
