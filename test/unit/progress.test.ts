// Proves handler progress (this.progress in a JobContext): reports are checked, coalesced to one
// job.progressed per 100 ms of clock time (the latest written when the interval ends or the try
// does), dropped for a run that no longer owns its job, reset when a try starts, and kept by
// snapshots, replay and history. A FakeClock drives time; events are counted with on('transition').
import { describe, expect, it } from 'vitest'
import { FakeClock, InvalidPropertyError, RetryableJobError, Wharf, type JobProgress, type OpenOptions, type WharfEvent } from '../../src/index.js'
import { initialState, parseChannelConfig, type Command, type JobSpec, type State } from '../../src/engine/core/index.js'
import { decide } from '../../src/engine/core/decide.js'
import { evolve } from '../../src/engine/core/evolve.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import { closedAfterEach, failure, gate, tempLevelLogs } from './helpers.js'

// Registered in this order so that each test's Wharfs close before their directories go.
const temp = tempLevelLogs('wharf-progress-')
const opened = closedAfterEach()

type Step = (ctx: { progress(fraction: number, message?: string): void; sleep(ms: number): Promise<void> }, call: number) => Promise<unknown>

/** A Wharf whose `run(name)` handler plays `steps[name]` (with how many times it was called). */
async function setup(steps: Record<string, Step>, options: OpenOptions = {}) {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ clock, ...options })
  opened.push(wharf)
  const calls: Record<string, number> = {}
  const m = wharf.model('test.progress', {
    async run(name: string) {
      calls[name] = (calls[name] ?? 0) + 1
      return steps[name]!(this, calls[name])
    },
    check(fraction: number, message?: string) {
      this.progress(fraction, message)
      return 'checked'
    },
  })
  const events: WharfEvent[] = []
  wharf.on('transition', (event) => events.push(event))
  const progressed = () => events.filter((e) => e.type === 'job.progressed').map((e) => [e.fraction, e.message, e.at - clock.now()])
  return { clock, wharf, m, events, progressed }
}

const P = (fraction: number, message: string | null = null): JobProgress => ({ fraction, message })

describe('coalescing', () => {
  it('three reports within 100 ms: one write at once, the last written when the try ends', async () => {
    const held = gate()
    const { clock, wharf, m, events, progressed } = await setup({
      three: async (ctx) => {
        ctx.progress(0.1, 'a')
        await ctx.sleep(30)
        ctx.progress(0.2, 'b')
        await ctx.sleep(30)
        ctx.progress(0.3, 'c')
        await held.wait
        return 'ok'
      },
    })
    const job = await m.withDelay().run('three')
    await wharf.start()
    await clock.advance(60)
    expect(progressed()).toEqual([[0.1, 'a', -60]])
    expect((await wharf.job(job.uuid))!.progress).toEqual(P(0.1, 'a'))
    held.open()
    await wharf.idle()
    expect(progressed()).toEqual([[0.1, 'a', -60], [0.3, 'c', 0]])
    // Written while the job was still started, just before its outcome.
    expect(events.slice(-2).map((e) => e.type)).toEqual(['job.progressed', 'job.done'])
    expect((await wharf.job(job.uuid))!.progress).toEqual(P(0.3, 'c'))
  })

  it('a value held past the interval is written when it ends; an unchanged one is not written again', async () => {
    const { clock, wharf, m, progressed } = await setup({
      long: async (ctx) => {
        ctx.progress(0.1)
        ctx.progress(0.2)
        await ctx.sleep(500)
        ctx.progress(0.2)
        return 'ok'
      },
    })
    await m.withDelay().run('long')
    await wharf.start()
    await wharf.drain()
    expect(clock.now()).toBe(new FakeClock().now() + 500)
    expect(progressed()).toEqual([[0.1, null, -500], [0.2, null, -400]])
  })

  it('a try that reports in a tight loop for a second writes about once per 100 ms, not per report', async () => {
    const { wharf, m, progressed } = await setup({
      loop: async (ctx) => {
        for (let i = 1; i <= 1000; i++) {
          ctx.progress(i / 1000, `item ${i}`)
          await ctx.sleep(1)
        }
      },
    })
    const job = await m.withDelay().run('loop')
    await wharf.start()
    await wharf.drain()
    const writes = progressed()
    expect(writes.length).toBeGreaterThanOrEqual(10)
    expect(writes.length).toBeLessThanOrEqual(11)
    for (let i = 1; i < writes.length; i++) expect((writes[i]![2] as number) - (writes[i - 1]![2] as number)).toBeGreaterThanOrEqual(100)
    expect((await wharf.job(job.uuid))!.progress).toEqual(P(1, 'item 1000'))
  })
})

describe('tries', () => {
  it('a try starts at null; a job waiting for its retry shows how far the last try got', async () => {
    const seenAtStart: (JobProgress | null)[] = []
    const { clock, wharf } = await setup({})
    const r = wharf.model('test.retry', {
      async run() {
        seenAtStart.push(this.job!.progress)
        if (this.job!.retry === 1) {
          this.progress(0.5, 'first try')
          throw new RetryableJobError('busy', { seconds: 60 })
        }
        return 'second try'
      },
    })
    const job = await r.withDelay().run()
    await wharf.start()
    await wharf.idle()
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'pending', progress: P(0.5, 'first try') })
    await clock.advance(60_000)
    await wharf.idle()
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'done', progress: null, retry: 2 })
    expect(seenAtStart).toEqual([null, null])
  })

  it("a superseded run's report is dropped: after a requeue, and after a cancel (which keeps what was reached)", async () => {
    const old = gate()
    const next = gate()
    const { wharf, m, events } = await setup({
      requeued: async (ctx, call) => {
        await (call === 1 ? old : next).wait
        if (call === 1) ctx.progress(0.9, 'late')
      },
    }, { channels: 'root:2' })
    const job = await m.withDelay().run('requeued')
    await wharf.start()
    await wharf.requeue(job.uuid)
    await wharf.settled()
    expect((await wharf.job(job.uuid))!.state).toBe('started') // run 2
    const released = new Promise<void>((resolve) => wharf.on('transition', (e) => e.type === 'job.run_released' && resolve()))
    old.open()
    await released
    expect(events.filter((e) => e.type === 'job.progressed')).toEqual([])
    expect((await wharf.job(job.uuid))!.progress).toBe(null)
    next.open()
    await wharf.idle()
  })

  it("a cancelled job keeps the progress its try reached; the handler's later reports are dropped", async () => {
    const held = gate()
    const { wharf, m, progressed } = await setup({
      cancelled: async (ctx) => {
        ctx.progress(0.3, 'reached')
        await held.wait
        ctx.progress(0.9, 'late')
      },
    })
    const job = await m.withDelay().run('cancelled')
    await wharf.start()
    await wharf.settled()
    await wharf.cancel(job.uuid)
    held.open()
    await wharf.idle()
    expect(progressed().map(([f, msg]) => [f, msg])).toEqual([[0.3, 'reached']])
    expect(await wharf.job(job.uuid)).toMatchObject({ state: 'cancelled', progress: P(0.3, 'reached') })
  })
})

describe('checks', () => {
  it('refuses a fraction outside 0..1 or not a finite number, and a message that is not a string', async () => {
    const { m } = await setup({})
    const bad: [unknown[], string][] = [
      [[-0.1], 'fraction must be a finite number from 0 to 1, got -0.1'],
      [[1.0001], 'got 1.0001'],
      [[Number.NaN], 'got NaN'],
      [[Number.POSITIVE_INFINITY], 'got Infinity'],
      [['0.5'], 'got "0.5"'],
      [[], 'got undefined'],
      [[0.5, 42], 'progress(): message must be a string (or left out), got 42'],
      [[0.5, { text: 'x' }], 'got {"text":"x"}'],
    ]
    for (const [args, message] of bad) {
      const check = m.check as unknown as (...a: unknown[]) => unknown
      const error = await failure(() => check(...args))
      expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message).toContain(message)
    }
    expect(m.check(0)).toBe('checked')
    expect(m.check(1, 'all')).toBe('checked')
  })

  it('fails the try when the handler does not catch the refusal; cuts a long message at 1,000 characters', async () => {
    const emoji = '\u{1F600}'
    const { wharf, m } = await setup({
      bad: async (ctx) => ctx.progress(2),
      long: async (ctx) => ctx.progress(-0, 'x'.repeat(1500)),
      pair: async (ctx) => ctx.progress(0.5, 'x'.repeat(999) + emoji),
    })
    const [bad, long, pair] = await Promise.all(['bad', 'long', 'pair'].map((name) => m.withDelay({ maxRetries: 1 }).run(name)))
    await wharf.start()
    await wharf.idle()
    expect(await wharf.job(bad!.uuid)).toMatchObject({ state: 'failed', excName: 'InvalidPropertyError', progress: null })
    const cut = (await wharf.job(long!.uuid))!.progress!
    expect(Object.is(cut.fraction, 0)).toBe(true)
    expect(cut.message).toBe('x'.repeat(1000))
    // Never half of a surrogate pair: the emoji does not fit, so it goes whole.
    expect((await wharf.job(pair!.uuid))!.progress!.message).toBe('x'.repeat(999))
  })

  it('a direct call (not a stored job) checks, and writes nothing', async () => {
    const { wharf, m, events } = await setup({})
    expect(m.browse([1]).check(0.5, 'direct')).toBe('checked')
    await wharf.settled()
    expect(events).toEqual([])
  })
})

describe('persistence', () => {
  it('survives close and reopen on disk (replayed, and from a snapshot), and stays in the history view', async () => {
    const path = await temp.path()
    const steps: Record<string, Step> = {
      hang: async (ctx) => {
        ctx.progress(0.4, 'stuck')
        await new Promise(() => {})
      },
      finish: async (ctx) => ctx.progress(1, 'all done'),
    }
    const first = await setup(steps, { path, channels: 'root:2' })
    const hung = await first.m.withDelay().run('hang')
    const done = await first.m.withDelay().run('finish')
    await first.wharf.start()
    await first.wharf.settled()
    expect((await first.wharf.job(hung.uuid))!.progress).toEqual(P(0.4, 'stuck'))
    await first.wharf.close({ timeoutMs: 0 })

    // Replayed from the log: the dead run's job is recovered (pending) with its progress.
    const second = await setup(steps, { path })
    expect(await second.wharf.job(hung.uuid)).toMatchObject({ state: 'pending', progress: P(0.4, 'stuck') })
    expect(await second.wharf.job(done.uuid)).toMatchObject({ state: 'done', progress: P(1, 'all done') })
    await second.wharf.snapshot()
    await second.wharf.close()

    const third = await setup(steps, { path })
    expect(third.wharf.openReport.snapshotSeq).toBeGreaterThan(0)
    expect(await third.wharf.job(hung.uuid)).toMatchObject({ state: 'pending', progress: P(0.4, 'stuck') })
    expect(await third.wharf.job(done.uuid)).toMatchObject({ state: 'done', progress: P(1, 'all done') })
  })
})

describe('in the core', () => {
  const config = parseChannelConfig('root:2')
  const spec = (uuid: string): JobSpec => ({
    uuid, graphUuid: null, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null,
    maxRetries: 5, description: 'm.run', channel: 'root', identityKey: null, dependsOn: [], createdAt: 0,
  })
  function apply(state: State, command: Command, now = 0): string[] {
    const decision = decide(state, command, now)
    if (!decision.ok) throw decision.error
    for (const event of decision.events) {
      event.seq = state.seq + 1
      evolve(state, event)
    }
    return decision.events.map((e) => e.type)
  }
  /** A started job 'a' at run 1 that reported 0.5. */
  function started(): State {
    const state = initialState(config)
    apply(state, { type: 'enqueue', jobs: [spec('a')] })
    evolve(state, { seq: state.seq + 1, v: 1, at: 0, type: 'job.enqueued', uuid: 'a' })
    apply(state, { type: 'start', uuid: 'a' })
    apply(state, { type: 'progress', uuid: 'a', run: 1, fraction: 0.5, message: 'half' })
    return state
  }

  it('decides job.progressed for the current run only', () => {
    const state = started()
    expect(state.jobs.get('a')!.progress).toEqual(P(0.5, 'half'))
    expect(Object.isFrozen(state.jobs.get('a')!.progress)).toBe(true)
    expect(apply(state, { type: 'progress', uuid: 'a', run: 2, fraction: 0.9, message: null })).toEqual([])
    expect(apply(state, { type: 'progress', uuid: 'gone', run: 1, fraction: 0.9, message: null })).toEqual([])
    apply(state, { type: 'cancel', uuid: 'a' })
    expect(apply(state, { type: 'progress', uuid: 'a', run: 1, fraction: 0.9, message: null })).toEqual([])
  })

  it('keeps progress in a snapshot; a snapshot written before progress reads as null', () => {
    const state = started()
    const snapshot = JSON.parse(JSON.stringify(snapshotOf(state))) as ReturnType<typeof snapshotOf>
    expect(snapshot.jobs[0]![29]).toEqual([0.5, 'half'])
    expect(restoreState(config, snapshot).jobs.get('a')!.progress).toEqual(P(0.5, 'half'))
    snapshot.jobs[0]!.length = 28
    expect(restoreState(config, snapshot).jobs.get('a')!.progress).toBe(null)
  })
})
