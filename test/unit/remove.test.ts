// Proves remove() through the public API: finished jobs leave history and failed ones memory, all
// or nothing; live, unknown and badly named jobs are refused with nothing removed; the graph rule
// (a job linked to a live job stays) and partial graphs; removals decided in one tick with other
// commands; on LevelDB, removed jobs stay gone after reopen (with and without a snapshot) and
// history is still the projection of the log.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chain, InvalidGraphError, InvalidPropertyError, JobStateConflictError, MemoryLog, UnknownJobError, WharfClosedError, type JobSpec, type JobView, type Wharf } from '../../src/index.js'
import { parseChannelConfig } from '../../src/engine/core/channel-config.js'
import { initialState } from '../../src/engine/core/channels.js'
import { fold } from '../../src/engine/core/evolve.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { REMOVE_UUIDS_MAX } from '../../src/engine/core/limits.js'
import { toJobView } from '../../src/engine/core/view.js'
import { historyQuery } from '../../src/storage/history.js'
import { decide } from '../../src/engine/core/decide.js'
import { failure } from './helpers.js'
import { CHANNELS, closeOpenedAfterEach, openRemoval, states, uuidsOf } from './removal-helpers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-remove-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})
closeOpenedAfterEach()

function specOf(view: JobView): JobSpec {
  const { uuid, graphUuid, model, method, records, args, context, priority, eta, maxRetries, description, channel, identityKey, createdAt } = view
  return { uuid, graphUuid: null, model, method, records, args, context, priority, eta, maxRetries, description, channel, identityKey, dependsOn: [], createdAt }
}

describe('remove() takes finished and failed jobs', () => {
  it('removes done and cancelled jobs from history and failed ones from memory, and counts them', async () => {
    const { wharf, m } = await openRemoval()
    const done = await m.withDelay().run('a')
    const failed = await m.withDelay().run('fail')
    const cancelled = await m.withDelay({ eta: 3600 }).run('later')
    const kept = await m.withDelay().run('kept')
    await wharf.cancel(cancelled.uuid)
    await wharf.start()
    await wharf.idle()
    expect(await states(wharf, [done.uuid, failed.uuid, cancelled.uuid])).toEqual(['done', 'failed', 'cancelled'])
    expect(wharf.stats().states).toMatchObject({ done: 2, failed: 1, cancelled: 1 })

    expect(await wharf.remove([done.uuid, failed.uuid, cancelled.uuid, done.uuid])).toBe(3)
    expect(await states(wharf, [done.uuid, failed.uuid, cancelled.uuid, kept.uuid])).toEqual(['gone', 'gone', 'gone', 'done'])
    expect(uuidsOf(await wharf.jobs())).toEqual([kept.uuid])
    expect(wharf.stats().states).toMatchObject({ done: 1, failed: 0, cancelled: 0 })
    checkInvariants(wharf.engine.state)
    expect(await wharf.remove([])).toBe(0)
  })

  it('is one jobs.removed event, seen by listeners', async () => {
    const { wharf, m } = await openRemoval()
    const done = await m.withDelay().run('a')
    const failed = await m.withDelay().run('fail')
    await wharf.start()
    await wharf.idle()
    const seen: string[] = []
    wharf.on('transition', (e) => seen.push(e.type === 'jobs.removed' ? `${e.type} ${e.memory} | ${e.history}` : e.type))
    await wharf.remove([done.uuid, failed.uuid])
    expect(seen).toEqual([`jobs.removed ${failed.uuid} | ${done.uuid}`])
  })

  it('refuses live jobs, naming the job and its state, and removes nothing', async () => {
    const { wharf, m, release } = await openRemoval({ channels: 'root:1' })
    const done = await m.withDelay().run('a')
    await wharf.start()
    await wharf.idle()
    const started = await m.withDelay().hold()
    const pending = await m.withDelay().run('b')
    const eta = await m.withDelay({ eta: 3600 }).run('c')
    await wharf.settled()
    expect((await wharf.job(started.uuid))?.state).toBe('started')
    for (const [job, state] of [[started, 'started'], [pending, 'pending'], [eta, 'pending']] as const) {
      const error = await failure(() => wharf.remove([done.uuid, job.uuid]))
      expect(error).toBeInstanceOf(JobStateConflictError)
      expect((error as Error).message).toContain(`job ${job.uuid}: it is ${state}`)
    }
    expect((await wharf.job(done.uuid))?.state).toBe('done')
    release()
    await wharf.idle()
  })

  it('refuses a job waiting for its parents, and (in the core) an enqueued one', async () => {
    const { wharf, m } = await openRemoval()
    const [a, b] = [m.delayable().run('a'), m.delayable().run('b')]
    await chain(a, b).delay()
    const error = await failure(() => wharf.remove([b.job!.uuid]))
    expect(error).toBeInstanceOf(JobStateConflictError)
    expect((error as Error).message).toContain('wait_dependencies')
    // Enqueued lasts inside one tick only (the same tick starts it): asked of the core directly.
    const state = fold(initialState(parseChannelConfig(CHANNELS)), [
      { seq: 1, v: 1, at: 0, type: 'job.created', job: specOf(a.job!) },
      { seq: 2, v: 1, at: 0, type: 'job.enqueued', uuid: a.job!.uuid },
    ])
    const decision = decide(state, { type: 'remove', uuids: [a.job!.uuid] }, 0)
    expect(decision.ok === false && decision.error).toBeInstanceOf(JobStateConflictError)
    expect(decision.ok === false && decision.error.message).toContain('it is enqueued')
  })

  it('refuses unknown uuids and removes nothing', async () => {
    const { wharf, m } = await openRemoval()
    const done = await m.withDelay().run('a')
    await wharf.start()
    await wharf.idle()
    const error = await failure(() => wharf.remove([done.uuid, 'no-such-job']))
    expect(error).toBeInstanceOf(UnknownJobError)
    expect((error as UnknownJobError).uuid).toBe('no-such-job')
    expect((await wharf.job(done.uuid))?.state).toBe('done')
    await wharf.remove([done.uuid])
    expect(await failure(() => wharf.remove([done.uuid]))).toBeInstanceOf(UnknownJobError)
  })

  it('refuses bad input before deciding anything', async () => {
    const { wharf } = await openRemoval()
    const bad: unknown[] = ['abc', null, [1], [''], [undefined], new Array(REMOVE_UUIDS_MAX + 1).fill('x')]
    for (const uuids of bad) {
      const error = await failure(() => wharf.remove(uuids as string[]))
      expect(error, JSON.stringify(uuids)?.slice(0, 40)).toBeInstanceOf(InvalidPropertyError)
    }
    expect(((await failure(() => wharf.remove(['a', 7 as never]))) as Error).message).toContain('uuids[1]')
  })

  it('is refused once the Wharf is closed, like every call', async () => {
    const { wharf } = await openRemoval()
    await wharf.close()
    expect(await failure(() => wharf.remove([]))).toBeInstanceOf(WharfClosedError)
    expect(await failure(() => wharf.purge({ state: 'failed' }))).toBeInstanceOf(WharfClosedError)
  })
})

describe('graphs', () => {
  it('refuses a failed job whose child waits for it, and removes nothing', async () => {
    const { wharf, m } = await openRemoval()
    const [a, b, c] = [m.delayable().run('fail'), m.delayable().run('b'), m.delayable().run('c')]
    await chain(a, b, c).delay()
    await wharf.start()
    await wharf.idle()
    const uuids = [a, b, c].map((d) => d.job!.uuid)
    expect(await states(wharf, uuids)).toEqual(['failed', 'wait_dependencies', 'wait_dependencies'])
    const error = await failure(() => wharf.remove([uuids[0]!]))
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect((error as Error).message).toContain(`its child ${uuids[1]} in graph ${a.job!.graphUuid} is wait_dependencies`)
    expect(await states(wharf, uuids)).toEqual(['failed', 'wait_dependencies', 'wait_dependencies'])
  })

  it('refuses a failed job whose parent is live again (requeued)', async () => {
    const { wharf, m } = await openRemoval()
    const [a, b] = [m.delayable().run('a'), m.delayable().run('fail')]
    await chain(a, b).delay()
    await wharf.start()
    await wharf.idle()
    await wharf.stop()
    await wharf.requeue(a.job!.uuid)
    const error = await failure(() => wharf.remove([b.job!.uuid]))
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect((error as Error).message).toContain(`its parent ${a.job!.uuid}`)
  })

  it('removes a whole finished graph, from history', async () => {
    const { wharf, m } = await openRemoval()
    const nodes = [m.delayable().run('a'), m.delayable().run('b'), m.delayable().run('c')]
    await chain(...nodes).delay()
    await wharf.start()
    await wharf.idle()
    const graphUuid = nodes[0]!.job!.graphUuid!
    expect(await wharf.remove(nodes.map((d) => d.job!.uuid))).toBe(3)
    expect(await wharf.graph(graphUuid)).toEqual({ jobs: [], edges: [] })
    expect(wharf.stats().states.done).toBe(0)
  })

  it('removes part of a finished graph: the rest stays in history with its edges trimmed, and can be requeued', async () => {
    const { wharf, m } = await openRemoval()
    const [a, b, c] = [m.delayable().run('a'), m.delayable().run('b'), m.delayable().run('c')]
    await chain(a, b, c).delay()
    await wharf.start()
    await wharf.idle()
    const [ua, ub, uc] = [a, b, c].map((d) => d.job!.uuid) as [string, string, string]
    expect(await wharf.remove([ub])).toBe(1)
    expect(wharf.engine.state.jobs.size).toBe(0)
    const graph = await wharf.graph(a.job!.graphUuid!)
    expect(uuidsOf(graph.jobs).sort()).toEqual([ua, uc].sort())
    expect(graph.edges).toEqual([])
    expect(await wharf.job(uc)).toMatchObject({ state: 'done', dependsOn: [], dependents: [] })
    expect(wharf.stats().states.done).toBe(2)
    await wharf.requeue(uc)
    await wharf.idle()
    expect(await wharf.job(uc)).toMatchObject({ state: 'done', retry: 1, dependsOn: [] })
    checkInvariants(wharf.engine.state)
  })

  it('removes a failed job whose parent is done: the graph, now finished, goes to history', async () => {
    const { wharf, m } = await openRemoval()
    const [a, b] = [m.delayable().run('a'), m.delayable().run('fail')]
    await chain(a, b).delay()
    await wharf.start()
    await wharf.idle()
    expect(wharf.engine.state.jobs.has(a.job!.uuid)).toBe(true) // its graph is not finished
    await wharf.remove([b.job!.uuid])
    expect(wharf.engine.state.jobs.size).toBe(0)
    expect(await wharf.job(a.job!.uuid)).toMatchObject({ state: 'done', dependents: [] })
    expect((await wharf.engine.history.get(a.job!.uuid))?.dependents).toEqual([])
    expect(wharf.stats().states).toMatchObject({ done: 1, failed: 0 })
  })

  it('removes a failed job whose siblings still run: the graph stays in memory', async () => {
    const { wharf, m } = await openRemoval()
    const root = m.delayable().run('a')
    const failing = m.delayable().run('fail')
    const later = m.delayable({ eta: 3600 }).run('later')
    root.onDone(failing)
    root.onDone(later)
    await root.delay()
    await wharf.start()
    await wharf.settled()
    await wharf.idle()
    expect(await states(wharf, [root.job!.uuid, failing.job!.uuid, later.job!.uuid])).toEqual(['done', 'failed', 'pending'])
    await wharf.remove([failing.job!.uuid])
    expect(await wharf.job(root.job!.uuid)).toMatchObject({ state: 'done', dependents: [later.job!.uuid] })
    checkInvariants(wharf.engine.state)
    await wharf.drain()
    expect(await states(wharf, [root.job!.uuid, failing.job!.uuid, later.job!.uuid])).toEqual(['done', 'gone', 'done'])
  })

  it('a failed job and its waiting child cannot go together (the child is live), but with the child cancelled they can', async () => {
    const { wharf, m } = await openRemoval()
    const [a, b] = [m.delayable().run('fail'), m.delayable().run('b')]
    await chain(a, b).delay()
    await wharf.start()
    await wharf.idle()
    const uuids = [a.job!.uuid, b.job!.uuid]
    expect(await failure(() => wharf.remove(uuids))).toBeInstanceOf(JobStateConflictError)
    await wharf.cancel(uuids[0]!) // cascades to b: the whole graph is finished, in history
    expect(await states(wharf, uuids)).toEqual(['cancelled', 'cancelled'])
    expect(await wharf.remove(uuids)).toBe(2)
    expect(await states(wharf, uuids)).toEqual(['gone', 'gone'])
  })
})

describe('in one tick with other commands', () => {
  it('a job finished earlier in the same tick (not in history yet) is removed, and a second remove is refused', async () => {
    const { wharf, m } = await openRemoval()
    const job = await m.withDelay({ eta: 3600 }).run('a')
    const [setDone, removed, again] = await Promise.allSettled([wharf.setDone(job.uuid), wharf.remove([job.uuid]), wharf.remove([job.uuid])])
    expect(setDone.status).toBe('fulfilled')
    expect(removed).toEqual({ status: 'fulfilled', value: 1 })
    expect(again.status === 'rejected' && again.reason).toBeInstanceOf(UnknownJobError)
    expect(await wharf.job(job.uuid)).toBeUndefined()
    expect(await wharf.engine.history.page(historyQuery())).toEqual([])
    expect(wharf.stats().states.done).toBe(0)
  })

  it('a requeue after a removal in the same tick finds nothing', async () => {
    const { wharf, m } = await openRemoval()
    const job = await m.withDelay().run('a')
    await wharf.start()
    await wharf.idle()
    const [removed, requeued] = await Promise.allSettled([wharf.remove([job.uuid]), wharf.requeue(job.uuid)])
    expect(removed.status).toBe('fulfilled')
    expect(requeued.status === 'rejected' && requeued.reason).toBeInstanceOf(UnknownJobError)
    expect(await wharf.job(job.uuid)).toBeUndefined()
  })
})

describe('on LevelDB, after close and reopen', () => {
  for (const snapshot of [false, true]) {
    it(`removed jobs stay gone; history and stats agree${snapshot ? ' (from a snapshot)' : ''}`, async () => {
      const path = join(dir, 'store')
      const first = await openRemoval({ path, log: undefined })
      const [a, b, c] = [first.m.delayable().run('a'), first.m.delayable().run('b'), first.m.delayable().run('c')]
      await chain(a, b, c).delay()
      const failed = await first.m.withDelay().run('fail')
      const kept = await first.m.withDelay().run('kept')
      const lone = await first.m.withDelay().run('lone')
      await first.wharf.start()
      await first.wharf.idle()
      // Part of a graph in history, a failed job in memory, a whole (lone) job in history.
      await first.wharf.remove([b.job!.uuid, failed.uuid, lone.uuid])
      if (snapshot) await first.wharf.snapshot()
      const before = await first.wharf.jobs()
      const stats = first.wharf.stats().states
      await first.wharf.close()

      const second = await openRemoval({ path, log: undefined })
      expect(await second.wharf.jobs()).toEqual(before)
      expect(second.wharf.stats().states).toEqual(stats)
      expect(stats).toMatchObject({ done: 3, failed: 0 })
      expect(await states(second.wharf, [b.job!.uuid, failed.uuid, lone.uuid, kept.uuid])).toEqual(['gone', 'gone', 'gone', 'done'])
      expect(second.wharf.openReport.snapshotSeq > 0).toBe(snapshot)
      checkInvariants(second.wharf.engine.state)
    })
  }
})

describe('history is still a projection of the log', () => {
  it('folding the uncompacted log gives the history written live', async () => {
    const log = new MemoryLog()
    const { wharf, m } = await openRemoval({ log, snapshotEvery: 0 })
    const [a, b, c] = [m.delayable().run('a'), m.delayable().run('b'), m.delayable().run('fail')]
    await chain(a, b, c).delay()
    const lone = await m.withDelay().run('lone')
    await wharf.start()
    await wharf.idle()
    await wharf.remove([c.job!.uuid]) // a, b leave memory for history
    await wharf.remove([a.job!.uuid, lone.uuid]) // part of a graph, and a whole lone job
    const folded = fold(initialState(parseChannelConfig(CHANNELS)), log.events())
    const projected = [...folded.retired.values()].map(toJobView)
    expect(projected).toEqual(await log.history.page(historyQuery()))
    expect(uuidsOf(projected)).toEqual([b.job!.uuid])
    expect(folded.jobs.size).toBe(0)
  })
})
