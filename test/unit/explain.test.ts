// Proves wharf.explain() through the public API, one reason kind at a time: each situation is set
// up on a FakeClock (handlers sleep, so slots stay taken), explained, and then shown to behave as
// the explanation said (the job starts when, and only when, the reason goes away).
import { afterEach, describe, expect, it } from 'vitest'
import {
  chain,
  group,
  FailedJobError,
  FakeClock,
  InvalidPropertyError,
  MemoryLog,
  RetryableJobError,
  UnknownJobError,
  Wharf,
  WharfClosedError,
  type Clock,
  type Explanation,
  type JobContext,
  type JobProperties,
  type JobView,
  type TimerHandle,
} from '../../src/index.js'
import { failure } from './helpers.js'

const HOUR_MS = 3_600_000

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close({ timeoutMs: 0 })
})

const methods = {
  /** Runs for an hour of fake time: its slots stay taken. */
  async hold(this: JobContext) {
    await this.sleep(HOUR_MS)
    return 'held'
  },
  ok() {
    return 'ok'
  },
  fail(): never {
    throw new FailedJobError('broken')
  },
  retry(): never {
    throw new RetryableJobError('later', { seconds: 30 })
  },
}
type Method = keyof typeof methods

/** A clock whose time moves only when a test sets it, and whose timers never fire. */
class StillClock implements Clock {
  nowMs = Date.UTC(2026, 0, 1)
  now(): number {
    return this.nowMs
  }
  setTimer(dueMs: number): TimerHandle {
    return { dueMs }
  }
  clearTimer(): void {}
  sleep(): Promise<void> {
    return new Promise(() => {})
  }
}

async function open(channels: string, options: { start?: boolean; log?: MemoryLog; clock?: FakeClock } = {}) {
  const clock = options.clock ?? new FakeClock()
  const wharf = await Wharf.open({ channels, clock, ...(options.log === undefined ? {} : { log: options.log }) })
  opened.push(wharf)
  const m = wharf.model('m', methods)
  if (options.start !== false) await wharf.start()
  const delay = (method: Method, props: JobProperties = {}): Promise<JobView> => m.withDelay(props)[method]()
  const explain = (job: JobView): Promise<Explanation> => wharf.explain(job.uuid)
  const state = async (job: JobView): Promise<string | undefined> => (await wharf.job(job.uuid))?.state
  return { clock, wharf, m, delay, explain, state }
}

describe('explain: jobs that wait for time or for other jobs', () => {
  it('eta: a job whose eta is ahead waits until then, and starts at it', async () => {
    const { clock, delay, explain, state } = await open('root:1')
    const job = await delay('hold', { eta: 60 })
    expect(await explain(job)).toEqual({ state: 'pending', reasons: [{ kind: 'eta', untilMs: job.eta }] })
    await clock.advance(59_999)
    expect(await state(job)).toBe('pending')
    await clock.advance(1)
    expect(await explain(job)).toEqual({ state: 'started', reasons: [{ kind: 'running', sinceMs: job.eta }] })
  })

  it('retry-wait: a postponed try waits for its retry eta, with the tries made; a requeue makes that eta its own', async () => {
    const { clock, wharf, delay, explain } = await open('root:1')
    const job = await delay('retry', { maxRetries: 3 })
    await wharf.settled()
    const retryAtMs = clock.now() + 30_000
    expect(await explain(job)).toEqual({ state: 'pending', reasons: [{ kind: 'retry-wait', untilMs: retryAtMs, retry: 1 }] })
    await wharf.requeue(job.uuid)
    // Requeued: tries reset, a new start; the eta it keeps is no longer a retry's.
    expect(await explain(job)).toEqual({ state: 'pending', reasons: [{ kind: 'eta', untilMs: retryAtMs }] })
  })

  it('parents: a job of a graph waits for the parents that are not done yet', async () => {
    const { wharf, m, explain } = await open('root:2')
    const first = m.delayable().hold()
    const second = m.delayable().ok()
    const last = m.delayable().ok()
    await chain(first, second, last).delay()
    await wharf.settled()
    expect(await explain(second.job!)).toEqual({ state: 'wait_dependencies', reasons: [{ kind: 'parents', waitingFor: [first.job!.uuid], failed: [], cancelled: [] }] })
    expect(await explain(last.job!)).toEqual({ state: 'wait_dependencies', reasons: [{ kind: 'parents', waitingFor: [second.job!.uuid], failed: [], cancelled: [] }] })
  })

  it('parents: names the failed and cancelled ones, which leave the job waiting until someone acts', async () => {
    // "Waits for its parents" alone reads as "it will run": a failed or cancelled parent is
    // never done by itself, so the job waits until that parent is requeued or set done.
    const { wharf, m, explain } = await open('root:3')
    const broken = m.delayable().fail()
    const dropped = m.delayable().hold()
    const slow = m.delayable().hold()
    const child = m.delayable().ok()
    await chain(group(broken, dropped, slow), child).delay()
    await wharf.settled()
    await wharf.cancel(dropped.job!.uuid)
    const [b, d, s] = [broken.job!.uuid, dropped.job!.uuid, slow.job!.uuid]
    expect(await explain(child.job!)).toEqual({ state: 'wait_dependencies', reasons: [{ kind: 'parents', waitingFor: [b, d, s], failed: [b], cancelled: [d] }] })
    await wharf.setDone(b)
    await wharf.requeue(d)
    expect(await explain(child.job!)).toEqual({ state: 'wait_dependencies', reasons: [{ kind: 'parents', waitingFor: [d, s], failed: [], cancelled: [] }] })
  })
})

describe('explain: the gates of a channel path', () => {
  it('channel-full: the first full level of the path, root first, with its running jobs and capacity', async () => {
    const { clock, delay, explain, state } = await open('root:2,root.a:1')
    const a1 = await delay('hold', { channel: 'root.a' })
    const b1 = await delay('hold', { channel: 'root.b' })
    const a2 = await delay('hold', { channel: 'root.a' })
    // root runs 2 of 2 and root.a 1 of 1: the first full level, root first, is root.
    expect(await explain(a2)).toEqual({ state: 'pending', reasons: [{ kind: 'channel-full', channel: 'root', running: 2, capacity: 2 }] })
    expect([await state(a1), await state(b1)]).toEqual(['started', 'started'])
    await clock.advance(HOUR_MS) // both finish; a2 takes the slot root.a frees
    expect(await state(a2)).toBe('started')
  })

  it('paused: every paused level of the path, with the other gates, in path order', async () => {
    const { wharf, delay, explain, state } = await open('root:1,root.a:2')
    await delay('hold')
    const job = await delay('ok', { channel: 'root.a' })
    await wharf.pauseChannel('root.a')
    await wharf.pauseChannel('root')
    expect(await explain(job)).toEqual({
      state: 'pending',
      reasons: [
        { kind: 'paused', channel: 'root' },
        { kind: 'channel-full', channel: 'root', running: 1, capacity: 1 },
        { kind: 'paused', channel: 'root.a' },
      ],
    })
    await wharf.resumeChannel('root')
    expect((await explain(job)).reasons).toEqual([
      { kind: 'channel-full', channel: 'root', running: 1, capacity: 1 },
      { kind: 'paused', channel: 'root.a' },
    ])
    expect(await state(job)).toBe('pending')
  })

  it('throttled: a throttled level waits until its window ends', async () => {
    const { clock, delay, explain, state } = await open('root:4,root.t:4:throttle=10')
    const startMs = clock.now()
    await delay('ok', { channel: 'root.t' })
    const second = await delay('ok', { channel: 'root.t' })
    expect(await explain(second)).toEqual({ state: 'pending', reasons: [{ kind: 'throttled', channel: 'root.t', untilMs: startMs + 10_000 }] })
    await clock.advance(9_999)
    expect(await state(second)).toBe('pending')
    await clock.advance(1)
    expect(await state(second)).toBe('done')
  })

  it('channel-full with capacity 0: root:0 turns the runner off', async () => {
    const { wharf, delay, explain } = await open('root:0')
    const job = await delay('ok')
    await wharf.settled()
    expect((await explain(job)).reasons).toEqual([{ kind: 'channel-full', channel: 'root', running: 0, capacity: 0 }])
  })
})

describe('explain: order in a channel', () => {
  it('sequential-blocked by the failed job that holds a sequential channel', async () => {
    const { wharf, delay, explain, state } = await open('root:2,root.s:1:sequential')
    const broken = await delay('fail', { channel: 'root.s' })
    const next = await delay('ok', { channel: 'root.s' })
    await wharf.settled()
    expect(await state(broken)).toBe('failed')
    expect(await explain(next)).toEqual({ state: 'pending', reasons: [{ kind: 'sequential-blocked', channel: 'root.s', by: broken.uuid }] })
    await wharf.setDone(broken.uuid)
    await wharf.settled()
    expect(await state(next)).toBe('done')
  })

  it('sequential-blocked by the eta job that keeps a sequential channel in order', async () => {
    const { clock, delay, explain, state } = await open('root:2,root.s:1:sequential')
    const first = await delay('ok', { channel: 'root.s', eta: 60 })
    const later = await delay('ok', { channel: 'root.s' })
    expect(await explain(later)).toEqual({ state: 'pending', reasons: [{ kind: 'sequential-blocked', channel: 'root.s', by: first.uuid }] })
    await clock.advance(60_000)
    expect([await state(first), await state(later)]).toEqual(['done', 'done'])
  })

  it('outranked: the ready jobs of its channel that go before it, with the gate that holds them all', async () => {
    const { wharf, delay, explain } = await open('root:1')
    await delay('hold')
    const second = await delay('ok', { priority: 5 })
    const third = await delay('ok', { priority: 7 })
    const fourth = await delay('ok', { priority: 7 })
    await wharf.settled()
    const full = { kind: 'channel-full', channel: 'root', running: 1, capacity: 1 }
    expect((await explain(second)).reasons).toEqual([full])
    expect((await explain(third)).reasons).toEqual([full, { kind: 'outranked', channel: 'root', ahead: 1 }])
    expect((await explain(fourth)).reasons).toEqual([full, { kind: 'outranked', channel: 'root', ahead: 2 }])
  })

  it('outranked on a shared level: a job of another channel that sorts first takes its last slot in the next tick', async () => {
    const { wharf, delay, explain, state } = await open('root:1', { start: false })
    const urgent = await delay('hold', { channel: 'root.a', priority: 1 })
    const job = await delay('hold', { channel: 'root.b' })
    // Not dispatching yet: each is its channel's next, every level open; root has one slot.
    expect(await explain(urgent)).toEqual({ state: 'pending', reasons: [{ kind: 'stopped' }] })
    expect(await explain(job)).toEqual({ state: 'pending', reasons: [{ kind: 'stopped' }, { kind: 'outranked', channel: 'root', ahead: 1 }] })
    await wharf.start()
    expect([await state(urgent), await state(job)]).toEqual(['started', 'pending'])
    expect((await explain(job)).reasons).toEqual([{ kind: 'channel-full', channel: 'root', running: 1, capacity: 1 }])
  })

  it('an empty list: it can start now, and the next tick starts it', async () => {
    // Time moves on without the engine's wake-up firing: the moment between a throttle window's
    // end and the tick it wakes.
    const clock = new StillClock()
    const wharf = await Wharf.open({ clock, channels: 'root:2,root.t:2:throttle=1' })
    opened.push(wharf)
    const m = wharf.model('m', methods)
    await wharf.start()
    await m.withDelay({ channel: 'root.t' }).hold()
    const next = await m.withDelay({ channel: 'root.t' }).hold()
    expect((await wharf.explain(next.uuid)).reasons).toEqual([{ kind: 'throttled', channel: 'root.t', untilMs: clock.nowMs + 1000 }])
    clock.nowMs += 1000
    expect(await wharf.explain(next.uuid)).toEqual({ state: 'pending', reasons: [] })
    wharf.model('poke', { run: () => 'ok' }) // registering a model runs a tick
    await wharf.settled()
    expect((await wharf.job(next.uuid))?.state).toBe('started')
  })
})

describe('explain: handlers and lifecycle', () => {
  it('no-handler: a job whose function this process has not registered, until it does', async () => {
    const log = new MemoryLog()
    const clock = new FakeClock()
    const channels = 'root:3,root.s:1:sequential,root.n:1'
    const first = await Wharf.open({ log, clock, channels })
    const ghost = first.model('ghost', { run: () => 'boo' })
    const alone = await ghost.withDelay().run()
    const head = await ghost.withDelay({ channel: 'root.s' }).run()
    const before = await ghost.withDelay({ channel: 'root.n' }).run()
    await first.close()
    const { wharf, m, explain, state } = await open(channels, { log, clock })
    const behind = await m.withDelay({ channel: 'root.s' }).ok()
    const running = await m.withDelay({ channel: 'root.n' }).hold()
    const [second, third] = [await m.withDelay({ channel: 'root.n' }).ok(), await m.withDelay({ channel: 'root.n' }).ok()]
    expect(await explain(alone)).toEqual({ state: 'pending', reasons: [{ kind: 'no-handler', function: 'ghost.run' }] })
    expect(await explain(head)).toEqual({ state: 'pending', reasons: [{ kind: 'no-handler', function: 'ghost.run' }] })
    // A head without a handler keeps a sequential channel's order.
    expect(await explain(behind)).toEqual({ state: 'pending', reasons: [{ kind: 'sequential-blocked', channel: 'root.s', by: head.uuid }] })
    // Elsewhere the pick passes it by: it is not counted ahead of the jobs behind it.
    expect(await state(running)).toBe('started')
    const full = { kind: 'channel-full', channel: 'root.n', running: 1, capacity: 1 }
    expect((await explain(before)).reasons).toEqual([{ kind: 'no-handler', function: 'ghost.run' }, full])
    expect((await explain(second)).reasons).toEqual([full])
    expect((await explain(third)).reasons).toEqual([full, { kind: 'outranked', channel: 'root.n', ahead: 1 }])
    wharf.model('ghost', { run: () => 'boo' })
    await wharf.settled()
    expect([await state(alone), await state(head), await state(behind)]).toEqual(['done', 'done', 'done'])
  })

  it('stopped: before start() nothing is dispatched, and the other reasons are given too', async () => {
    const { wharf, delay, explain, state } = await open('root:2,root.p:1:paused', { start: false })
    const job = await delay('ok')
    // Behind the first in its channel, but the tick that starts the first starts it too.
    const next = await delay('ok')
    const paused = await delay('ok', { channel: 'root.p' })
    expect((await explain(job)).reasons).toEqual([{ kind: 'stopped' }])
    expect((await explain(next)).reasons).toEqual([{ kind: 'stopped' }])
    expect((await explain(paused)).reasons).toEqual([{ kind: 'stopped' }, { kind: 'paused', channel: 'root.p' }])
    await wharf.start()
    expect([await state(job), await state(next), await state(paused)]).toEqual(['done', 'done', 'pending'])
  })

  it('running since its start; finished with the time it finished, done and cancelled ones from history', async () => {
    const { clock, wharf, delay, explain } = await open('root:3')
    const startMs = clock.now()
    const held = await delay('hold')
    const done = await delay('ok')
    const cancelled = await delay('hold', { eta: 60 })
    await clock.advance(5_000)
    await wharf.cancel(cancelled.uuid)
    const failed = await delay('fail')
    await wharf.settled()
    expect(await explain(held)).toEqual({ state: 'started', reasons: [{ kind: 'running', sinceMs: startMs }] })
    expect(await explain(done)).toEqual({ state: 'done', reasons: [{ kind: 'finished', state: 'done', atMs: startMs }] })
    expect(await explain(cancelled)).toEqual({ state: 'cancelled', reasons: [{ kind: 'finished', state: 'cancelled', atMs: startMs + 5_000 }] })
    expect(await explain(failed)).toEqual({ state: 'failed', reasons: [{ kind: 'finished', state: 'failed', atMs: startMs + 5_000 }] })
    // Done and cancelled jobs left memory for history: that is where explain found them.
    expect(wharf.engine.state.jobs.has(done.uuid) || wharf.engine.state.jobs.has(cancelled.uuid)).toBe(false)
  })

  it('the time a job failed survives a snapshot and a reopen', async () => {
    const log = new MemoryLog()
    const clock = new FakeClock()
    const first = await open('root:1', { log, clock })
    await clock.advance(7_000)
    const failed = await first.delay('fail')
    await first.wharf.settled()
    await first.wharf.snapshot()
    await first.wharf.close()
    const second = await open('root:1', { log, clock })
    expect(second.wharf.openReport.snapshotSeq).toBeGreaterThan(0)
    expect(await second.explain(failed)).toEqual({ state: 'failed', reasons: [{ kind: 'finished', state: 'failed', atMs: failed.createdAt }] })
  })

  it('refuses an unknown uuid, a bad one, and any call after close', async () => {
    const { wharf } = await open('root:1')
    const unknown = await failure(() => wharf.explain('nope'))
    expect(unknown).toBeInstanceOf(UnknownJobError)
    expect((unknown as Error).message).toContain('"nope"')
    for (const bad of ['', 42, null, undefined]) {
      const error = await failure(() => wharf.explain(bad as string))
      expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message).toMatch(/^explain\(\): uuid must be a non-empty string/)
    }
    await wharf.close()
    expect(await failure(() => wharf.explain('nope'))).toBeInstanceOf(WharfClosedError)
  })

  it("names the batch of an onDone uuid it refuses: that job is stored once its batch is done", async () => {
    const { wharf, m } = await open('root:1')
    const batch = await wharf.batch('import', [m.delayable().hold(), m.delayable().ok()], { onDone: m.delayable().ok() })
    const unknown = await failure(() => wharf.explain(batch.onDone[0]!))
    expect(unknown).toBeInstanceOf(UnknownJobError)
    expect((unknown as UnknownJobError).uuid).toBe(batch.onDone[0])
    expect((unknown as Error).message).toBe(
      `no job with uuid "${batch.onDone[0]}": it is the onDone job of batch "import" (${batch.uuid}), stored once that batch is done (0 of 2 jobs done)`,
    )
  })

  it('says of the onDone uuid of a failed batch that the batch will not be done until someone acts', async () => {
    // "Stored once that batch is done" alone reads as "wait": a failed batch is never done by itself.
    const { wharf, m } = await open('root:2')
    const batch = await wharf.batch('import', [m.delayable().ok(), m.delayable().fail()], { onDone: m.delayable().ok() })
    await wharf.settled()
    expect((await wharf.batchView(batch.uuid))?.state).toBe('failed')
    const unknown = await failure(() => wharf.explain(batch.onDone[0]!))
    expect(unknown).toBeInstanceOf(UnknownJobError)
    expect((unknown as Error).message).toBe(
      `no job with uuid "${batch.onDone[0]}": it is the onDone job of batch "import" (${batch.uuid}), stored once that batch is done (1 of 2 jobs done); ` +
        'the batch is failed (1 failed, 0 cancelled): nothing of it can run until someone acts on it (requeue or setDone its failed or cancelled jobs, cancel or remove the failed ones)',
    )
  })
})
