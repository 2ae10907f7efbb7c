// Proves concurrent API calls safe in every interleaving: fast-check's scheduler decides when each
// call is issued, when the engine gets to run a tick (so calls share a tick or not) and when each
// handler settles; every run is audited event by event (engine-harness.ts) and checked for the
// outcome the race must have, whichever side won.
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { chain, type WharfEvent } from '../../src/index.js'
import { fcParams, Rig, type Try } from './engine-harness.js'

const PARAMS = fcParams(100)

/** FC_STATS=1: how often each side of each race won, so a race that never races shows up. */
const sides = new Map<string, number>()
const side = (what: string): void => void sides.set(what, (sides.get(what) ?? 0) + 1)
afterAll(() => {
  if (process.env.FC_STATS) console.log([...sides].sort().map(([k, v]) => `${k}: ${v}`).join('\n'))
})
const DONE: Try = { k: 'done', ms: null }

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown }

/**
 * Issue `call` when the scheduler releases it. Not `awaited`: the scheduler goes on at once, so
 * calls released between two engine ticks are decided in the same tick (group commit), like
 * concurrent callers. `awaited`: the scheduler releases nothing else until the call is committed.
 */
function issue<T>(s: fc.Scheduler, label: string, call: () => Promise<T>, awaited: boolean): Promise<Settled<T>> {
  return new Promise((resolve) => {
    s.scheduleSequence([
      {
        label: `${label}${awaited ? ', awaited' : ''}`,
        builder: () => {
          const settled = new Promise<T>((r) => r(call())).then(
            (value) => resolve({ ok: true, value }),
            (error: unknown) => resolve({ ok: false, error }),
          )
          return awaited ? settled : Promise.resolve()
        },
      },
    ])
  })
}

/**
 * `n` moments, picked by the scheduler, at which the engine catches up (runs the ticks it has
 * pending); everything released between two of them is decided in one tick.
 */
function ticks(s: fc.Scheduler, rig: Rig, n: number): void {
  // One macrotask first, so a handler released just before has posted its outcome.
  const catchUp = (): Promise<void> => new Promise<void>((r) => setImmediate(r)).then(() => rig.wharf.settled())
  for (let i = 0; i < n; i++) s.scheduleSequence([{ label: `engine catches up ${i + 1}`, builder: catchUp }])
}

/** Release everything scheduled, including handler gates that appear meanwhile, until all is quiet. */
async function settleAll(s: fc.Scheduler, rig: Rig): Promise<void> {
  for (let round = 0; ; round++) {
    expect(round, 'the engine never settles').toBeLessThan(10_000)
    await s.waitAll()
    await rig.wharf.settled()
    if (s.count() === 0 && rig.wharf.engine.runningHandlers === 0 && rig.wharf.engine.quiet) return
    await new Promise<void>((r) => setImmediate(r))
  }
}

/** A rig whose handlers settle only when the scheduler releases them. */
function gated(s: fc.Scheduler, channels: string, start = true): Promise<Rig> {
  return Rig.open({ channels, pattern: false, seed: 1, start, gate: (uuid) => s.schedule(Promise.resolve(), `handler of ${uuid} settles`) })
}

/** The job's own events (cascades included), as 'type' or 'type:manual' for done; without
 * job.run_released, which tells when a superseded handler settled, nor job.progressed: neither
 * changes the job's state. */
function historyOf(events: readonly WharfEvent[], uuid: string): string[] {
  const out: string[] = []
  for (const e of events) {
    if (e.type === 'job.run_released' || e.type === 'job.progressed') continue
    if (e.type === 'job.created' && e.job.uuid === uuid) out.push(e.type)
    else if (e.type === 'job.cancelled' && e.cascade.includes(uuid)) out.push('job.cancelled')
    else if ('uuid' in e && e.uuid === uuid) out.push(e.type === 'job.done' && e.manual ? 'job.done:manual' : e.type)
  }
  return out
}

const seqOf = (events: readonly WharfEvent[], uuid: string, type: string): number[] =>
  events.filter((e) => e.type === type && (('uuid' in e && e.uuid === uuid) || (e.type === 'job.cancelled' && e.cascade.includes(uuid)))).map((e) => e.seq)

describe('races', () => {
  it('concurrent withDelay calls with one identity key store one job, and every call gets its uuid', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.record({ key: fc.nat(1), awaited: fc.boolean() }), { minLength: 2, maxLength: 5 }), fc.nat(3), async (s, draws, n) => {
        const rig = await gated(s, 'root:1', false)
        const keys = draws.map((d) => d.key)
        const calls = draws.map(({ key, awaited }, i) =>
          issue(s, `withDelay({ identityKey: k${key} }) #${i}`, () => rig.m.browse([i]).withDelay({ identityKey: `k${key}` }).run([DONE]), awaited))
        ticks(s, rig, n)
        await settleAll(s, rig)
        const results = await Promise.all(calls)
        const stored = await rig.wharf.jobs()
        let batches = 0
        for await (const _ of rig.log.read(0)) batches++
        side(`identity: ${keys.length} calls, ${new Set(keys).size} keys, written in ${batches} ticks`)
        expect(stored.map((j) => j.identityKey).sort()).toEqual([...new Set(keys)].sort().map((k) => `k${k}`))
        results.forEach((r, i) => {
          expect(r.ok).toBe(true)
          const holder = stored.find((j) => j.identityKey === `k${keys[i]}`)!
          expect(r.ok && r.value.uuid).toBe(holder.uuid)
        })
        await rig.audit()
      }),
      PARAMS,
    )
  })

  it('cancel racing the job finishing: the job ends cancelled, no outcome after the cancel, its child cancelled unless it started first', { timeout: 120_000 }, async () => {
    const outcome = fc.constantFrom<Try>(DONE, { k: 'nothing', ms: null }, { k: 'fail', ms: null }, { k: 'retry', ms: null, s: 1, ig: false })
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), outcome, fc.nat(3), fc.boolean(), async (s, first, n, awaited) => {
        const rig = await gated(s, 'root:2')
        const a = rig.m.browse([1]).delayable().run([first])
        const b = rig.m.browse([2]).delayable().run([DONE])
        await chain(a, b).delay()
        await rig.wharf.settled()
        const [A, B] = [a.job!.uuid, b.job!.uuid]
        expect((await rig.wharf.job(A))!.state).toBe('started')
        const cancel = issue(s, `cancel(${A})`, () => rig.wharf.cancel(A), awaited)
        ticks(s, rig, n)
        await settleAll(s, rig)
        expect((await cancel).ok).toBe(true)
        expect((await rig.wharf.job(A))!.state).toBe('cancelled')
        // Whichever came first, the cancel is A's last word: an outcome only before it, at most one.
        const history = historyOf(rig.events, A)
        expect(history.at(-1)).toBe('job.cancelled')
        expect(history.filter((t) => ['job.done', 'job.failed', 'job.postponed'].includes(t)).length).toBeLessThanOrEqual(1)
        const [cancelledAt] = seqOf(rig.events, A, 'job.cancelled')
        const bStarts = seqOf(rig.events, B, 'job.started')
        side(`cancel vs ${first.k}: ${history.join(' ').replace('job.created job.enqueued job.started ', '')}${bStarts.length > 0 ? ', child started first' : ''}`)
        if (bStarts.length > 0) {
          // B started on A done, before the cancel: the cancel does not reach a running child.
          expect(bStarts.every((seq) => seq < cancelledAt!)).toBe(true)
          expect((await rig.wharf.job(B))!.state).toBe('done')
        } else expect((await rig.wharf.job(B))!.state).toBe('cancelled')
        await rig.audit()
      }),
      PARAMS,
    )
  })

  it('requeue racing the start: the job runs again only from a fresh start, and a superseded run decides nothing', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.nat(3), fc.boolean(), fc.boolean(), async (s, n, awaited, yRuns) => {
        // X holds the only slot, so the requeue races Y's start; or (yRuns) Y already runs and
        // the requeue races its handler, and X waits.
        const rig = await gated(s, 'root:1')
        // Y's first call fails, its second succeeds: a superseded first call deciding the second
        // run's outcome would show (the audit checks each outcome against the latest call's try).
        const fail: Try = { k: 'fail', ms: null }
        const [x, y] = yRuns
          ? [null, await rig.m.browse([2]).withDelay().run([fail, DONE])]
          : [await rig.m.browse([1]).withDelay().run([DONE]), await rig.m.browse([2]).withDelay().run([fail, DONE])]
        await rig.wharf.settled()
        expect((await rig.wharf.job(y.uuid))!.state).toBe(yRuns ? 'started' : 'pending')
        const requeue = issue(s, `requeue(${y.uuid})`, () => rig.wharf.requeue(y.uuid), awaited)
        ticks(s, rig, n)
        await settleAll(s, rig)
        expect((await requeue).ok).toBe(true)
        // Y's life: each start ends in its outcome or is superseded by the one requeue.
        const life = historyOf(rig.events, y.uuid).filter((t) => t !== 'job.created' && t !== 'job.enqueued')
        expect(life.filter((t) => t === 'job.requeued')).toHaveLength(1)
        for (let i = 0; i < life.length; i++) {
          if (life[i] === 'job.started') expect(['job.done', 'job.failed', 'job.requeued']).toContain(life[i + 1])
          if (life[i] === 'job.done' || life[i] === 'job.failed') expect([undefined, 'job.requeued']).toContain(life[i + 1])
          if (life[i] === 'job.requeued') expect([undefined, 'job.started']).toContain(life[i + 1])
        }
        const starts = life.filter((t) => t === 'job.started').length
        expect(rig.calls.get(y.uuid)).toBe(starts)
        // root:1 counts running handlers: after a requeue that superseded Y's run, nothing starts
        // before that run's handler has settled (its job.run_released).
        const [requeuedAt] = seqOf(rig.events, y.uuid, 'job.requeued')
        const [releasedAt] = seqOf(rig.events, y.uuid, 'job.run_released')
        if (releasedAt !== undefined) {
          const startsBetween = rig.events.filter((e) => e.type === 'job.started' && e.seq > requeuedAt! && e.seq < releasedAt)
          expect(startsBetween.map((e) => e.seq)).toEqual([])
        }
        // One call: it failed (the requeue came first). Two: the second decided, and succeeded.
        expect((await rig.wharf.job(y.uuid))!.state).toBe(starts === 1 ? 'failed' : 'done')
        if (x !== null) expect((await rig.wharf.job(x.uuid))!.state).toBe('done')
        side(`requeue vs ${yRuns ? 'finish' : 'start'}: ${life.join(' ')}`)
        await rig.audit()
      }),
      PARAMS,
    )
  })

  it('setDone racing a failure: the job ends done, a failure after it is dropped, and the sequential channel runs on', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.nat(3), fc.boolean(), async (s, n, awaited) => {
        const rig = await gated(s, 'root:2,root.s:1:sequential')
        const f = rig.m.browse([1]).delayable({ channel: 'root.s' }).run([{ k: 'fail', ms: null }])
        const c = rig.m.browse([2]).delayable({ channel: 'root.s' }).run([DONE])
        await chain(f, c).delay()
        const g = await rig.m.browse([3]).withDelay({ channel: 'root.s' }).run([DONE])
        await rig.wharf.settled()
        const F = f.job!.uuid
        expect((await rig.wharf.job(F))!.state).toBe('started')
        const setDone = issue(s, `setDone(${F})`, () => rig.wharf.setDone(F), awaited)
        ticks(s, rig, n)
        await settleAll(s, rig)
        expect((await setDone).ok).toBe(true)
        expect(await Promise.all([F, c.job!.uuid, g.uuid].map(async (u) => (await rig.wharf.job(u))!.state))).toEqual(['done', 'done', 'done'])
        const life = historyOf(rig.events, F).filter((t) => t !== 'job.created' && t !== 'job.enqueued')
        // Failed first then set done, or set done first and the failure dropped.
        expect([['job.started', 'job.failed', 'job.done:manual'], ['job.started', 'job.done:manual']]).toContainEqual(life)
        side(`setDone vs failure: ${life.join(' ')}`)
        expect(seqOf(rig.events, c.job!.uuid, 'job.started')[0]).toBeGreaterThan(seqOf(rig.events, F, 'job.done')[0]!)
        // Set done while it ran: root.s:1 stays taken by F's handler until it settles.
        const [releasedAt] = seqOf(rig.events, F, 'job.run_released')
        if (life.length === 2) expect(seqOf(rig.events, c.job!.uuid, 'job.started')[0]).toBeGreaterThan(releasedAt!)
        await rig.audit()
      }),
      PARAMS,
    )
  })

  it('pause racing dispatch and an enqueue: nothing of the channel starts between pause and resume, then all runs', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.nat(3), fc.boolean(), async (s, n, awaited) => {
        const rig = await gated(s, 'root:2,root.p:1')
        const p1 = await rig.m.browse([1]).withDelay({ channel: 'root.p' }).run([DONE])
        const p2 = await rig.m.browse([2]).withDelay({ channel: 'root.p' }).run([DONE])
        const q = await rig.m.browse([3]).withDelay().run([DONE])
        await rig.wharf.settled()
        const pause = issue(s, 'pauseChannel(root.p)', () => rig.wharf.pauseChannel('root.p'), awaited)
        const p3 = issue(s, 'withDelay({ channel: root.p })', () => rig.m.browse([4]).withDelay({ channel: 'root.p' }).run([DONE]), awaited)
        ticks(s, rig, n)
        await settleAll(s, rig)
        const [paused, third] = await Promise.all([pause, p3])
        expect(paused.ok && third.ok).toBe(true)
        const pausedAt = rig.events.find((e) => e.type === 'channel.paused')!.seq
        const onP = new Set([p1.uuid, p2.uuid, third.ok ? third.value.uuid : ''])
        const startsAfter = rig.events.filter((e) => e.type === 'job.started' && onP.has(e.uuid) && e.seq > pausedAt)
        expect(startsAfter.map((e) => e.seq)).toEqual([])
        side(`pause vs dispatch: p2 ${(await rig.wharf.job(p2.uuid))!.state}, p3 ${third.ok ? (await rig.wharf.job(third.value.uuid))!.state : '-'}`)
        await rig.wharf.resumeChannel('root.p')
        await settleAll(s, rig)
        expect(await Promise.all([...onP, q.uuid].map(async (u) => (await rig.wharf.job(u))!.state))).toEqual(['done', 'done', 'done', 'done'])
        await rig.audit()
      }),
      PARAMS,
    )
  })
})
