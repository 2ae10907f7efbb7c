// Proves channel scheduling through the public API (queue_job §2.3, DESIGN §3): order, capacity on every
// level, unknown channels, eta, sequential, throttle, pause; handlers sleep on a FakeClock so slots stay held.
import { afterEach, describe, expect, it } from 'vitest'
import { FailedJobError, FakeClock, Wharf, type ChannelStats, type JobProperties, type JobView } from '../../src/index.js'

const HOUR_MS = 3_600_000

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) {
    await wharf.drain()
    await wharf.close()
  }
})

function prefixes(channel: string): string[] {
  const parts = channel.split('.')
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'))
}

/** `order`: job names as their handlers start; `peak`: most handlers running at once per channel prefix. */
async function open(channels: string) {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ channels, clock })
  opened.push(wharf)
  const order: string[] = []
  const live = new Map<string, number>()
  const peak = new Map<string, number>()
  const failedOnce = new Set<string>()
  const jobs = wharf.model('test.job', {
    async work(name: string, ms: number) {
      order.push(name)
      const path = prefixes(this.job!.channel)
      for (const p of path) {
        live.set(p, (live.get(p) ?? 0) + 1)
        peak.set(p, Math.max(peak.get(p) ?? 0, live.get(p)!))
      }
      try {
        if (ms > 0) await this.sleep(ms)
      } finally {
        for (const p of path) live.set(p, live.get(p)! - 1)
      }
      return name
    },
    /** Fails (FailedJobError) on its first run, succeeds afterwards. */
    async flaky(name: string) {
      order.push(name)
      if (!failedOnce.has(name)) {
        failedOnce.add(name)
        throw new FailedJobError(`${name} broke`)
      }
      return name
    },
  })
  const delay = (name: string, ms = 0, props: JobProperties = {}): Promise<JobView> => jobs.withDelay(props).work(name, ms)
  const delayFlaky = (name: string, props: JobProperties = {}): Promise<JobView> => jobs.withDelay(props).flaky(name)
  return { clock, wharf, order, peak, delay, delayFlaky }
}

const channel = (wharf: Wharf, name: string): ChannelStats | undefined => wharf.stats().channels.find((c) => c.name === name)

const stateOf = async (wharf: Wharf, job: JobView): Promise<string> => (await wharf.job(job.uuid))!.state
const statesOf = (wharf: Wharf, jobs: readonly JobView[]): Promise<string[]> => Promise.all(jobs.map((j) => stateOf(wharf, j)))

describe('ordering inside a channel', () => {
  it('starts the lowest priority number first, then the earliest created, then in enqueue order', async () => {
    const { wharf, clock, order, delay } = await open('root:1')
    await delay('p20-first', 0, { priority: 20 })
    await clock.advance(1000)
    await delay('p10-t1-a')
    await delay('p10-t1-b')
    await delay('p5', 0, { priority: 5 })
    await clock.advance(1000)
    await delay('p10-t2')
    await delay('p-1', 0, { priority: -1 })

    await wharf.start()
    await wharf.idle()

    expect(order).toEqual(['p-1', 'p5', 'p10-t1-a', 'p10-t1-b', 'p10-t2', 'p20-first'])
  })
})

describe('capacity on every level of the path', () => {
  it('root:2 bounds a subchannel configured with 5: never more than 2 run', async () => {
    const { wharf, clock, peak, delay } = await open('root:2,root.sub:5')
    const jobs = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => delay(n, 1000, { channel: 'root.sub' })))
    await wharf.start()

    expect(await statesOf(wharf, jobs)).toEqual(['started', 'started', 'pending', 'pending', 'pending', 'pending'])
    expect(channel(wharf, 'root')).toMatchObject({ capacity: 2, running: 2 })
    expect(channel(wharf, 'root.sub')).toMatchObject({ capacity: 5, running: 2, started: 2, pending: 4 })

    await clock.advance(1000)
    await wharf.settled()
    expect(await statesOf(wharf, jobs)).toEqual(['done', 'done', 'started', 'started', 'pending', 'pending'])

    await wharf.drain()
    expect((await statesOf(wharf, jobs)).every((s) => s === 'done')).toBe(true)
    expect(peak.get('root')).toBe(2)
  })

  it('sub:1 under root:4 runs one of its jobs at a time while other channels use the rest', async () => {
    const { wharf, peak, delay } = await open('root:4,root.sub:1')
    const subs = await Promise.all(['s1', 's2', 's3'].map((n) => delay(n, 1000, { channel: 'root.sub' })))
    const others = await Promise.all(['o1', 'o2', 'o3', 'o4'].map((n) => delay(n, 1000, { channel: 'root.other' })))
    await wharf.start()

    expect(await statesOf(wharf, subs)).toEqual(['started', 'pending', 'pending'])
    expect(await statesOf(wharf, others)).toEqual(['started', 'started', 'started', 'pending'])
    expect(channel(wharf, 'root')!.running).toBe(4)

    await wharf.drain()
    expect(peak.get('root.sub')).toBe(1)
    expect(peak.get('root')).toBe(4)
  })

  it('capacity 0 on a subchannel means unlimited, bounded by root', async () => {
    const { wharf, peak, delay } = await open('root:3,root.sub:0')
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => delay(n, 1000, { channel: 'root.sub' })))
    await wharf.start()

    expect(channel(wharf, 'root.sub')).toMatchObject({ capacity: null, running: 3, pending: 2 })
    await wharf.drain()
    expect(peak.get('root.sub')).toBe(3)
    expect(wharf.stats().states.done).toBe(5)
  })

  it("'root:0' dispatches nothing, at any time", async () => {
    const { wharf, clock, order, delay } = await open('root:0')
    const job = await delay('never')
    await wharf.start()
    await clock.advance(HOUR_MS)
    await wharf.settled()

    expect(order).toEqual([])
    expect(await stateOf(wharf, job)).toBe('pending')
    expect(channel(wharf, 'root')!.capacity).toBe(0)
  })
})

describe('unknown channels', () => {
  it('are created under the nearest configured ancestor with their real path, limited by it', async () => {
    const { wharf, peak, delay } = await open('root:2,root.sub:1')
    const unk = await Promise.all(['u1', 'u2'].map((n) => delay(n, 1000, { channel: 'root.sub.unk' })))
    const other = await delay('o1', 1000, { channel: 'other' })
    await wharf.start()

    expect(unk[0]!.channel).toBe('root.sub.unk')
    expect(other.channel).toBe('root.other')
    const names = wharf.stats().channels.map((c) => c.name)
    expect(names).toEqual(expect.arrayContaining(['root', 'root.sub', 'root.sub.unk', 'root.other']))
    expect(names).not.toContain('root.sub.sub.unk')
    expect(channel(wharf, 'root.sub.unk')).toMatchObject({ capacity: null, running: 1, pending: 1 })
    expect(channel(wharf, 'root.other')).toMatchObject({ capacity: null, running: 1 })

    await wharf.drain()
    expect(peak.get('root.sub')).toBe(1)
  })
})

describe('priority across the whole tree (DESIGN §3)', () => {
  it('a higher-priority job of a sibling channel takes the next free slot', async () => {
    const { wharf, clock, order, delay } = await open('root:1,root.a:2,root.b:2')
    await delay('blocker', 1000, { channel: 'root.b' })
    await wharf.start()
    await delay('a1', 0, { channel: 'root.a' })
    await delay('a2', 0, { channel: 'root.a' })
    await delay('b-urgent', 0, { channel: 'root.b', priority: 5 })
    await wharf.settled()

    await clock.advance(1000)
    await wharf.idle()
    expect(order).toEqual(['blocker', 'b-urgent', 'a1', 'a2'])
  })

  it('a child channel holds no slot for a job its full parent cannot run', async () => {
    const { wharf, clock, order, delay } = await open('root:1,root.a:1')
    await delay('blocker', 1000)
    await wharf.start()
    const low = await delay('a-low', 0, { channel: 'root.a', priority: 20 })
    await wharf.settled()

    expect(await stateOf(wharf, low)).toBe('pending')
    expect(channel(wharf, 'root.a')!.running).toBe(0)

    await delay('a-high', 0, { channel: 'root.a', priority: 1 })
    await clock.advance(1000)
    await wharf.idle()
    expect(order).toEqual(['blocker', 'a-high', 'a-low'])
  })
})

describe('eta', () => {
  it('a job given seconds does not start before its eta, and starts when the clock reaches it', async () => {
    const { wharf, clock, delay } = await open('root:1')
    const t0 = clock.now()
    const job = await delay('later', 0, { eta: 60 })
    expect(job.eta).toBe(t0 + 60_000)
    await wharf.start()

    await clock.advance(59_999)
    await wharf.settled()
    expect(await stateOf(wharf, job)).toBe('pending')

    await clock.advance(1)
    await wharf.idle()
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'done', startedAt: t0 + 60_000 })
  })

  it('a job given a Date starts at that instant; jobs without eta are not held back by it', async () => {
    const { wharf, clock, order, delay } = await open('root:1')
    const at = new Date(clock.now() + 30_000)
    const dated = await delay('dated', 0, { eta: at, priority: 1 })
    await delay('now', 0, { priority: 50 })
    await wharf.start()
    expect(order).toEqual(['now'])

    await clock.advance(30_000)
    await wharf.idle()
    expect(await wharf.job(dated.uuid)).toMatchObject({ state: 'done', eta: at.getTime(), startedAt: at.getTime() })
  })

  it('after its eta a job competes on priority: it still runs after higher-priority jobs (queue_job §2.3)', async () => {
    const { wharf, clock, order, delay } = await open('root:1')
    await delay('blocker', 100_000)
    await wharf.start()
    await delay('eta-p20', 0, { eta: 10, priority: 20 })
    await delay('p30', 0, { priority: 30 })
    await clock.advance(50_000)
    await delay('p5', 0, { priority: 5 })
    await wharf.settled()
    expect(order).toEqual(['blocker'])

    await clock.advance(50_000)
    await wharf.idle()
    expect(order).toEqual(['blocker', 'p5', 'eta-p20', 'p30'])
  })
})

describe('sequential channels', () => {
  it('run one job at a time, in order, while other channels run beside them', async () => {
    const { wharf, order, peak, delay } = await open('root:4,root.seq:1:sequential')
    await Promise.all(['s1', 's2', 's3'].map((n) => delay(n, 1000, { channel: 'root.seq' })))
    await delay('other', 1000, { channel: 'root.other' })
    await wharf.start()
    expect(order).toEqual(['s1', 'other'])

    await wharf.drain()
    expect(order).toEqual(['s1', 'other', 's2', 's3'])
    expect(peak.get('root.seq')).toBe(1)
    expect(channel(wharf, 'root.seq')).toMatchObject({ sequential: true, capacity: 1 })
  })

  it.each(['requeue', 'setDone', 'cancel'] as const)('are blocked by a failed job of their own until %s', async (action) => {
    const { wharf, clock, delayFlaky, delay } = await open('root:4,root.seq:1:sequential')
    const broken = await delayFlaky('broken', { channel: 'root.seq' })
    const next = await delay('next', 0, { channel: 'root.seq' })
    await wharf.start()
    await wharf.idle()
    await clock.advance(HOUR_MS)
    await wharf.idle()
    expect(await stateOf(wharf, broken)).toBe('failed')
    expect(await stateOf(wharf, next)).toBe('pending')

    await wharf[action](broken.uuid)
    await wharf.idle()
    expect(await stateOf(wharf, next)).toBe('done')
    expect(await stateOf(wharf, broken)).toBe(action === 'cancel' ? 'cancelled' : 'done')
  })

  it('are not blocked by a failure in a subchannel', async () => {
    const { wharf, delayFlaky, delay } = await open('root:4,root.seq:1:sequential')
    const broken = await delayFlaky('child-broken', { channel: 'root.seq.child' })
    await wharf.start()
    await wharf.idle()
    expect(await stateOf(wharf, broken)).toBe('failed')

    const own = await delay('own', 0, { channel: 'root.seq' })
    await wharf.idle()
    expect(await stateOf(wharf, own)).toBe('done')
  })

  it('a failed job in a non-sequential channel frees its slot', async () => {
    const { wharf, delayFlaky, delay } = await open('root:1')
    const broken = await delayFlaky('broken')
    const next = await delay('next')
    await wharf.start()
    await wharf.idle()
    expect([(await stateOf(wharf, broken)), (await stateOf(wharf, next))]).toEqual(['failed', 'done'])
  })

  it('a later job never overtakes an earlier-sorted one that waits for its eta', async () => {
    const { wharf, clock, order, delay } = await open('root:4,root.seq:1:sequential')
    const t0 = clock.now()
    const first = await delay('first-eta', 0, { channel: 'root.seq', eta: 60 })
    const second = await delay('second', 0, { channel: 'root.seq' })
    await wharf.start()
    await clock.advance(30_000)
    await wharf.settled()
    expect(await stateOf(wharf, second)).toBe('pending')

    await clock.advance(30_000)
    await wharf.idle()
    expect(order).toEqual(['first-eta', 'second'])
    expect((await wharf.job(first.uuid))!.startedAt).toBe(t0 + 60_000)
  })

  it('a higher-priority job does not wait for a lower-priority one that waits for its eta', async () => {
    const { wharf, order, delay } = await open('root:4,root.seq:1:sequential')
    await delay('eta-p10', 0, { channel: 'root.seq', eta: 60 })
    await delay('p5', 0, { channel: 'root.seq', priority: 5 })
    await wharf.start()
    expect(order).toEqual(['p5'])
  })
})

describe('throttle', () => {
  it('starts at most one job per N seconds in that channel; the next starts when the window ends', async () => {
    const { wharf, clock, delay } = await open('root:4,root.t:4:throttle=10')
    const t0 = clock.now()
    const jobs = await Promise.all(['t1', 't2', 't3'].map((n) => delay(n, 0, { channel: 'root.t' })))
    const free = await delay('free', 0, { channel: 'root.other' })
    await wharf.start()
    await wharf.idle()
    expect(await statesOf(wharf, jobs)).toEqual(['done', 'pending', 'pending'])
    expect(await stateOf(wharf, free)).toBe('done')
    expect(channel(wharf, 'root.t')!.throttleSeconds).toBe(10)

    await clock.advance(9_999)
    await wharf.idle()
    expect(await stateOf(wharf, jobs[1]!)).toBe('pending')
    await clock.advance(1)
    await wharf.idle()
    expect(await statesOf(wharf, jobs)).toEqual(['done', 'done', 'pending'])

    await clock.advance(10_000)
    await wharf.idle()
    expect(await Promise.all(jobs.map(async (j) => (await wharf.job(j.uuid))!.startedAt))).toEqual([t0, t0 + 10_000, t0 + 20_000])
  })
})

describe('pause and resume', () => {
  it('pausing a parent blocks its subchannels, lets running jobs finish, and resuming releases them', async () => {
    const { wharf, clock, order, delay } = await open('root:4,root.a:2')
    const running = await delay('running', 1000, { channel: 'root.a' })
    await wharf.start()
    await wharf.pauseChannel('root.a')
    const held = await delay('held', 0, { channel: 'root.a.sub' })
    const sibling = await delay('sibling', 0, { channel: 'root.b' })
    await wharf.settled()
    expect(channel(wharf, 'root.a')!.paused).toBe(true)
    expect(order).toEqual(['running', 'sibling'])

    await clock.advance(HOUR_MS)
    await wharf.idle()
    expect([(await stateOf(wharf, running)), (await stateOf(wharf, sibling)), (await stateOf(wharf, held))]).toEqual(['done', 'done', 'pending'])

    await wharf.resumeChannel('root.a')
    await wharf.idle()
    expect(channel(wharf, 'root.a')!.paused).toBe(false)
    expect(await stateOf(wharf, held)).toBe('done')
  })

  it("the 'paused' option starts a channel paused, keeping its configured capacity", async () => {
    const { wharf, clock, delay } = await open('root:2,root.a:1:paused')
    const job = await delay('held', 0, { channel: 'root.a' })
    await wharf.start()
    await clock.advance(HOUR_MS)
    await wharf.idle()
    expect(await stateOf(wharf, job)).toBe('pending')
    expect(channel(wharf, 'root.a')).toMatchObject({ paused: true, capacity: 1 })

    await wharf.resumeChannel('a')
    await wharf.idle()
    expect(await stateOf(wharf, job)).toBe('done')
  })
})

describe('stats()', () => {
  it('counts each channel’s own jobs by state, and slots in use along the path', async () => {
    const { wharf, clock, delay, delayFlaky } = await open('root:3,root.a:2')
    await Promise.all(['a1', 'a2', 'a3'].map((n) => delay(n, 1000, { channel: 'root.a' })))
    await delay('r1', 1000)
    await wharf.start()

    expect(channel(wharf, 'root')).toMatchObject({ capacity: 3, running: 3, started: 1, pending: 0 })
    expect(channel(wharf, 'root.a')).toMatchObject({ capacity: 2, running: 2, started: 2, pending: 1, paused: false, sequential: false })
    expect(wharf.stats().states).toEqual({ wait_dependencies: 0, pending: 1, enqueued: 0, started: 3, done: 0, cancelled: 0, failed: 0 })

    await delayFlaky('f', { channel: 'root.a' })
    await clock.advance(2000)
    await wharf.idle()
    expect(channel(wharf, 'root')).toMatchObject({ running: 0, done: 1 })
    expect(channel(wharf, 'root.a')).toMatchObject({ running: 0, done: 3, failed: 1, pending: 0 })
    expect(wharf.stats().states).toEqual({ wait_dependencies: 0, pending: 0, enqueued: 0, started: 0, done: 4, cancelled: 0, failed: 1 })
  })
})

describe('drain()', () => {
  it('returns only when no job can run any more', async () => {
    const { wharf, order, delay } = await open('root:1')
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => delay(n)))
    await wharf.start()

    await wharf.drain()
    expect(order).toEqual(['a', 'b', 'c', 'd'])
    expect(wharf.stats().states.done).toBe(4)
  })

  it('jumps the fake clock to each eta and runs what becomes due', async () => {
    const { wharf, clock, order, delay } = await open('root:1')
    const t0 = clock.now()
    await delay('eta-120', 0, { eta: 120 })
    await delay('eta-60', 0, { eta: 60 })
    await wharf.start()

    await wharf.drain()
    expect(order).toEqual(['eta-60', 'eta-120'])
    expect(wharf.stats().states.done).toBe(2)
    expect(clock.now()).toBe(t0 + 120_000)
  })
})
