// Proves identity-key deduplication (queue_job §1.7, API.md): which states block a new job, what an
// identityKey function sees, the graph rule, and Wharf's atomic keys under concurrent calls (DESIGN §3).
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { FailedJobError, FakeClock, InvalidPropertyError, JobStateConflictError, Wharf, chain, identityExact } from '../../src/index.js'
import type { IdentityKeyJob } from '../../src/index.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close()
})

async function setup(channels = 'root:1') {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ channels, clock })
  opened.push(wharf)
  const ran: string[] = []
  const m = wharf.model('test.identity', {
    run(name: string) {
      ran.push(name)
      return name
    },
    async long(name: string) {
      ran.push(name)
      await this.sleep(1_000)
    },
    fail(name: string) {
      ran.push(name)
      throw new FailedJobError(`no ${name}`)
    },
    options(options: Record<string, unknown>) {
      ran.push(JSON.stringify(options))
    },
  })
  return { wharf, clock, ran, m }
}

describe('a string identityKey', () => {
  it('while the first job is pending, a second withDelay returns the same job and stores nothing', async () => {
    const { wharf, m } = await setup()
    const first = await m.browse([1]).withDelay({ identityKey: 'k' }).run('a')
    const second = await m.browse([2]).withDelay({ identityKey: 'k', priority: 1 }).run('b')
    expect(first.state).toBe('pending')
    expect(second.uuid).toBe(first.uuid)
    expect(second.args).toEqual(['a'])
    expect(await wharf.jobs()).toHaveLength(1)
    expect((await wharf.jobs())[0]!.identityKey).toBe('k')
  })

  it('while the first job is in wait_dependencies, a second withDelay returns it', async () => {
    const { wharf, m } = await setup()
    const parent = m.delayable().run('parent')
    const child = m.delayable({ identityKey: 'k' }).run('child')
    await parent.onDone(child).delay()
    expect(child.job!.state).toBe('wait_dependencies')
    const again = await m.withDelay({ identityKey: 'k' }).run('again')
    expect(again.uuid).toBe(child.job!.uuid)
    expect(again.state).toBe('wait_dependencies')
    expect(await wharf.jobs()).toHaveLength(2)
  })

  // 'enqueued' is written in the same batch as 'started' (the shell starts what it enqueues), so no
  // API call can observe a job sitting in it; 'started' below is the state next to it.
  it('a started job does not block: a new job is created while the first runs', async () => {
    const { wharf, m, ran } = await setup('root:2')
    await wharf.start()
    const first = await m.withDelay({ identityKey: 'k' }).long('first')
    await wharf.settled()
    expect((await wharf.job(first.uuid))!.state).toBe('started')
    const second = await m.withDelay({ identityKey: 'k' }).long('second')
    expect(second.uuid).not.toBe(first.uuid)
    expect(await wharf.jobs()).toHaveLength(2)
    await wharf.drain()
    expect(ran).toEqual(['first', 'second'])
    expect(await wharf.jobs({ state: 'done' })).toHaveLength(2)
  })

  it.each(['done', 'failed', 'cancelled'] as const)('a %s job does not block', async (finalState) => {
    const { wharf, m } = await setup()
    const method = finalState === 'failed' ? 'fail' : 'run'
    const first = await m.withDelay({ identityKey: 'k' })[method]('first')
    if (finalState === 'cancelled') await wharf.cancel(first.uuid)
    else {
      await wharf.start()
      await wharf.drain()
      await wharf.stop()
    }
    expect((await wharf.job(first.uuid))!.state).toBe(finalState)
    const second = await m.withDelay({ identityKey: 'k' }).run('second')
    expect(second.uuid).not.toBe(first.uuid)
    expect(second.state).toBe('pending')
    expect(await wharf.jobs()).toHaveLength(2)
  })

  it('is atomic: two calls in the same tick (not awaited in between) create one job', async () => {
    const { wharf, m } = await setup()
    const [a, b] = await Promise.all([
      m.browse([1]).withDelay({ identityKey: 'same' }).run('a'),
      m.browse([1]).withDelay({ identityKey: 'same' }).run('b'),
    ])
    expect(a.uuid).toBe(b.uuid)
    expect(await wharf.jobs()).toHaveLength(1)
  })

  it('is atomic across many concurrent calls and keys', async () => {
    const { wharf, m } = await setup()
    const calls = Array.from({ length: 20 }, (_, i) => m.withDelay({ identityKey: `k${i % 3}` }).run(`c${i}`))
    const views = await Promise.all(calls)
    expect(new Set(views.map((v) => v.uuid)).size).toBe(3)
    expect((await wharf.jobs()).map((j) => j.identityKey).sort()).toEqual(['k0', 'k1', 'k2'])
  })
})

describe('identityExact and identityKey functions', () => {
  const base = { model: 'test.identity', method: 'run', records: [1, 2], args: [{ a: 1 }, 'x'] }

  it('identityExact is the same for the same call and differs for another', () => {
    expect(identityExact(base)).toBe(identityExact({ ...base, args: [{ a: 1 }, 'x'] }))
    expect(identityExact(base)).toBe(identityExact({ ...base, records: [2, 1] }))
    expect(identityExact(base)).not.toBe(identityExact({ ...base, args: [{ a: 2 }, 'x'] }))
    expect(identityExact(base)).not.toBe(identityExact({ ...base, method: 'other' }))
    expect(identityExact(base)).not.toBe(identityExact({ ...base, model: 'other.model' }))
    expect(identityExact(base)).not.toBe(identityExact({ ...base, records: [1] }))
    expect(identityExact(base)).toMatch(/^[0-9a-f]{40}$/)
  })

  it('identityKey: identityExact dedupes the same call and keeps different args apart', async () => {
    const { wharf, m } = await setup()
    const a1 = await m.browse([1, 2]).withDelay({ identityKey: identityExact }).run('x')
    const a2 = await m.browse([2, 1]).withDelay({ identityKey: identityExact }).run('x')
    const b = await m.browse([1, 2]).withDelay({ identityKey: identityExact }).run('y')
    expect(a2.uuid).toBe(a1.uuid)
    expect(b.uuid).not.toBe(a1.uuid)
    expect(await wharf.jobs()).toHaveLength(2)
    expect(a1.identityKey).toBe(identityExact({ model: 'test.identity', method: 'run', records: [1, 2], args: ['x'] }))
  })

  it('identityExact: an options object dedupes whatever the order of its keys, at any depth (queue_job sorts kwargs)', async () => {
    const { wharf, m } = await setup()
    const first = await m.withDelay({ identityKey: identityExact }).options({ b: 1, a: 2 })
    const again = await m.withDelay({ identityKey: identityExact }).options({ a: 2, b: 1 })
    expect(again.uuid).toBe(first.uuid)
    expect(again.args).toEqual([{ b: 1, a: 2 }])
    const nested = await m.withDelay({ identityKey: identityExact }).options({ filter: { y: [1, 2], x: null }, z: 'p' })
    const nestedAgain = await m.withDelay({ identityKey: identityExact }).options({ z: 'p', filter: { x: null, y: [1, 2] } })
    expect(nestedAgain.uuid).toBe(nested.uuid)
    expect(await wharf.jobs()).toHaveLength(2)
  })

  it('identityExact: sorting keys keeps different calls apart (values, array order, nesting)', () => {
    const key = (...args: unknown[]) => identityExact({ model: 'm', method: 'f', records: [], args })
    expect(key({ b: 1, a: 2 })).not.toBe(key({ b: 2, a: 1 }))
    expect(key({ a: [1, 2] })).not.toBe(key({ a: [2, 1] }))
    expect(key({ a: { b: 1 } })).not.toBe(key({ b: { a: 1 } }))
    expect(key({ a: 1 }, { b: 2 })).not.toBe(key({ b: 2 }, { a: 1 }))
    expect(key({ a: 1, b: 2 })).not.toBe(key([['a', 1], ['b', 2]]))
    // Arguments whose objects are already in order hash as before the keys were sorted.
    expect(key({ a: 1, b: { c: 2, d: 3 } })).toBe(
      createHash('sha1').update('m\0f\0[]\0').update(JSON.stringify([{ a: 1, b: { c: 2, d: 3 } }])).digest('hex'),
    )
  })

  it('an identityKey function receives the job about to be stored; JobView.identityKey holds its result', async () => {
    const { wharf, m } = await setup()
    wharf.configure('test.identity.run', { channel: 'keys' })
    const seen: IdentityKeyJob[] = []
    const view = await m
      .browse([7])
      .withContext({ tz: 'Europe/Paris' })
      .withDelay({
        priority: 3,
        description: 'desc',
        identityKey: (job) => {
          seen.push(job)
          return `${job.model}/${job.method}/${job.records.join(',')}/${String(job.args[0])}`
        },
      })
      .run('arg')
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      model: 'test.identity',
      method: 'run',
      records: [7],
      args: ['arg'],
      context: { tz: 'Europe/Paris' },
      priority: 3,
      maxRetries: 5,
      description: 'desc',
      channel: 'root.keys',
    })
    expect(view.identityKey).toBe('test.identity/run/7/arg')
    expect((await wharf.job(view.uuid))!.identityKey).toBe('test.identity/run/7/arg')
  })
})

describe('an identityKey that is not well-formed text', () => {
  it('is refused, given or returned by a function, and nothing is stored: a lone surrogate has no UTF-8 form for history to index', async () => {
    const { wharf, m } = await setup()
    await expect(async () => m.withDelay({ identityKey: 'order-\uD83D' }).run('a')).rejects.toThrow(/identityKey must be well-formed text \(no lone surrogate\), got "order-\\ud83d"/)
    await expect(async () => m.withDelay({ identityKey: () => '🙂 report'.slice(0, 1) }).run('b')).rejects.toThrow(InvalidPropertyError)
    expect(await wharf.jobs()).toEqual([])
    expect((await m.withDelay({ identityKey: 'order-🙂' }).run('c')).identityKey).toBe('order-🙂')
  })
})

describe('graphs with identity keys (queue_job §1.7)', () => {
  it('skips the whole graph, unkeyed vertices included, when every keyed vertex matches', async () => {
    const { wharf, m } = await setup()
    const k1 = m.delayable({ identityKey: 'k1' }).run('k1')
    await chain(k1, m.delayable().run('free')).delay()
    expect(await wharf.jobs()).toHaveLength(2)
    const again = m.delayable({ identityKey: 'k1' }).run('k1 again')
    await chain(again, m.delayable().run('free again')).delay()
    expect(await wharf.jobs()).toHaveLength(2)
    expect(again.job?.uuid).toBe(k1.job!.uuid)
  })

  it('stores everything, duplicates included, when any keyed vertex has no match', async () => {
    const { wharf, m } = await setup()
    await m.withDelay({ identityKey: 'k1' }).run('k1')
    await chain(m.delayable({ identityKey: 'k1' }).run('dup'), m.delayable({ identityKey: 'k2' }).run('k2')).delay()
    expect(await wharf.jobs()).toHaveLength(3)
    expect((await wharf.jobs()).filter((j) => j.identityKey === 'k1')).toHaveLength(2)
  })

  it('stores a graph where no vertex has a key, every time', async () => {
    const { wharf, m } = await setup()
    await chain(m.delayable().run('a'), m.delayable().run('b')).delay()
    await chain(m.delayable().run('a'), m.delayable().run('b')).delay()
    expect(await wharf.jobs()).toHaveLength(4)
  })
})

describe('requeue and identity keys', () => {
  it('refuses to requeue a failed job whose key another pending job now holds', async () => {
    const { wharf, m } = await setup()
    const failed = await m.withDelay({ identityKey: 'k' }).fail('first')
    await wharf.start()
    await wharf.drain()
    await wharf.stop()
    expect((await wharf.job(failed.uuid))!.state).toBe('failed')
    const holder = await m.withDelay({ identityKey: 'k' }).run('second')
    expect(holder.uuid).not.toBe(failed.uuid)
    const err = await failure(() => wharf.requeue(failed.uuid))
    expect(err).toBeInstanceOf(JobStateConflictError)
    expect((err as JobStateConflictError).code).toBe('JOB_STATE_CONFLICT')
    expect((await wharf.job(failed.uuid))!.state).toBe('failed')
    // Once the holder is gone, the requeue goes through.
    await wharf.cancel(holder.uuid)
    await wharf.requeue(failed.uuid)
    expect((await wharf.job(failed.uuid))!.state).toBe('pending')
  })
})
