// trapJobs() behaves like queue_job's JobsTrap: delayed calls are recorded, not stored, asserted
// on, and performed directly. Ports the examples of OCA/queue's test_delay_mocks.py (trap tests).
import { AssertionError } from 'node:assert'
import { afterEach, describe, expect, it } from 'vitest'
import { chain, identityExact, InvalidPropertyError, Wharf } from '../../src/index.js'
import { FakeClock, sequentialIds, trapJobs } from '../../src/testing.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function setup() {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ clock, newId: sequentialIds() })
  opened.push(wharf)
  const ran: string[] = []
  const seen: { records: unknown; jobUuid: unknown }[] = []
  const partner = wharf.model('res.partner', {
    thumb(size: number[], format?: string) {
      seen.push({ records: this.records, jobUuid: this.context.jobUuid })
      ran.push(['thumb', this.records.join(','), JSON.stringify(size), format ?? ''].filter((part) => part !== '').join(' '))
    },
    note(message: string) {
      ran.push(message)
    },
    noDescription() {
      ran.push('noDescription')
    },
    boom() {
      throw new Error('boom')
    },
    again() {
      // Delays while being performed: the trap is still on, so this is trapped for a later round.
      void partner.browse([9]).withDelay().note('from a job')
    },
  })
  wharf.configure('res.partner.thumb', { channel: 'root.thumbs' })
  const all = { channel: 'root.test', description: 'Test', eta: 15, identityKey: identityExact, maxRetries: 1, priority: 15 }
  return { clock, wharf, partner, ran, seen, all }
}

describe('trapJobs: recording', () => {
  it('records a withDelay call with its raw properties and stores nothing', async () => {
    // Port of test_trap_jobs_on_with_delay_model: counts, `only`, all six properties; (await wharf.jobs()) stays empty.
    const { wharf, partner, all } = await setup()
    const trap = trapJobs(wharf)
    const view = await partner.withDelay(all).thumb([1], 'png')
    trap.assertJobsCount(1)
    trap.assertJobsCount(1, { only: partner.thumb })
    trap.assertEnqueuedJob(partner.thumb, { args: [[1], 'png'], properties: all })
    expect(trap.calls).toEqual([{ method: 'res.partner.thumb', records: [], args: [[1], 'png'], properties: all }])
    expect(view).toBe(trap.enqueuedJobs[0])
    expect(view).toMatchObject({ state: 'pending', channel: 'root.test', priority: 15, maxRetries: 1, description: 'Test', graphUuid: null })
    expect(view.identityKey).toBe(identityExact({ model: 'res.partner', method: 'thumb', records: [], args: [[1], 'png'] }))
    expect(view.eta).toBe(wharf.clock.now() + 15_000)
    expect(await wharf.jobs()).toEqual([])
  })

  it('computes defaults like storage would, and leaves unset properties null in calls', async () => {
    // Real specs: priority 10, maxRetries 5, description 'model.method', channel from configure().
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    await partner.browse([3]).withDelay().thumb([2])
    expect(trap.calls[0]!.properties).toEqual({ priority: null, eta: null, maxRetries: null, description: null, channel: null, identityKey: null })
    expect(trap.enqueuedJobs[0]).toMatchObject({
      uuid: 'job-000001',
      records: [3],
      priority: 10,
      maxRetries: 5,
      description: 'res.partner.thumb',
      channel: 'root.thumbs',
      identityKey: null,
      eta: null,
      dependsOn: [],
      dependents: [],
    })
  })

  it('matches `only` by records for a bound method and by name for a string', async () => {
    // Port of the *_count_mismatch tests: model-level and recordset methods differ; 'model.method' matches both.
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    await partner.browse([1, 2]).withDelay().thumb([1])
    await partner.withDelay().thumb([1])
    expect(trap.jobsCount({ only: partner.browse([2, 1]).thumb })).toBe(1) // records compare as sets
    expect(trap.jobsCount({ only: partner.browse([1]).thumb })).toBe(0)
    expect(trap.jobsCount({ only: partner.thumb })).toBe(1)
    expect(trap.jobsCount({ only: 'res.partner.thumb' })).toBe(2)
    expect(trap.jobsCount({ only: 'res.partner.note' })).toBe(0)
    expect(() => trap.assertJobsCount(1, { only: partner.browse([1]).thumb })).toThrow(AssertionError)
    expect(() => trap.jobsCount({ only: 'thumb' })).toThrow(InvalidPropertyError)
    expect(() => trap.jobsCount({ only: () => 1 })).toThrow(InvalidPropertyError)
  })

  it('refuses options it does not know, naming them, rather than dropping a misspelt filter', async () => {
    // { onyl: … } counted every trapped job, so an assertion meant to fail passed; null threw a TypeError.
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    await partner.browse([1]).withDelay().thumb([1])
    await partner.browse([2]).withDelay().note('x')
    expect(() => trap.assertJobsCount(2, { onyl: 'res.partner.thumb' } as never)).toThrow(/assertJobsCount\(\): unknown option "onyl"; known: only/)
    expect(() => trap.jobsCount(null as never)).toThrow(/jobsCount\(\): options must be an object.*got null/)
    expect(() => trap.assertEnqueuedJob('res.partner.thumb', { arg: [[1]] } as never)).toThrow(/assertEnqueuedJob\(\): unknown option "arg"; known: args, properties/)
    expect(() => trap.assertEnqueuedJob('res.partner.thumb', null as never)).toThrow(InvalidPropertyError)
    expect(() => trapJobs(null as never)).toThrow(/trapJobs\(\) needs a Wharf.*got null/)
  })

  it('blames a bad `only` on the call that was made: assertJobsCount(), not jobsCount()', async () => {
    const { wharf } = await setup()
    const trap = trapJobs(wharf)
    expect(() => trap.assertJobsCount(0, { only: 'thumb' })).toThrow(/^assertJobsCount\(\): expected a recordset's method .* got "thumb"$/)
    expect(() => trap.jobsCount({ only: 'thumb' })).toThrow(/^jobsCount\(\): expected a recordset's method/)
  })

  it("refuses a model's name where a 'model.method' is expected, rather than match nothing", async () => {
    // 'res.partner' split as model 'res', method 'partner': assertJobsCount(0) passed whatever was trapped.
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    await partner.browse([1]).withDelay().thumb([1])
    expect(() => trap.assertJobsCount(0, { only: 'res.partner' })).toThrow(/^assertJobsCount\(\): "res.partner" is a model, not a job function; name one of its methods: 'res.partner.thumb', /)
    expect(() => trap.jobsCount({ only: 'res.partner' })).toThrow(/^jobsCount\(\): "res.partner" is a model/)
    expect(() => trap.assertEnqueuedJob('res.partner', { args: [[1]] })).toThrow(/^assertEnqueuedJob\(\): "res.partner" is a model/)
    expect(trap.jobsCount({ only: 'res.partner.thumb' })).toBe(1)
  })

  it('records each job of a chain, with graph, dependencies and states', async () => {
    // Port of test_trap_jobs_on_graph: 3 jobs, `only` counts, assertions on each; perform runs them in order.
    const { wharf, partner, all, ran } = await setup()
    const trap = trapJobs(wharf)
    const a = partner.delayable(all).thumb([1])
    const b = partner.delayable().thumb([2], 'x')
    const c = partner.delayable().noDescription()
    await chain(a, b, c).delay()
    trap.assertJobsCount(3)
    trap.assertJobsCount(2, { only: partner.thumb })
    trap.assertJobsCount(1, { only: partner.noDescription })
    trap.assertEnqueuedJob(partner.thumb, { args: [[1]], properties: all })
    trap.assertEnqueuedJob(partner.thumb, { args: [[2], 'x'] })
    trap.assertEnqueuedJob(partner.noDescription)
    const [ja, jb, jc] = trap.enqueuedJobs
    expect([ja!.state, jb!.state, jc!.state]).toEqual(['pending', 'wait_dependencies', 'wait_dependencies'])
    expect(jb!.dependsOn).toEqual([ja!.uuid])
    expect(ja!.dependents).toEqual([jb!.uuid])
    expect(ja!.graphUuid).not.toBeNull()
    expect(new Set(trap.enqueuedJobs.map((j) => j.graphUuid)).size).toBe(1)
    expect(c.job).toBe(jc)
    await trap.performEnqueuedJobs()
    expect(ran).toEqual(['thumb [1]', 'thumb [2] x', 'noDescription'])
    expect(await wharf.jobs()).toEqual([])
  })
})

describe('trapJobs: assertEnqueuedJob', () => {
  it('passes with no or partial properties, and compares args exactly', async () => {
    // Port of *_no_properties and *_partial_properties; omitted args mean "no arguments".
    const { wharf, partner, all } = await setup()
    const trap = trapJobs(wharf)
    const rs = partner.browse([5])
    await rs.withDelay(all).thumb([50, 50])
    trap.assertEnqueuedJob(rs.thumb, { args: [[50, 50]] })
    trap.assertEnqueuedJob(rs.thumb, { args: [[50, 50]], properties: { description: 'Test', eta: 15 } })
    trap.assertEnqueuedJob('res.partner.thumb', { args: [[50, 50]], properties: { priority: 15 } })
    expect(() => trap.assertEnqueuedJob(rs.thumb)).toThrow(AssertionError)
    expect(() => trap.assertEnqueuedJob(rs.thumb, { args: [[50, 51]] })).toThrow(AssertionError)
    expect(() => trap.assertEnqueuedJob(rs.thumb, { args: [[50, 50]], properties: { priority: 14 } })).toThrow(AssertionError)
    expect(() => trap.assertEnqueuedJob(rs.thumb, { args: [[50, 50]], properties: { identityKey: 'other' } })).toThrow(AssertionError)
    expect(() => trap.assertEnqueuedJob(rs.thumb, { properties: { colour: 1 } as never })).toThrow(InvalidPropertyError)
  })

  it('compares eta by value: a Date by its time, seconds by equality', async () => {
    // A Date property is copied at the boundary, so identity would never match; value must.
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    const when = new Date(Date.UTC(2026, 5, 1))
    await partner.withDelay({ eta: when }).note('dated')
    await partner.withDelay({ eta: 30 }).note('relative')
    trap.assertEnqueuedJob(partner.note, { args: ['dated'], properties: { eta: new Date(when.getTime()) } })
    trap.assertEnqueuedJob(partner.note, { args: ['relative'], properties: { eta: 30 } })
    expect(() => trap.assertEnqueuedJob(partner.note, { args: ['dated'], properties: { eta: when.getTime() } })).toThrow(AssertionError)
    expect(() => trap.assertEnqueuedJob(partner.note, { args: ['relative'], properties: { eta: 31 } })).toThrow(AssertionError)
  })

  it("fails with queue_job's message, actual properties restricted to the asserted keys", async () => {
    // Port of test_trap_jobs_on_with_delay_assert_recordset_enqueued_mismatch, message format included.
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    await partner.browse([7]).withDelay({ priority: 15, description: 'Test', identityKey: identityExact }).thumb([50, 50], 'png')
    let error: unknown
    try {
      trap.assertEnqueuedJob(partner.browse([8]).thumb, {
        args: [[50, 50], 'png'],
        properties: { identityKey: identityExact, description: 'Test', priority: 15 },
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(AssertionError)
    expect((error as Error).message).toBe(
      'Job res.partner(8).thumb([50,50], "png") with properties (identityKey=[Function identityExact], description="Test", priority=15) was not enqueued.\n' +
        'Actual enqueued jobs:\n' +
        ' * res.partner(7).thumb([50,50], "png") with properties (priority=15, description="Test", identityKey=[Function identityExact])',
    )
  })
})

describe('trapJobs: identity keys', () => {
  it('keeps one trapped job per identity key until performed', async () => {
    // Port of test_trap_with_identity_key: twice -> 1; after perform -> 0; again -> 1. Duplicates stay in calls.
    const { wharf, partner, all } = await setup()
    const trap = trapJobs(wharf)
    const first = await partner.withDelay(all).thumb([1])
    const second = await partner.withDelay(all).thumb([1])
    trap.assertJobsCount(1)
    expect(second).toBe(first)
    expect(trap.calls).toHaveLength(2)
    await trap.performEnqueuedJobs()
    trap.assertJobsCount(0)
    const third = await partner.withDelay(all).thumb([1])
    trap.assertJobsCount(1)
    expect(third.uuid).not.toBe(first.uuid)
    expect(await wharf.jobs()).toEqual([])
  })

  it('skips a graph only when every keyed job matches a trapped one (queue_job §1.7)', async () => {
    // One unmatched key traps the whole graph, duplicates included; all matched traps nothing.
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    const held = await partner.withDelay({ identityKey: 'k1' }).note('held')
    await chain(partner.delayable({ identityKey: 'k1' }).note('dup'), partner.delayable({ identityKey: 'k2' }).note('new')).delay()
    trap.assertJobsCount(3)
    const plain = partner.delayable().note('no key')
    const keyed = partner.delayable({ identityKey: 'k2' }).note('k2 again')
    const dup = partner.delayable({ identityKey: 'k1' }).note('k1 again')
    await chain(plain, keyed, dup).delay()
    trap.assertJobsCount(3)
    expect(trap.calls).toHaveLength(6)
    expect(plain.job).toBeUndefined()
    expect(keyed.job!.args).toEqual(['new'])
    expect(dup.job).toBe(held)
  })
})

describe('trapJobs: performEnqueuedJobs', () => {
  it('runs the single job, then the graph n2 -> n3 -> n1 in order, and empties the trap', async () => {
    // The worked example of reference §4 (test_trap_jobs_perform): single, 2, 3, 1; count 0 afterwards.
    const { wharf, partner, ran } = await setup()
    const trap = trapJobs(wharf)
    await partner.withDelay({ priority: 1 }).note('single')
    const n1 = partner.delayable().note('graph 1')
    const n2 = partner.delayable().note('graph 2')
    const n3 = partner.delayable().note('graph 3')
    n2.onDone(n3)
    n3.onDone(n1)
    await n2.delay()
    expect(ran).toEqual([])
    trap.assertJobsCount(4)
    await trap.performEnqueuedJobs()
    trap.assertJobsCount(0)
    expect(ran).toEqual(['single', 'graph 2', 'graph 3', 'graph 1'])
  })

  it('runs single jobs first, by priority then enqueue order, with a JobContext', async () => {
    // Graphs wait for all single jobs even when delayed first; `this` carries records and the jobUuid.
    const { wharf, partner, ran, seen } = await setup()
    const trap = trapJobs(wharf)
    await chain(partner.delayable({ priority: 0 }).note('g1'), partner.delayable().note('g2')).delay()
    await partner.browse([1]).withDelay().thumb([1])
    await partner.withDelay({ priority: 1 }).note('urgent')
    await partner.browse([2]).withDelay().thumb([2])
    const uuids = trap.enqueuedJobs.filter((j) => j.method === 'thumb').map((j) => j.uuid)
    await trap.performEnqueuedJobs()
    expect(ran).toEqual(['urgent', 'thumb 1 [1]', 'thumb 2 [2]', 'g1', 'g2'])
    expect(seen).toEqual([
      { records: [1], jobUuid: uuids[0] },
      { records: [2], jobUuid: uuids[1] },
    ])
  })

  it('fails on a result that could not be stored, as a stored try and a no-delay call do', async () => {
    // It passed silently, so a handler that fails every try in production passed under the trap.
    const { wharf } = await setup()
    const reports = wharf.model('res.report', {
      build(name: string) {
        return { name, render: () => name }
      },
    })
    const trap = trapJobs(wharf)
    await reports.withDelay().build('q1')
    await expect(trap.performEnqueuedJobs()).rejects.toMatchObject({ code: 'NOT_SERIALIZABLE', message: expect.stringMatching(/^result\.render is a function/) })
  })

  it('lets a handler error propagate and traps what handlers delay', async () => {
    // No retry handling: the error rejects perform; jobs delayed inside handlers wait for the next round.
    const { wharf, partner, ran } = await setup()
    const trap = trapJobs(wharf)
    await partner.withDelay().again()
    await trap.performEnqueuedJobs()
    trap.assertJobsCount(1, { only: partner.browse([9]).note })
    await trap.performEnqueuedJobs()
    expect(ran).toEqual(['from a job'])
    await partner.withDelay().boom()
    await expect(trap.performEnqueuedJobs()).rejects.toThrow('boom')
    trap.assertJobsCount(0)
  })

  it("traps one job for the firings of a cron whose job has an identity key, as the store keeps one, and records each call", async () => {
    const { clock, wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    await wharf.cron('hourly', '0 * * * *', partner.delayable({ identityKey: 'hourly-note' }).note('hourly'), { tz: 'UTC' })
    await wharf.start()
    await clock.advance(3 * 3_600_000)
    expect(trap.enqueuedJobs.map((j) => j.identityKey)).toEqual(['hourly-note'])
    expect(trap.calls).toHaveLength(3)
  })
})

describe('trapJobs: lifecycle', () => {
  it('restore() makes delays store again; a Wharf is trapped once at a time', async () => {
    // Trapping twice throws; after restore (or Symbol.dispose) a delay reaches the engine.
    const { wharf, partner } = await setup()
    const trap = trapJobs(wharf)
    expect(() => trapJobs(wharf)).toThrow(/already trapped/)
    await partner.withDelay().note('trapped')
    trap.restore()
    trap.restore()
    const stored = await partner.withDelay().note('stored')
    expect((await wharf.jobs()).map((j) => j.uuid)).toEqual([stored.uuid])
    trap.assertJobsCount(1)
    const second = trapJobs(wharf)
    await partner.withDelay().note('trapped again')
    second[Symbol.dispose]()
    expect(second.jobsCount()).toBe(1)
    await partner.withDelay().note('stored again')
    expect(await wharf.jobs()).toHaveLength(2)
  })
})

describe('trapJobs: crons', () => {
  it('traps the job of each firing instead of storing it; the cron moves on, and stores again once restored', async () => {
    // "Nothing is stored while trapped": a firing is an enqueue like any other (queue_job's crons
    // delay through the same Job class that trap_jobs patches).
    const { clock, wharf, partner, ran } = await setup()
    const trap = trapJobs(wharf)
    await wharf.cron('hourly', '0 * * * *', partner.delayable({ priority: 3 }).note('hourly'), { tz: 'UTC' })
    await wharf.start()
    await clock.advance(3 * 3_600_000)
    expect(await wharf.jobs()).toEqual([])
    expect(ran).toEqual([])
    trap.assertJobsCount(3, { only: 'res.partner.note' })
    trap.assertEnqueuedJob('res.partner.note', { args: ['hourly'], properties: { priority: 3, identityKey: 'cron:hourly:2026-01-01T02:00:00.000Z' } })
    expect(trap.enqueuedJobs.map((j) => [j.identityKey, j.state])).toEqual([1, 2, 3].map((h) => [`cron:hourly:2026-01-01T0${h}:00:00.000Z`, 'pending']))
    expect((await wharf.crons())[0]).toMatchObject({ nextFireAt: Date.UTC(2026, 0, 1, 4), lastFireAt: null })
    await trap.performEnqueuedJobs()
    expect(ran).toEqual(['hourly', 'hourly', 'hourly'])
    trap.restore()
    await clock.advance(3_600_000)
    expect((await wharf.jobs()).map((j) => [j.identityKey, j.state])).toEqual([['cron:hourly:2026-01-01T04:00:00.000Z', 'done']])
    trap.assertJobsCount(0)
  })
})
