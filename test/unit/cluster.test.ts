// Proves two Wharfs on one PostgreSQL schema form one cluster (real server, two sessions): the
// second is a follower, its calls go through the inbox and come back with the scheduler's answers
// and errors, its jobs run once (on either member: cluster-workers.test.ts says which), its reads
// see committed state at once after its own writes, and identity keys stay unique when both
// enqueue the same keys at the same time. Its posts wake the scheduler on the inbox's own channel,
// carrying their calls, and the replies it alone on its own, not every member on the schema's.
import { describe, expect, it } from 'vitest'
import { chain, InvalidPropertyError, JobStateConflictError, UnknownJobError, Wharf, WharfClosedError } from '../../src/index.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { connect } from '../../src/storage/pg-driver.js'
import { inboxChannel, notifyChannel, replyChannel } from '../../src/storage/pg-channels.js'
import { PgClusterTables } from '../../src/storage/pg-cluster.js'
import { decodeCall } from '../../src/engine/runtime/cluster-wire.js'
import { failure, gate } from './helpers.js'

const db = pgTestDatabase()

describe('a cluster of two Wharfs on one schema', () => {
  const open = clusterMembers(db)
  /** Both register the model: the job runs on one of them. */
  const partner = (wharf: Wharf, ran: string[]) =>
    wharf.model('res.partner', {
      double(n: number) {
        ran.push(`${n}`)
        return n * 2
      },
    })

  it('makes the second one a follower that enqueues through the inbox and reads committed state', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const ranOnScheduler: string[] = []
    const ranOnFollower: string[] = []
    partner(scheduler, ranOnScheduler)
    const onFollower = partner(follower, ranOnFollower)
    // Nobody started yet: the scheduler dispatches to started members only, so the job waits.
    const view = await follower.cluster()
    expect(view).toMatchObject({ node: 'node-b', role: 'follower', term: 1, leader: 'node-a' })
    expect(view.nodes.map((m) => [m.node, m.role, m.running])).toEqual([['node-a', 'scheduler', 0], ['node-b', 'follower', 0]])

    const job = await onFollower.browse([1]).withDelay({ identityKey: 'k1' }).double(21)
    expect(job).toMatchObject({ state: 'pending', identityKey: 'k1', args: [21] })
    // Read-your-writes: the follower's replica holds its own call once it is answered.
    expect(await follower.job(job.uuid)).toMatchObject({ uuid: job.uuid, state: 'pending' })
    expect((await follower.jobs({ identityKey: 'k1' })).map((j) => j.uuid)).toEqual([job.uuid])
    expect(follower.stats().states.pending).toBe(1)
    expect(await follower.explain(job.uuid)).toMatchObject({ state: 'pending' })

    await Promise.all([scheduler.start(), follower.start()]) // a follower dispatches nothing, but runs the handlers assigned to it
    expect(await follower.result(job.uuid)).toBe(42)
    expect([...ranOnScheduler, ...ranOnFollower]).toEqual(['21'])
    await scheduler.idle()
    expect(await follower.job(job.uuid)).toMatchObject({ state: 'done', result: 42 })
    await expect.poll(() => follower.stats().states.done).toBe(1)
  })

  it('answers the calls of a member named in any characters: its reply channel stays plain ASCII under 64 bytes', async () => {
    const schema = db.schema()
    await open(schema, 'node-a')
    const name = 'サーバー-東京-' + 'é'.repeat(60) + '"quoted"'
    const follower = await open(schema, name)
    expect(await partner(follower, []).withDelay().double(4)).toMatchObject({ state: 'pending', args: [4] })
    for (const address of [`${name}#${'0'.repeat(36)}`, 'n#1', 'a'.repeat(200)]) {
      const channel = replyChannel(schema, address)
      expect(Buffer.byteLength(channel)).toBeLessThanOrEqual(63)
      expect(channel).toMatch(/^[A-Za-z0-9_:#.-]+$/)
    }
  })

  it("NOTIFYs a follower's posts on the inbox's channel, carrying their calls, and its replies on its own, not on the schema's every member listens to", async () => {
    const schema = db.schema()
    await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const heard: string[] = []
    const carried: unknown[] = []
    const listener = await connect(db.url())
    try {
      await listener.listen(notifyChannel(schema), (payload) => heard.push(`schema ${payload.split(' ', 1)[0]}`))
      await listener.listen(inboxChannel(schema), (payload) => {
        heard.push(`inbox ${payload.split(' ', 1)[0]}`)
        for (const call of PgClusterTables.noticedCalls(payload) ?? []) carried.push([call.node.split('#')[0], decodeCall(call.body).command])
      })
      const onFollower = partner(follower, [])
      for (const n of [1, 2]) expect(await onFollower.withDelay().double(n)).toMatchObject({ state: 'pending' })
      // One session hears both channels in commit order: the first call's post, the append that
      // answered it (its log and reply), the second call's post, then the append that applied it.
      const posts = (): number => heard.filter((h) => h === 'inbox inbox').length
      while (posts() < 2 || heard.lastIndexOf('schema log') < heard.lastIndexOf('inbox inbox')) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(heard.filter((h) => h === 'schema log').length).toBeGreaterThanOrEqual(1)
      expect(heard).not.toContain('schema inbox')
      expect(heard).not.toContain('schema reply')
      expect(carried).toMatchObject([1, 2].map((n) => ['node-b', { type: 'enqueue', jobs: [{ model: 'res.partner', method: 'double', args: [n] }] }]))
    } finally {
      await listener.end()
    }
  })

  it("answers a follower's management calls with the scheduler's results and errors", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    partner(scheduler, [])
    const onFollower = partner(follower, [])
    const missing = '01ARZ3NDEKTSV4RRFFQ69G5FAV'
    const error = await failure(() => follower.cancel(missing))
    expect(error).toBeInstanceOf(UnknownJobError)
    expect(error).toMatchObject({ code: 'UNKNOWN_JOB', message: (await failure(() => scheduler.cancel(missing)) as Error).message })

    const graph = chain(onFollower.browse([1]).delayable().double(1), onFollower.browse([2]).delayable().double(2))
    const [many] = await follower.delayMany([graph])
    expect(many).toMatchObject({ state: 'pending', graphUuid: expect.any(String) })
    expect((await follower.graph(many!.graphUuid!)).jobs).toHaveLength(2)
    const batch = await follower.batch('nightly', [onFollower.browse([3]).delayable().double(3)])
    expect(batch).toMatchObject({ name: 'nightly', total: 1, done: 0 })
    expect(await follower.batchView(batch.uuid)).toMatchObject({ uuid: batch.uuid })

    await follower.cancel(many!.uuid)
    expect(await follower.job(many!.uuid)).toMatchObject({ state: 'cancelled' })
    await follower.requeue(many!.uuid)
    expect(await failure(() => follower.remove([many!.uuid]))).toBeInstanceOf(JobStateConflictError)
    await follower.pauseChannel('root')
    await scheduler.start()
    expect(await scheduler.explain(many!.uuid)).toMatchObject({ reasons: [expect.objectContaining({ kind: 'paused' })] })
    await follower.resumeChannel('root')
    await scheduler.drain()
    // The chain's child stays cancelled (a requeue brings back the job named only); the rest ran.
    const done = (await scheduler.jobs({ state: 'done' })).map((j) => j.uuid)
    expect(done).toHaveLength(2)
    await expect.poll(async () => (await follower.jobs({ state: 'done' })).map((j) => j.uuid)).toEqual(done)
    expect(await follower.purge({ state: 'done' })).toBe(2)
    expect((await follower.jobs()).map((j) => j.state)).toEqual(['cancelled'])
  })

  it("counts history on a follower as the scheduler does, from the batches it applies, and reads them again after a removal from history", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a', { channels: 'root:4' })
    const follower = await open(schema, 'node-b', { channels: 'root:4' })
    partner(scheduler, [])
    const onFollower = partner(follower, [])
    await Promise.all([scheduler.start(), follower.start()])
    const jobs = await Promise.all(Array.from({ length: 12 }, (_, n) => onFollower.browse([n]).withDelay({ channel: n % 2 === 0 ? 'root' : 'root.even' }).double(n)))
    const cancelled = await onFollower.withDelay({ eta: new Date(Date.now() + 3_600_000) }).double(99)
    await follower.cancel(cancelled.uuid)
    for (const job of jobs) await follower.result(job.uuid)
    await Promise.all([scheduler.idle(), follower.idle()])
    const counts = (wharf: Wharf) => ({ states: wharf.stats().states, channels: wharf.stats().channels })
    await expect.poll(() => counts(follower)).toEqual(counts(scheduler))
    expect(follower.stats().states.done).toBe(12)
    // A removal from history names jobs the follower never had views of: it reads the counts again.
    await follower.remove([jobs[0]!.uuid, cancelled.uuid])
    await expect.poll(() => follower.stats().states.done).toBe(11)
    expect(counts(follower)).toEqual(counts(scheduler))
    expect(follower.stats().states.cancelled).toBe(0)
  })

  it("refuses a follower's job whose uuid, from its custom newId, a finished job has, though the scheduler's own ids are ULIDs", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const ids = ['reused', 'reused']
    const follower = await open(schema, 'node-b', { newId: () => ids.shift() ?? `fresh-${ids.length}-${Math.random()}` })
    partner(scheduler, [])
    const onFollower = partner(follower, [])
    await scheduler.start()
    const first = await onFollower.withDelay().double(1)
    expect(await follower.result(first.uuid)).toBe(2)
    // As embedded (duplicate-uuid.test.ts): refused, and the finished job stays as it was.
    const error = await failure(() => onFollower.withDelay().double(2))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain('"reused"')
    expect(await follower.job('reused')).toMatchObject({ state: 'done', args: [1] })
    // The scheduler goes on: the next call is answered and its job runs.
    const next = await onFollower.withDelay().double(3)
    expect(await follower.result(next.uuid)).toBe(6)
  })

  it('answers cluster() on a closing follower as a member, never as a scheduler of its own, and refuses it once closed', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const running = gate()
    const release = gate()
    const held = follower.model('res.partner', {
      async hold() {
        running.open()
        await release.wait
        return 'held'
      },
    })
    await follower.start()
    const job = await held.withDelay().hold()
    await running.wait
    const closing = follower.close() // waits for its handler
    const during = follower.cluster()
    expect(during).toMatchObject({ node: 'node-b', leader: 'node-a', term: 1 })
    expect(during.role).not.toBe('scheduler')
    release.open()
    await closing
    expect(() => follower.cluster()).toThrow(WharfClosedError)
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', result: 'held' })
  })

  it('closes a follower whose close() waits for a handler when a second close() gives up on it, both resolving as embedded', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const running = gate()
    const stuck = follower.model('res.partner', {
      async hang() {
        running.open()
        return new Promise<never>(() => undefined)
      },
    })
    await follower.start()
    const job = await stuck.withDelay().hang()
    await running.wait
    const first = follower.close()
    await follower.close({ timeoutMs: 0 })
    await first
    // Abandoned: the scheduler recovers it as a dead worker's (close.test.ts: the next open does).
    await expect.poll(async () => (await scheduler.job(job.uuid))?.state, { timeout: 15_000 }).toBe('pending')
  })

  it('keeps identity keys unique when both members enqueue the same keys at once', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const onScheduler = partner(scheduler, [])
    const onFollower = partner(follower, [])
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`)
    const both = await Promise.all(
      keys.flatMap((key, i) => [
        onScheduler.browse([i]).withDelay({ identityKey: key }).double(i),
        onFollower.browse([i]).withDelay({ identityKey: key }).double(i),
      ]),
    )
    for (let i = 0; i < keys.length; i++) expect(both[2 * i]!.uuid).toBe(both[2 * i + 1]!.uuid)
    const stored = await follower.jobs({ limit: 1000 })
    expect(stored).toHaveLength(keys.length)
    expect(new Set(stored.map((j) => j.identityKey)).size).toBe(keys.length)
    expect((await scheduler.jobs({ limit: 1000 })).map((j) => j.uuid)).toEqual(stored.map((j) => j.uuid))
  })
})
