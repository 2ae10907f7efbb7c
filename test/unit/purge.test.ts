// Proves purge() through the public API: every job of one state goes (strictly before `before`
// when given: doneAt, cancelledAt, or when it failed), in bounded batches (PURGE_BATCH per tick),
// graphs taken in part where only some of their jobs match, jobs held by the graph rule left;
// bad options are refused; on LevelDB the result survives a reopen.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chain, InvalidPropertyError, type Wharf } from '../../src/index.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { PURGE_BATCH } from '../../src/engine/core/limits.js'
import { failure } from './helpers.js'
import { closeOpenedAfterEach, openRemoval, states, uuidsOf } from './removal-helpers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-purge-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})
closeOpenedAfterEach()

/** Runs one job of each kind now: done, failed, and one cancelled before it ran. */
async function oneOfEach(wharf: Wharf, m: Awaited<ReturnType<typeof openRemoval>>['m'], tag: string) {
  const done = await m.withDelay().run(tag)
  const failed = await m.withDelay().run('fail')
  const cancelled = await m.withDelay({ eta: 3600 }).run(tag)
  await wharf.cancel(cancelled.uuid)
  await wharf.idle()
  return [done.uuid, failed.uuid, cancelled.uuid]
}

describe('purge()', () => {
  for (const [state, index] of [['done', 0], ['failed', 1], ['cancelled', 2]] as const) {
    it(`removes ${state} jobs that entered the state strictly before \`before\`, and only those`, async () => {
      const { wharf, m, clock } = await openRemoval()
      await wharf.start()
      const old = await oneOfEach(wharf, m, 'old')
      await clock.advance(60_000)
      const cut = new Date(clock.now())
      const recent = await oneOfEach(wharf, m, 'new') // at the cut itself: kept
      expect(await wharf.purge({ state, before: cut })).toBe(1)
      const expected = ['done', 'failed', 'cancelled']
      expect(await states(wharf, old)).toEqual(expected.map((s, i) => (i === index ? 'gone' : s)))
      expect(await states(wharf, recent)).toEqual(expected)
      expect(await wharf.purge({ state })).toBe(1)
      expect(await states(wharf, recent)).toEqual(expected.map((s, i) => (i === index ? 'gone' : s)))
      expect(wharf.stats().states[state]).toBe(0)
      checkInvariants(wharf.engine.state)
    })
  }

  it('takes more than one batch, one tick each', async () => {
    const { wharf, m } = await openRemoval()
    const count = 2 * PURGE_BATCH + 7
    for (let i = 0; i < count; i++) void m.withDelay().run(String(i))
    await wharf.start()
    await wharf.idle()
    expect(wharf.stats().states.done).toBe(count)
    const batches: number[] = []
    wharf.on('transition', (e) => {
      if (e.type === 'jobs.removed') batches.push(e.memory.length + e.history.length)
    })
    expect(await wharf.purge({ state: 'done' })).toBe(count)
    expect(batches).toEqual([PURGE_BATCH, PURGE_BATCH, 7])
    expect(await wharf.jobs()).toEqual([])
    expect(wharf.stats().states.done).toBe(0)
  })

  it('takes the matching jobs of a graph and leaves the rest, and leaves a failed job whose child waits for it', async () => {
    const { wharf, m } = await openRemoval()
    // A graph in history with done and cancelled jobs: a → b, a → c (c cancelled before it ran).
    const [a, b, c] = [m.delayable().run('a'), m.delayable().run('b'), m.delayable({ eta: 3600 }).run('c')]
    a.onDone(b)
    a.onDone(c)
    await a.delay()
    await wharf.cancel(c.job!.uuid)
    // A failed job holding its child back, and a failed job alone.
    const [f, g] = [m.delayable().run('fail'), m.delayable().run('g')]
    await chain(f, g).delay()
    const lone = await m.withDelay().run('fail')
    await wharf.start()
    await wharf.idle()
    const abc = [a, b, c].map((d) => d.job!.uuid)
    expect(await states(wharf, abc)).toEqual(['done', 'done', 'cancelled'])

    expect(await wharf.purge({ state: 'done' })).toBe(2)
    expect(await states(wharf, abc)).toEqual(['gone', 'gone', 'cancelled'])
    expect(await wharf.job(abc[2]!)).toMatchObject({ dependsOn: [] })
    expect(uuidsOf((await wharf.graph(a.job!.graphUuid!)).jobs)).toEqual([abc[2]])

    expect(await wharf.purge({ state: 'failed' })).toBe(1)
    expect(await states(wharf, [f.job!.uuid, g.job!.uuid, lone.uuid])).toEqual(['failed', 'wait_dependencies', 'gone'])
    checkInvariants(wharf.engine.state)
  })

  // Found by hunting: history as the shell read it before the tick does not yet hold the jobs an
  // earlier call of the same tick finished (they are in the batch's outbox), so purge missed them
  // although its jobs.removed comes after their job.cancelled / job.done in the log.
  it('takes the jobs a call made just before it, in the same tick, finished', async () => {
    const { wharf, m } = await openRemoval()
    const lone = await m.withDelay({ eta: 3600 }).run('lone')
    const [, purged] = await Promise.all([wharf.cancel(lone.uuid), wharf.purge({ state: 'cancelled' })])
    expect(purged).toBe(1)
    expect(await wharf.job(lone.uuid)).toBeUndefined()

    // A graph that leaves memory in the same tick: a done, f failed, then f cancelled by the call
    // before the purge; the purge takes f and leaves a in history without its edge to f.
    const [a, f] = [m.delayable().run('a'), m.delayable().run('fail')]
    await chain(a, f).delay()
    await wharf.start()
    await wharf.idle()
    const [, cancelled] = await Promise.all([wharf.cancel(f.job!.uuid), wharf.purge({ state: 'cancelled' })])
    expect(cancelled).toBe(1)
    expect(await states(wharf, [a.job!.uuid, f.job!.uuid])).toEqual(['done', 'gone'])
    expect(await wharf.job(a.job!.uuid)).toMatchObject({ dependents: [] })

    // setDone finishing a graph, then a purge of done jobs in the same tick: all of it goes.
    const [b, g] = [m.delayable().run('b'), m.delayable().run('fail')]
    await chain(b, g).delay()
    await wharf.idle()
    const [, done] = await Promise.all([wharf.setDone(g.job!.uuid), wharf.purge({ state: 'done' })])
    expect(done).toBe(3)
    expect(await wharf.jobs()).toEqual([])
    expect(wharf.stats().states).toMatchObject({ done: 0, cancelled: 0, failed: 0 })
    checkInvariants(wharf.engine.state)
  })

  it('refuses bad options', async () => {
    const { wharf } = await openRemoval()
    const bad: unknown[] = [undefined, null, 'done', {}, { state: 'pending' }, { state: 'done', before: '2026-01-01' }, { state: 'done', before: new Date(NaN) }, { state: 'done', olderThan: 1 }]
    for (const options of bad) {
      const error = await failure(() => wharf.purge(options as never))
      expect(error, String(JSON.stringify(options))).toBeInstanceOf(InvalidPropertyError)
    }
  })

  it('on LevelDB, what it removed stays removed after reopen', async () => {
    const path = join(dir, 'store')
    const first = await openRemoval({ path, log: undefined })
    await first.wharf.start()
    const jobs = await oneOfEach(first.wharf, first.m, 'x')
    expect(await first.wharf.purge({ state: 'done' })).toBe(1)
    expect(await first.wharf.purge({ state: 'failed' })).toBe(1)
    await first.wharf.close()
    const second = await openRemoval({ path, log: undefined })
    expect(await states(second.wharf, jobs)).toEqual(['gone', 'gone', 'cancelled'])
    expect(second.wharf.stats().states).toMatchObject({ done: 0, failed: 0, cancelled: 1 })
  })
})
