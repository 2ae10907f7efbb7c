// Proves batches (wharf.batch()) through the public API: counts and states through done, failure,
// retry, cancel, requeue, setDone, remove, purge and vacuum — also once the batch's jobs have
// left memory for history; onDone stored exactly once (never again after a reopened batch is done
// again, nor after a crash and reopen), in the record of the event that completed the batch; the
// call all or none; bad input refused naming the value; and on LevelDB, counts identical after
// replay and after snapshot + replay. Each test drives a FakeClock and checks the invariants.
import { describe, expect, it } from 'vitest'
import {
  chain,
  FailedJobError,
  FakeClock,
  InvalidGraphError,
  InvalidPropertyError,
  NotSerializableError,
  RetryableJobError,
  Wharf,
  type BatchView,
  type OpenOptions,
  type WharfEvent,
} from '../../src/index.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { projectState } from '../../src/engine/core/project.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import { parseChannelConfig } from '../../src/engine/core/channel-config.js'
import { toBatchView } from '../../src/engine/core/batch.js'
import { BATCH_JOBS_MAX, BATCH_ON_DONE_JOBS_MAX } from '../../src/engine/core/limits.js'
import { trapJobs } from '../../src/testing.js'
import { closedAfterEach, failure, gate, tempLevelLogs } from './helpers.js'

const temp = tempLevelLogs('wharf-batches-')
const opened = closedAfterEach()
const DAY = 86_400_000

/** A Wharf whose `run(what)` succeeds, fails ('fail'), fails until `fixed` ('flaky'), retries
 * once ('retry'), or waits for `held` ('hold'); `after(x)` is the onDone function. */
async function setup(options: OpenOptions = {}, clock = new FakeClock()) {
  const wharf = await Wharf.open({ clock, channels: 'root:4', ...options })
  opened.push(wharf)
  const held = gate()
  const state = { fixed: false, tries: 0 }
  const m = wharf.model('t.batch', {
    async run(what: string) {
      if (what === 'fail') throw new FailedJobError('broken')
      if (what === 'flaky' && !state.fixed) throw new FailedJobError('not yet')
      if (what === 'retry' && state.tries++ === 0) throw new RetryableJobError('again', { seconds: 60 })
      if (what === 'hold') await held.wait
      return `ran ${what}`
    },
    after(x: string) {
      return `after ${x}`
    },
  })
  const events: WharfEvent[] = []
  wharf.on('transition', (event) => events.push(event))
  const audit = () => checkInvariants(wharf.engine.state)
  const view = async (uuid: string): Promise<BatchView> => (await wharf.batchView(uuid))!
  const onDoneJobs = async () => (await wharf.jobs({ model: 't.batch', method: 'after' })).length
  return { wharf, m, held, state, events, audit, view, onDoneJobs, clock }
}

const counts = (b: BatchView) => [b.state, b.total, b.done, b.failed, b.cancelled]

describe('batch(): counts and states', () => {
  it('is pending, then started, then done when every job is; onDone is stored once, in the same record', async () => {
    const { wharf, m, held, events, audit, view, onDoneJobs } = await setup()
    const [a, b, c] = [m.delayable().run('a'), m.delayable().run('hold'), m.delayable().run('c')]
    const batch = await wharf.batch('import 2026-11', [a, chain(b, c)], { onDone: m.delayable().after('x') })
    expect(counts(batch)).toEqual(['pending', 3, 0, 0, 0])
    expect(batch.onDone).toHaveLength(1)
    expect(batch.onDoneStored).toBe(false)
    expect([a.job!.batchUuid, b.job!.batchUuid, c.job!.batchUuid]).toEqual([batch.uuid, batch.uuid, batch.uuid])
    await wharf.start()
    await wharf.settled()
    expect(counts(await view(batch.uuid))).toEqual(['started', 3, 1, 0, 0])
    held.open()
    await wharf.drain()
    const done = await view(batch.uuid)
    expect(counts(done)).toEqual(['done', 3, 3, 0, 0])
    expect(done.doneAt).not.toBeNull()
    expect(done.onDoneStored).toBe(true)
    const after = (await wharf.job(done.onDone[0]!))!
    expect([after.state, after.result, after.batchUuid]).toEqual(['done', 'after x', null])
    expect(await onDoneJobs()).toBe(1)
    // Every job of the batch left memory for history; the counts did not move.
    expect([...wharf.engine.state.jobs.values()].filter((j) => j.batch !== null)).toEqual([])
    expect((await wharf.jobs({ batchUuid: batch.uuid })).map((j) => [j.uuid, j.batchUuid])).toEqual(
      [a, b, c].map((d) => [d.job!.uuid, batch.uuid]),
    )
    // batch.done and the onDone job were appended with the job.done that completed the batch.
    const completed = events.findIndex((e) => e.type === 'batch.done')
    expect(events.slice(completed - 1, completed + 2).map((e) => e.type)).toEqual(['job.done', 'batch.done', 'job.created'])
    audit()
  })

  it('is failed when a job failed and nothing else can run; a requeue reopens it, and done stores onDone then', async () => {
    const { wharf, m, state, audit, view, onDoneJobs } = await setup()
    const [flaky, child] = [m.delayable().run('flaky'), m.delayable().run('child')]
    const batch = await wharf.batch('b', [m.delayable().run('a'), chain(flaky, child)], { onDone: m.delayable().after('y') })
    await wharf.start()
    await wharf.drain()
    // The child waits for its failed parent: nothing can run.
    expect(counts(await view(batch.uuid))).toEqual(['failed', 3, 1, 1, 0])
    expect(await onDoneJobs()).toBe(0)
    audit()
    state.fixed = true
    await wharf.stop()
    await wharf.requeue(flaky.job!.uuid)
    expect(counts(await view(batch.uuid))).toEqual(['started', 3, 1, 0, 0])
    await wharf.start()
    await wharf.drain()
    expect(counts(await view(batch.uuid))).toEqual(['done', 3, 3, 0, 0])
    expect(await onDoneJobs()).toBe(1)
    audit()
  })

  it('takes its onDone delayable: delaying it again, or giving it to another batch, is refused', async () => {
    // It was left undelayed: x.delay() stored its job at once, and the batch stored it again when
    // it completed, so it ran twice.
    const { wharf, m, onDoneJobs } = await setup()
    const [x, inGraph] = [m.delayable().after('x'), m.delayable().after('in graph')]
    const follower = m.delayable().after('follower')
    inGraph.onDone(follower)
    const batch = await wharf.batch('b', [m.delayable().run('a')], { onDone: inGraph })
    const first = await wharf.batch('c', [m.delayable().run('c')], { onDone: x })
    for (const again of [() => x.delay(), () => follower.delay(), () => wharf.delayMany([x]), () => wharf.batch('d', [m.delayable().run('d')], { onDone: x }), () => x.onDone(m.delayable().after('y')).delay()]) {
      const error = await failure(again)
      expect(error).toBeInstanceOf(InvalidGraphError)
      expect((error as Error).message).toMatch(new RegExp(`onDone of batch (${first.uuid}|${batch.uuid})`))
    }
    await wharf.start()
    await wharf.drain()
    expect(await onDoneJobs()).toBe(3)
    expect((await wharf.jobs({ method: 'after' })).map((j) => j.args[0]).sort()).toEqual(['follower', 'in graph', 'x'])
    // A batch refused stores nothing and takes nothing: its onDone can still be delayed.
    const free = m.delayable().after('free')
    expect(await failure(() => wharf.batch(' ', [m.delayable().run('e')], { onDone: free }))).toBeInstanceOf(InvalidPropertyError)
    expect(await failure(() => wharf.batch('e', [m.delayable({ identityKey: 'k' }).run('e')], { onDone: free }))).toBeInstanceOf(InvalidPropertyError)
    await free.delay()
    expect(free.job!.state).toBe('pending')
  })

  it('counts a retried job as running until it is done', async () => {
    const { wharf, m, clock, audit, view } = await setup()
    const batch = await wharf.batch('retry', [m.delayable().run('retry'), m.delayable().run('a')])
    await wharf.start()
    await wharf.settled()
    await wharf.idle()
    expect(counts(await view(batch.uuid))).toEqual(['started', 2, 1, 0, 0])
    await clock.advance(60_000)
    await wharf.drain()
    expect(counts(await view(batch.uuid))).toEqual(['done', 2, 2, 0, 0])
    audit()
  })

  it('counts cancelled jobs as finished (done with one done at least); all cancelled is failed; setDone counts as done', async () => {
    const { wharf, m, audit, view, onDoneJobs } = await setup()
    const later = m.delayable({ eta: 3600 }).run('later')
    const one = await wharf.batch('one cancelled', [m.delayable().run('a'), later], { onDone: m.delayable().after('1') })
    const [x, y] = [m.delayable({ eta: 3600 }).run('x'), m.delayable({ eta: 3600 }).run('y')]
    const all = await wharf.batch('all cancelled', [x, y], { onDone: m.delayable().after('2') })
    await wharf.start()
    await wharf.settled()
    await wharf.idle()
    await wharf.cancel(later.job!.uuid)
    expect(counts(await view(one.uuid))).toEqual(['done', 2, 1, 0, 1])
    await wharf.cancel(x.job!.uuid)
    expect(counts(await view(all.uuid))).toEqual(['started', 2, 0, 0, 1])
    await wharf.cancel(y.job!.uuid)
    expect(counts(await view(all.uuid))).toEqual(['failed', 2, 0, 0, 2])
    await wharf.drain()
    expect(await onDoneJobs()).toBe(1)
    // A cancelled job brought back from history by setDone completes the all-cancelled batch.
    await wharf.setDone(x.job!.uuid)
    expect(counts(await view(all.uuid))).toEqual(['done', 2, 1, 0, 1])
    await wharf.drain()
    expect(await onDoneJobs()).toBe(2)
    audit()
  })

  it('reopens a done batch when a job of it is requeued from history, and never stores onDone twice', async () => {
    const { wharf, m, audit, view, onDoneJobs } = await setup()
    const a = m.delayable().run('a')
    const batch = await wharf.batch('again', [a, m.delayable().run('b')], { onDone: m.delayable().after('z') })
    await wharf.start()
    await wharf.drain()
    const first = await view(batch.uuid)
    expect(counts(first)).toEqual(['done', 2, 2, 0, 0])
    await wharf.stop()
    await wharf.requeue(a.job!.uuid)
    const reopened = await view(batch.uuid)
    expect([...counts(reopened), reopened.doneAt]).toEqual(['started', 2, 1, 0, 0, null])
    await wharf.start()
    await wharf.drain()
    expect(counts(await view(batch.uuid))).toEqual(['done', 2, 2, 0, 0])
    expect(await onDoneJobs()).toBe(1)
    audit()
  })
})

describe('batch(): removal and vacuum', () => {
  it('remove() of the failed job completes a batch whose other jobs are done; removing every job removes the batch', async () => {
    const { wharf, m, audit, view, onDoneJobs } = await setup()
    const [ok, bad] = [m.delayable().run('a'), m.delayable().run('fail')]
    const batch = await wharf.batch('r', [ok, bad], { onDone: m.delayable().after('r') })
    await wharf.start()
    await wharf.drain()
    expect(counts(await view(batch.uuid))).toEqual(['failed', 2, 1, 1, 0])
    await wharf.remove([bad.job!.uuid])
    expect(counts(await view(batch.uuid))).toEqual(['done', 1, 1, 0, 0])
    await wharf.drain()
    expect(await onDoneJobs()).toBe(1)
    // The done job is in history: its removal is counted from the view history held.
    await wharf.remove([ok.job!.uuid])
    expect(await wharf.batchView(batch.uuid)).toBeUndefined()
    expect(await wharf.batches()).toEqual([])
    audit()
  })

  it('purge() counts the jobs it takes out of each batch', async () => {
    const { wharf, m, audit, view } = await setup()
    const batch = await wharf.batch('p', [m.delayable().run('a'), m.delayable().run('b'), m.delayable().run('fail')])
    await wharf.start()
    await wharf.drain()
    expect(await wharf.purge({ state: 'done' })).toBe(2)
    expect(counts(await view(batch.uuid))).toEqual(['failed', 1, 0, 1, 0])
    expect(await wharf.purge({ state: 'failed' })).toBe(1)
    expect(await wharf.batchView(batch.uuid)).toBeUndefined()
    audit()
  })

  it('autovacuum shrinks a done batch as its jobs go, and removes it with its last job', async () => {
    const clock = new FakeClock()
    const path = await temp.path()
    const first = await setup({ path, channels: 'root:4,root.keep:1:remove_after_days=60' }, clock)
    const batch = await first.wharf.batch('v', [first.m.delayable().run('a'), first.m.delayable({ channel: 'root.keep' }).run('kept')])
    await first.wharf.start()
    await first.wharf.drain()
    await first.wharf.close()
    clock.advanceTo(clock.now() + 31 * DAY)
    const second = await setup({ path, channels: 'root:4,root.keep:1:remove_after_days=60' }, clock)
    expect(second.wharf.openReport.vacuumed).toBe(1)
    expect(counts(await second.view(batch.uuid))).toEqual(['done', 1, 1, 0, 0])
    second.audit()
    await second.wharf.close()
    clock.advanceTo(clock.now() + 30 * DAY)
    const third = await setup({ path, channels: 'root:4,root.keep:1:remove_after_days=60' }, clock)
    expect(third.wharf.openReport.vacuumed).toBe(1)
    expect(await third.wharf.batches()).toEqual([])
    third.audit()
  })

  it('removing the failed jobs completes a batch whose done jobs are in history, and not one whose done jobs were vacuumed', async () => {
    const clock = new FakeClock()
    const path = await temp.path()
    const first = await setup({ path, channels: 'root:4,root.keep:1:remove_after_days=60' }, clock)
    // `kept` outlives the vacuum below (60 days); `gone`'s done job does not (30 days).
    const kept = await first.wharf.batch('kept', [first.m.delayable({ channel: 'root.keep' }).run('a'), first.m.delayable().run('fail')], { onDone: first.m.delayable().after('kept') })
    const gone = await first.wharf.batch('gone', [first.m.delayable().run('b'), first.m.delayable().run('fail')], { onDone: first.m.delayable().after('gone') })
    await first.wharf.start()
    await first.wharf.drain()
    expect(counts(await first.view(gone.uuid))).toEqual(['failed', 2, 1, 1, 0])
    await first.wharf.close()
    clock.advanceTo(clock.now() + 31 * DAY)
    const second = await setup({ path, channels: 'root:4,root.keep:1:remove_after_days=60' }, clock)
    expect(second.wharf.openReport.vacuumed).toBe(1)
    expect(counts(await second.view(gone.uuid))).toEqual(['failed', 1, 0, 1, 0])
    const failed = await second.wharf.jobs({ state: 'failed' })
    await second.wharf.remove(failed.map((job) => job.uuid))
    // `kept`: its other job is done, so the removal completes it and stores its onDone.
    const completed = await second.view(kept.uuid)
    expect(counts(completed)).toEqual(['done', 1, 1, 0, 0])
    expect(completed.onDoneStored).toBe(true)
    // `gone`: its last job left, and it with it, without ever completing.
    expect(await second.wharf.batchView(gone.uuid)).toBeUndefined()
    expect((await second.wharf.jobs({ model: 't.batch', method: 'after' })).map((job) => job.args)).toEqual([['kept']])
    second.audit()
  })
})

describe('batch() on LevelDB', () => {
  it('keeps identical batches and jobs after replay, and after snapshot + replay', async () => {
    const clock = new FakeClock()
    const path = await temp.path()
    const first = await setup({ path }, clock)
    const held = first.m.delayable().run('hold')
    const b1 = await first.wharf.batch('one', [first.m.delayable().run('a'), first.m.delayable().run('fail')])
    const b2 = await first.wharf.batch('two', [held, first.m.delayable({ eta: 3600 }).run('later')], { onDone: first.m.delayable().after('2') })
    await first.wharf.start()
    await first.wharf.settled()
    await first.wharf.cancel(held.job!.uuid)
    first.held.open()
    await first.wharf.idle()
    const before = [await first.wharf.batches(), await first.wharf.jobs()]
    const projection = projectState(first.wharf.engine.state)
    await first.wharf.close()
    const second = await setup({ path }, clock)
    expect([await second.wharf.batches(), await second.wharf.jobs()]).toEqual(before)
    expect(projectState(second.wharf.engine.state)).toEqual(projection)
    second.audit()
    await second.wharf.snapshot()
    await second.wharf.close()
    const third = await setup({ path }, clock)
    expect(third.wharf.openReport.snapshotSeq).toBeGreaterThan(0)
    expect([await third.wharf.batches(), await third.wharf.jobs()]).toEqual(before)
    expect(projectState(third.wharf.engine.state)).toEqual(projection)
    expect((await third.wharf.batches()).map(counts)).toEqual([
      ['failed', 2, 1, 1, 0],
      ['started', 2, 0, 0, 1],
    ])
    // The rest of b2 runs after the snapshot: it completes and stores onDone once.
    await third.wharf.start()
    await third.wharf.drain()
    expect(counts((await third.wharf.batchView(b2.uuid))!)).toEqual(['done', 2, 1, 0, 1])
    expect(await third.onDoneJobs()).toBe(1)
    expect(b1.uuid < b2.uuid).toBe(true)
    await third.wharf.close()
    const fourth = await setup({ path }, clock)
    expect(await fourth.onDoneJobs()).toBe(1)
    fourth.audit()
  })

  it('stores onDone exactly once across a crash: the job running when the process died runs again, then the batch completes', async () => {
    const clock = new FakeClock()
    const path = await temp.path()
    const first = await setup({ path }, clock)
    const batch = await first.wharf.batch('crash', [first.m.delayable().run('a'), first.m.delayable().run('hold')], { onDone: first.m.delayable().after('c') })
    await first.wharf.start()
    await first.wharf.settled()
    // The held handler never returns: close abandons it, its job stays started in the log.
    await first.wharf.close({ timeoutMs: 0 })
    const second = await setup({ path }, clock)
    expect(second.wharf.openReport.requeued).toBe(1)
    second.held.open()
    await second.wharf.start()
    await second.wharf.drain()
    expect(counts(await second.view(batch.uuid))).toEqual(['done', 2, 2, 0, 0])
    expect(await second.onDoneJobs()).toBe(1)
    await second.wharf.close()
    const third = await setup({ path }, clock)
    await third.wharf.start()
    await third.wharf.drain()
    expect(await third.onDoneJobs()).toBe(1)
    third.audit()
  })
})

describe('batch(): refusals', () => {
  it('stores nothing when one element is bad, and names it', async () => {
    const { wharf, m } = await setup()
    const delayed = m.delayable().run('once')
    await delayed.delay()
    const cases: [unknown[], RegExp][] = [
      [[m.delayable().run('a'), 'nope'], /^batch\(\): delayables\[1\] is not a delayable/],
      [[m.delayable().run('a'), delayed], /^batch\(\): delayables\[1\]: job .* was delayed already/],
      [[m.delayable().run('a'), m.delayable({ identityKey: 'k' }).run('b')], /^batch\(\): delayables\[1\]: job .* has identity key "k"; jobs of a batch cannot have one/],
      [[m.delayable().run('a'), m.delayable().run((() => 1) as never)], /^batch\(\): delayables\[1\]: .*function/],
    ]
    for (const [list, message] of cases) {
      expect(((await failure(() => wharf.batch('bad', list as never))) as Error).message).toMatch(message)
    }
    expect(await wharf.batches()).toEqual([])
    expect((await wharf.jobs()).map((j) => j.args[0])).toEqual(['once'])
  })

  it('refuses, in the core, a uuid a custom newId repeats: all or none', async () => {
    let n = 0
    const ids = ['b1', 'j1', 'j2', 'j1']
    const { wharf, m } = await setup({ newId: () => ids[n++] ?? `id-${n}` })
    const error = await failure(() => wharf.batch('dup', [m.delayable().run('a'), m.delayable().run('b'), m.delayable().run('c')]))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toMatch(/^batch\(\): delayables\[2\]: job uuid "j1" is not unique/)
    expect(await wharf.batches()).toEqual([])
    expect(await wharf.jobs()).toEqual([])
  })

  it('checks the name, the list and the options, naming the bad value', async () => {
    const { wharf, m } = await setup()
    const d = () => m.delayable().run('a')
    const bad: [() => Promise<unknown>, RegExp][] = [
      [() => wharf.batch('', [d()]), /name must be a non-blank string/],
      [() => wharf.batch(7 as never, [d()]), /name must be a non-blank string .* got 7/],
      [() => wharf.batch('x'.repeat(201), [d()]), /at most 200 characters/],
      [() => wharf.batch('b', []), /delayables is empty/],
      [() => wharf.batch('b', 'x' as never), /expected an array/],
      [() => wharf.batch('b', [d()], { onDon: d() } as never), /unknown option "onDon"; known: onDone/],
      [() => wharf.batch('b', [d()], { onDone: 'later' } as never), /onDone must be a delayable, chain or group, got "later"/],
      [() => wharf.batch('b', [d()], null as never), /options must be an object/],
      [() => wharf.batch('b', [d()], { onDone: m.delayable({ identityKey: 'k' }).after('x') }), /onDone: job .* has identity key/],
      [() => wharf.batch('b', [d()], { onDone: chain(...Array.from({ length: 9 }, () => m.delayable().after('x'))) }), /at most 8 jobs per call \(BATCH_ON_DONE_JOBS_MAX\)/],
    ]
    for (const [call, message] of bad) {
      const error = await failure(call)
      expect(error, String(message)).toBeInstanceOf(error instanceof InvalidGraphError ? InvalidGraphError : InvalidPropertyError)
      expect((error as Error).message).toMatch(message)
    }
    // The limits are delayMany's, and refused as its are (README): InvalidGraphError.
    const tooMany = await failure(() => wharf.batch('b', Array.from({ length: BATCH_JOBS_MAX + 1 }, d)))
    expect(tooMany).toBeInstanceOf(InvalidGraphError)
    expect((tooMany as Error).message).toContain(`at most ${BATCH_JOBS_MAX} jobs per call (BATCH_JOBS_MAX)`)
    const onDoneTooBig = await failure(() => wharf.batch('b', [d()], { onDone: chain(...Array.from({ length: BATCH_ON_DONE_JOBS_MAX + 1 }, () => m.delayable().after('x'))) }))
    expect(onDoneTooBig).toBeInstanceOf(InvalidGraphError)
    const shared = d()
    const after = m.delayable().after('s')
    shared.onDone(after)
    expect(((await failure(() => wharf.batch('b', [shared], { onDone: after }))) as Error).message).toMatch(/onDone belongs to the graph of a job of the batch/)
    expect(await wharf.batches()).toEqual([])
  })

  it('checks batches() queries, and pages by cursor in either order', async () => {
    const { wharf, m } = await setup()
    const made: string[] = []
    for (let i = 0; i < 3; i++) made.push((await wharf.batch(`b${i}`, [m.delayable().run('a')])).uuid)
    const page = await wharf.batches({ limit: 2 })
    expect(page.map((b) => b.uuid)).toEqual(made.slice(0, 2))
    expect((await wharf.batches({ after: page[1]!.uuid })).map((b) => b.uuid)).toEqual(made.slice(2))
    expect((await wharf.batches({ order: 'desc', after: made[2] })).map((b) => b.uuid)).toEqual([made[1], made[0]])
    expect((await wharf.batches({ state: 'pending' })).length).toBe(3)
    expect(await wharf.batches({ state: 'done' })).toEqual([])
    for (const [query, message] of [
      [{ status: 'done' }, /unknown query key "status"/],
      [{ state: 'finished' }, /unknown state "finished"; states: pending, started, done, failed/],
      [{ limit: 0 }, /limit must be an integer from 1 to 10000/],
      [{ after: '' }, /after must be a non-empty string/],
    ] as const) {
      await expect(wharf.batches(query as never)).rejects.toThrow(message)
    }
    await expect(wharf.batchView('')).rejects.toThrow(InvalidPropertyError)
    expect(await wharf.batchView('nope')).toBeUndefined()
  })
})

describe('batches in snapshots', () => {
  it('restores a snapshot of format 2 (before batches) with no batch, and one of format 3 with its batches and counts', async () => {
    const { wharf, m } = await setup()
    await m.withDelay({ eta: 60 }).run('alone')
    const batch = await wharf.batch('s', [m.delayable().run('a'), m.delayable({ eta: 60 }).run('b')])
    await wharf.start()
    await wharf.settled()
    await wharf.idle()
    const state = wharf.engine.state
    const snapshot = snapshotOf(state)
    expect(snapshot.formatVersion).toBe(3)
    expect(projectState(restoreState(parseChannelConfig('root:4'), snapshot))).toEqual(projectState(state))
    expect(counts(toBatchView(restoreState(parseChannelConfig('root:4'), snapshot).batches.get(batch.uuid)!))).toEqual(['started', 2, 1, 0, 0])
    // As 0.2 before batches wrote it: no batches, and jobs of 30 fields.
    const old = { ...snapshot, formatVersion: 2 as const, batches: undefined, jobs: snapshot.jobs.filter((j) => j[30] === null).map((j) => j.slice(0, 30) as typeof j) }
    const restored = restoreState(parseChannelConfig('root:4'), old)
    expect(restored.batches.size).toBe(0)
    expect([...restored.jobs.values()].map((j) => [j.args[0], j.batch])).toEqual([['alone', null]])
    checkInvariants(restored)
  })
})

describe('batch() trapped and in no-delay mode', () => {
  it('captures the jobs when trapped and runs them, then onDone, without delay; nothing is stored', async () => {
    const { wharf, m } = await setup()
    const trap = trapJobs(wharf)
    const trapped = await wharf.batch('t', [m.delayable().run('a'), m.delayable().run('b')], { onDone: m.delayable().after('t') })
    expect([trapped.state, trapped.total]).toEqual(['pending', 2])
    trap.assertJobsCount(2, { only: 't.batch.run' })
    trap.assertJobsCount(0, { only: 't.batch.after' })
    trap.restore()
    expect(await wharf.batches()).toEqual([])
    const ran: string[] = []
    const direct = await Wharf.open({ noDelay: true })
    opened.push(direct)
    const n = direct.model('n', {
      run(x: string) {
        ran.push(x)
        return x
      },
    })
    const view = await direct.batch('n', [n.delayable().run('a'), n.delayable().run('b')], { onDone: n.delayable().run('after') })
    expect(ran).toEqual(['a', 'b', 'after'])
    expect([view.state, view.total, view.done]).toEqual(['done', 2, 2])
    expect(await direct.batches()).toEqual([])
  })

  it('refuses when trapped what it refuses when it stores, naming the element, and traps nothing then', async () => {
    const { wharf, m } = await setup()
    const trap = trapJobs(wharf)
    const cases: [string, () => Promise<unknown>, new (...args: never[]) => Error, string][] = [
      ['identity key', () => wharf.batch('t', [m.delayable({ identityKey: 'k' }).run('a')]), InvalidPropertyError, 'batch(): delayables[0]: '],
      ['onDone identity key', () => wharf.batch('t', [m.delayable().run('a')], { onDone: m.delayable({ identityKey: 'k' }).after('x') }), InvalidPropertyError, 'batch(): onDone: '],
      ['onDone argument', () => wharf.batch('t', [m.delayable().run('a')], { onDone: m.delayable().after((() => 1) as never) }), NotSerializableError, 'batch(): onDone: '],
      ['job argument', () => wharf.batch('t', [m.delayable().run((() => 1) as never)]), NotSerializableError, 'batch(): delayables[0]: '],
    ]
    for (const [name, call, type, where] of cases) {
      const error = await failure(call)
      expect(error, name).toBeInstanceOf(type)
      expect((error as Error).message, name).toContain(where)
    }
    expect(trap.calls).toEqual([])
    trap.restore()
  })
})
