// Proves that finished jobs leave memory for history through the public API: done and cancelled
// jobs (a graph once all of it is finished) are gone from the engine's state yet read, paged,
// counted and managed (requeue, cancel, setDone bring their graph back) exactly as before; on
// LevelDB they survive a reopen; autovacuum deletes whole graphs by finished time; and history
// is a projection: folding the uncompacted log gives the same views.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { chain, group, FakeClock, MemoryLog, Wharf, type JobView, type OpenOptions } from '../../src/index.js'
import { parseChannelConfig } from '../../src/engine/core/channel-config.js'
import { initialState } from '../../src/engine/core/channels.js'
import { fold } from '../../src/engine/core/evolve.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { toJobView } from '../../src/engine/core/view.js'
import { historyQuery } from '../../src/storage/history.js'

const DAY = 86_400_000
const CHANNELS = 'root:2,root.keep:1:remove_after_days=60'
let dir: string
const opened: Wharf[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-history-engine-'))
})
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
})

async function open(options: OpenOptions) {
  const wharf = await Wharf.open({ channels: CHANNELS, ...options })
  opened.push(wharf)
  const m = wharf.model('test.history', {
    run(what: string) {
      if (what === 'fail') throw new Error('broken')
      return `ran ${what}`
    },
  })
  return { wharf, m }
}

const ALL = historyQuery()
const byUuid = (views: JobView[]): JobView[] =>
  views.map((v) => ({ ...v, dependsOn: [...v.dependsOn].sort(), dependents: [...v.dependents].sort() })).sort((a, b) => (a.uuid < b.uuid ? -1 : 1))

describe('finished jobs leave memory', () => {
  it('done and cancelled jobs are gone from the state, and read, paged and counted from history', async () => {
    const clock = new FakeClock()
    const { wharf, m } = await open({ clock, log: new MemoryLog() })
    const jobs: JobView[] = []
    for (let i = 0; i < 30; i++) jobs.push(await m.withDelay().run(String(i)))
    const waiting = await m.withDelay({ eta: 3600 }).run('later')
    await wharf.cancel(waiting.uuid)
    await wharf.start()
    await wharf.idle()
    expect(wharf.engine.state.jobs.size).toBe(0)
    expect(await wharf.job(jobs[7]!.uuid)).toMatchObject({ state: 'done', result: 'ran 7', retry: 1 })
    expect(await wharf.job(waiting.uuid)).toMatchObject({ state: 'cancelled', result: 'Cancelled' })
    const pages: string[] = []
    for (let after: string | undefined; ; ) {
      const page = await wharf.jobs({ state: 'done', limit: 7, order: 'desc', ...(after === undefined ? {} : { after }) })
      pages.push(...page.map((j) => j.uuid))
      if (page.length < 7) break
      after = page.at(-1)!.uuid
    }
    expect(pages).toEqual(jobs.map((j) => j.uuid).reverse())
    expect(wharf.stats().states).toMatchObject({ done: 30, cancelled: 1, pending: 0 })
    expect(wharf.stats().channels.find((c) => c.name === 'root')).toMatchObject({ done: 30, cancelled: 1 })
  })

  it('a graph stays in memory until all of it is finished, then leaves whole', async () => {
    const { wharf, m } = await open({ clock: new FakeClock(), log: new MemoryLog() })
    const [a, b, c] = [m.delayable().run('a'), m.delayable().run('fail'), m.delayable().run('c')]
    await chain(a, b, c).delay()
    await wharf.start()
    await wharf.idle()
    expect([...wharf.engine.state.jobs.keys()].sort()).toEqual([a.job!.uuid, b.job!.uuid, c.job!.uuid].sort())
    await wharf.setDone(b.job!.uuid)
    await wharf.idle()
    expect(wharf.engine.state.jobs.size).toBe(0)
    const graph = await wharf.graph(a.job!.graphUuid!)
    expect(graph.jobs.map((j) => [j.args[0], j.state])).toEqual([['a', 'done'], ['fail', 'done'], ['c', 'done']])
    expect(graph.edges.sort()).toEqual([[a.job!.uuid, b.job!.uuid], [b.job!.uuid, c.job!.uuid]].sort())
  })

  it('requeue, cancel and setDone of finished jobs bring their graph back and act as before', async () => {
    const { wharf, m } = await open({ clock: new FakeClock(), log: new MemoryLog() })
    const [a, b] = [m.delayable().run('a'), m.delayable().run('b')]
    await chain(a, b).delay()
    const single = await m.withDelay().run('single')
    await wharf.start()
    await wharf.idle()
    expect(wharf.engine.state.jobs.size).toBe(0)
    // Requeue the parent: it runs again; its done child stays done.
    await wharf.stop()
    await wharf.requeue(a.job!.uuid)
    expect(await wharf.job(a.job!.uuid)).toMatchObject({ state: 'pending', retry: 0 })
    await wharf.start()
    await wharf.idle()
    expect(await wharf.job(a.job!.uuid)).toMatchObject({ state: 'done', retry: 1 })
    expect((await wharf.job(b.job!.uuid))!.state).toBe('done')
    // Cancel a done job, then set it done again: each a real change, then back to history.
    await wharf.cancel(single.uuid)
    expect((await wharf.job(single.uuid))!.state).toBe('cancelled')
    await wharf.setDone(single.uuid)
    expect(await wharf.job(single.uuid)).toMatchObject({ state: 'done', result: 'Manually set to done' })
    // No-ops on finished jobs change nothing; unknown jobs are still refused.
    const seq = wharf.engine.state.seq
    await wharf.setDone(single.uuid)
    expect(wharf.engine.state.seq).toBe(seq)
    await expect(wharf.cancel('no-such-job')).rejects.toMatchObject({ code: 'UNKNOWN_JOB' })
    expect(wharf.engine.state.jobs.size).toBe(0)
  })

  // Found by the simulator: the second command read the graph from history before the tick, but
  // the first command of the same tick had changed it since (and sent it back to the outbox).
  it('two commands of one tick on the same finished graph each see the other', async () => {
    const { wharf, m } = await open({ clock: new FakeClock(), log: new MemoryLog() })
    const [a, b] = [m.delayable().run('a'), m.delayable().run('b')]
    await chain(a, b).delay()
    await wharf.start()
    await wharf.idle()
    await Promise.all([wharf.cancel(a.job!.uuid), wharf.cancel(b.job!.uuid)])
    expect((await wharf.jobs()).map((j) => j.state)).toEqual(['cancelled', 'cancelled'])
  })

  it('jobs of one graph brought back together and requeued queue apart, and run in creation order', async () => {
    // They share priority, creation time and the seq of the event that restored them: without a
    // last tie-break on uuid the ready queue could not tell them apart (found by the simulator).
    const { wharf, m } = await open({ clock: new FakeClock(), log: new MemoryLog() })
    const [a, b, c] = [m.delayable().run('a'), m.delayable().run('b'), m.delayable().run('c')]
    await group(a, b, c).delay()
    await wharf.start()
    await wharf.idle()
    await wharf.stop()
    for (const job of [c, a, b]) await wharf.requeue(job.job!.uuid)
    checkInvariants(wharf.engine.state)
    expect(wharf.engine.state.jobs.size).toBe(3)
    const order: string[] = []
    wharf.on('transition', (e) => {
      if (e.type === 'job.started') order.push(e.uuid)
    })
    await wharf.start()
    await wharf.idle()
    expect(order).toEqual([a, b, c].map((d) => d.job!.uuid))
    expect((await wharf.jobs()).map((j) => j.state)).toEqual(['done', 'done', 'done'])
  })
})

describe('on LevelDB', () => {
  it('finished jobs survive close and reopen: identical views, counts and pages', async () => {
    const clock = new FakeClock()
    const path = join(dir, 'jobs')
    const first = await open({ clock, path })
    await chain(first.m.delayable().run('a'), first.m.delayable().run('b')).delay()
    await first.m.withDelay({ channel: 'root.keep', identityKey: 'k' }).run('keep')
    await first.m.withDelay().run('fail')
    await first.wharf.start()
    await first.wharf.idle()
    const before = byUuid(await first.wharf.jobs())
    const stats = first.wharf.stats()
    await first.wharf.close()
    const second = await open({ clock, path })
    expect(byUuid(await second.wharf.jobs())).toEqual(before)
    expect(second.wharf.stats().states).toEqual(stats.states)
    expect((await second.wharf.jobs({ identityKey: 'k' })).map((j) => j.args[0])).toEqual(['keep'])
    expect((await second.wharf.jobs({ channel: 'root.keep', state: 'done' })).length).toBe(1)
    expect([...second.wharf.engine.state.jobs.values()].map((j) => j.state)).toEqual(['failed'])
  })
})

describe.each(['MemoryLog', 'LevelDB'] as const)('autovacuum on %s', (kind) => {
  it('deletes finished jobs by finished time, per channel, whole graphs only, and keeps failed ones', async () => {
    const clock = new FakeClock()
    const memory = new MemoryLog()
    const log = kind === 'MemoryLog' ? memory : undefined
    const path = kind === 'LevelDB' ? join(dir, 'vacuum') : undefined
    const first = await open({ clock, log, path })
    const old = await first.m.withDelay().run('old')
    const kept = await first.m.withDelay({ channel: 'root.keep' }).run('kept longer')
    const failed = await first.m.withDelay().run('fail')
    const [p, c] = [first.m.delayable().run('p'), first.m.delayable().run('c')]
    await chain(p, c).delay()
    await first.wharf.start()
    await first.wharf.idle()
    await first.wharf.close()
    // 20 days later the child is requeued and finishes again: its graph is 20 days younger.
    clock.advanceTo(clock.now() + 20 * DAY)
    const second = await open({ clock, log, path })
    await second.wharf.requeue(c.job!.uuid)
    await second.wharf.start()
    await second.wharf.idle()
    await second.wharf.close()
    clock.advanceTo(clock.now() + 11 * DAY)
    const third = await open({ clock, log, path })
    expect(third.wharf.openReport.vacuumed).toBe(1)
    expect(await third.wharf.job(old.uuid)).toBeUndefined()
    expect((await third.wharf.job(kept.uuid))!.state).toBe('done')
    expect((await third.wharf.job(failed.uuid))!.state).toBe('failed')
    expect((await third.wharf.job(p.job!.uuid))!.state).toBe('done')
    await third.wharf.close()
    clock.advanceTo(clock.now() + 30 * DAY)
    const fourth = await open({ clock, log, path })
    expect(fourth.wharf.openReport.vacuumed).toBe(3)
    expect((await fourth.wharf.jobs()).map((j) => j.args[0])).toEqual(['fail'])
    expect(fourth.wharf.stats().states).toMatchObject({ done: 0, failed: 1 })
    await fourth.wharf.close()
    if (path === undefined) return
    // Nothing of the vacuumed jobs is left on disk: no view, no index entry, no finish-time group.
    const db = new ClassicLevel<string, string>(path)
    const left = await db.keys({ gte: 'h\x00', lt: 'h\x01' }).all()
    await db.close()
    expect(left.filter((k) => k !== 'h\x00complete')).toEqual([])
  })
})

describe.each(['MemoryLog', 'LevelDB'] as const)('autovacuum while running on %s', (kind) => {
  it('is work drain() and idle() wait for: what a due pass removes is gone once they resolve', async () => {
    // On LevelDB a pass reads its candidates from disk between ticks: drain() resolved while it
    // read, and a test saw the jobs it was about to remove.
    const clock = new FakeClock()
    const { wharf, m } = await open({ clock, ...(kind === 'LevelDB' ? { path: join(dir, 'running') } : { log: new MemoryLog() }) })
    const old = await m.withDelay().run('old')
    await wharf.start()
    await wharf.drain()
    clock.advanceTo(clock.now() + 31 * DAY) // past removeAfterDays (30) and the pass interval
    const next = await m.withDelay().run('next') // wakes the engine: the pass is due
    await wharf.drain()
    expect(await wharf.job(old.uuid)).toBeUndefined()
    expect((await wharf.job(next.uuid))!.state).toBe('done')
    clock.advanceTo(clock.now() + 31 * DAY)
    await m.withDelay().run('third')
    await wharf.idle()
    expect(await wharf.job(next.uuid)).toBeUndefined()
  })
})

describe('history is a projection of the log', () => {
  it('folding the uncompacted log gives the history written live', async () => {
    const log = new MemoryLog()
    const { wharf, m } = await open({ clock: new FakeClock(), log, snapshotEvery: 0 })
    const [a, b] = [m.delayable().run('a'), m.delayable().run('fail')]
    await chain(a, b).delay()
    for (let i = 0; i < 5; i++) await m.withDelay({ identityKey: `k${i % 2}` }).run(String(i))
    await wharf.start()
    await wharf.idle()
    await wharf.setDone(b.job!.uuid)
    const done = (await wharf.jobs({ state: 'done' }))[0]!
    await wharf.requeue(done.uuid)
    await wharf.cancel((await wharf.jobs({ state: 'done' }))[1]!.uuid)
    await wharf.idle()
    // The fold never hands its outbox to history: what left memory is all in it.
    const folded = fold(initialState(parseChannelConfig(CHANNELS)), log.events())
    const projected = [...folded.retired.values()].map(toJobView)
    expect(byUuid(projected)).toEqual(byUuid(await log.history.page(ALL)))
    expect(projected.length).toBe(4) // a, b and the two keyed jobs stored (the others matched)
    expect(folded.jobs.size).toBe(wharf.engine.state.jobs.size)
  })
})

