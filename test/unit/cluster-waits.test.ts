// Proves settled(), idle() and drain() mean on every cluster member what they mean embedded
// (real PostgreSQL server): they wait for the cluster's jobs, wherever the scheduler runs them —
// a follower's drain() returns only once its job with an eta and its retried job are done, idle()
// on any member waits for a handler running on another one — and resolve with jobs pending that
// no member can run, as a stopped embedded Wharf's do. A follower's wait called right after the
// scheduler started a job, or while a member that joined since its last heartbeat can start one,
// catches up with the scheduler's last commit and reads the members before it judges (its
// replica held at a gate, its heartbeat stopped: the race made deterministic). And a follower
// stopped before it saw a start assigned to it refuses it: no handler launches after stop(), and
// the job runs on another worker without the refused try counting; one closed before it saw such
// a start has it refused for it by the scheduler as it leaves (no try counts), unless its close
// abandoned a running handler: then its runs are recovered, and counted, as a dead worker's.
import { describe, expect, it } from 'vitest'
import { RetryableJobError, type Wharf, type WharfEvent } from '../../src/index.js'
import { freezeReplica, nextEventOf, startOf } from '../cluster/replica-gate.js'
import { heartbeatNow, holdMemberReads, stopHeartbeats } from '../cluster/member-gate.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { gate } from './helpers.js'

const db = pgTestDatabase()

/** Whether `promise` has settled, as of now (it is given a few event-loop turns to). */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  void promise.then(() => (settled = true))
  // Long enough for a wait that does not wait to resolve (a few round trips to the server).
  await new Promise((resolve) => setTimeout(resolve, 100))
  return settled
}

/** Registers on `worker` a handler `hold` that opens `running` and returns 'released' once
 * `release` is opened. */
function holding(worker: Wharf): { running: ReturnType<typeof gate>; release: ReturnType<typeof gate> } {
  const running = gate()
  const release = gate()
  worker.model('res.partner', {
    async hold() {
      running.open()
      await release.wait
      return 'released'
    },
  })
  return { running, release }
}

/** Registers on `member` a handler `work` that notes `node` in `ran` and doubles its argument. */
function doubling(member: Wharf, node: string, ran: string[]) {
  return member.model('res.partner', {
    work(n: number) {
      ran.push(node)
      return n * 2
    },
  })
}

describe('waiting for a cluster', () => {
  const open = clusterMembers(db)

  it("a follower's drain() returns once its jobs are done wherever they run: an eta, a retry; a job nobody runs does not hold it", async () => {
    const schema = db.schema()
    // The scheduler runs no handler: the follower is the only worker.
    await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const client = await open(schema, 'node-c') // never started: it takes no work
    let tries = 0
    const partner = follower.model('res.partner', {
      later(n: number) {
        return n
      },
      flaky(n: number) {
        if (++tries === 1) throw new RetryableJobError('not yet', { seconds: 0.3 })
        return n
      },
    })
    await follower.start()
    const later = await partner.withDelay({ eta: 0.3 }).later(1)
    const flaky = await partner.withDelay().flaky(2)
    const nobody = await client.model('res.nobody', { work: () => 'not here' }).withDelay().work()
    await follower.drain()
    expect(await follower.job(later.uuid)).toMatchObject({ state: 'done', result: 1, retry: 1 })
    expect(await follower.job(flaky.uuid)).toMatchObject({ state: 'done', result: 2, retry: 2 })
    expect(await follower.job(nobody.uuid)).toMatchObject({ state: 'pending' })
  })

  it('idle() on a follower and on the scheduler waits for a handler running on another member', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const client = await open(schema, 'node-b')
    const worker = await open(schema, 'node-c')
    const { running, release } = holding(worker)
    await worker.start()
    // The client registers the function, but never starts: it takes no work.
    const job = await client.model('res.partner', { hold: () => 'not here' }).withDelay().hold()
    await running.wait // called right away: each member catches up with the start first
    const idle = [client.idle(), scheduler.idle(), client.drain()]
    for (const wait of idle) expect(await hasSettled(wait)).toBe(false)
    release.open()
    await Promise.all(idle)
    expect(await client.job(job.uuid)).toMatchObject({ state: 'done', result: 'released' })
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done' })
  })

  it("a follower's idle() and drain() called right after a start on a member that joined since its last heartbeat, before its replica applied it, wait for that job", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const client = await open(schema, 'node-b')
    // The client's member list stays as its last heartbeat read it (without node-c), and its
    // replica applies nothing: as a heartbeat a second old and a notification still in transit.
    await stopHeartbeats(client)
    const frozen = await freezeReplica(client)
    const worker = await open(schema, 'node-c')
    const { running, release } = holding(worker)
    await worker.start()
    // Stored by the scheduler, whose calls need no replica; it never starts: it takes no work.
    const job = await scheduler.model('res.partner', { hold: () => 'not here' }).withDelay().hold()
    await running.wait // its start on node-c is committed
    expect(client.cluster().nodes.map((n) => n.node)).not.toContain('node-c')
    const waits = [client.idle(), client.drain()]
    let ended = false
    void Promise.all(waits).then(() => (ended = true))
    await frozen.release()
    expect(await client.job(job.uuid)).toMatchObject({ state: 'started' })
    expect(ended).toBe(false) // judged after catching up: the job runs
    release.open()
    await Promise.all(waits)
    expect(client.cluster().nodes.map((n) => n.node)).toContain('node-c') // read by the waits
    expect(await client.job(job.uuid)).toMatchObject({ state: 'done', result: 'released' })
  })

  it("a follower's settled() called while its job waits for a member that joined since its last heartbeat waits until that member starts it", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const client = await open(schema, 'node-b')
    // Registered on the client, which never starts: nobody takes work, the job waits pending.
    const job = await client.model('res.partner', { work: () => 'not here' }).withDelay().work()
    await stopHeartbeats(client)
    // The scheduler learns of no member meanwhile: it starts nothing on node-c.
    const members = holdMemberReads(scheduler)
    const worker = await open(schema, 'node-c')
    const release = gate()
    worker.model('res.partner', {
      async work() {
        await release.wait
        return 'worked'
      },
    })
    // (Its start() resolves once settled, and the job, which it can run, starts only later.)
    const starting = worker.start()
    await heartbeatNow(worker) // its row announces the function
    expect(client.cluster().nodes.map((n) => n.node)).not.toContain('node-c')
    let ended = false
    const settled = client.settled().then(() => (ended = true))
    await new Promise((resolve) => setImmediate(resolve)) // a wait that does not wait has resolved by now
    expect(await client.job(job.uuid)).toMatchObject({ state: 'pending' })
    expect(ended).toBe(false) // node-c can start it: the scheduler will, once it reads its row
    members.release()
    await Promise.all([settled, starting])
    expect(await client.job(job.uuid)).toMatchObject({ state: 'started' })
    release.open()
    await client.idle()
    expect(await client.job(job.uuid)).toMatchObject({ state: 'done', result: 'worked' })
  })

  it('resolves with jobs pending when no member takes work, as a stopped embedded Wharf does', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const worker = await open(schema, 'node-c')
    const partner = follower.model('res.partner', { work: (n: number) => n })
    worker.model('res.partner', { work: (n: number) => n })
    // A worker that took work and stopped: none takes any now.
    await worker.start()
    await worker.stop()
    const ready = await partner.withDelay().work(1)
    const inAnHour = await partner.withDelay({ eta: 3600 }).work(2)
    for (const member of [follower, scheduler]) {
      await member.settled()
      await member.idle()
      await member.drain()
    }
    expect(await follower.job(ready.uuid)).toMatchObject({ state: 'pending', retry: 0 })
    expect(await follower.job(inAnHour.uuid)).toMatchObject({ state: 'pending', retry: 0 })
  })

  it('a follower stopped before it saw a start assigned to it refuses it: nothing launches after stop(), and the job runs elsewhere without the refused try counting', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const started = startOf(scheduler)
    const starts: string[] = []
    scheduler.on('transition', (event: WharfEvent) => {
      if (event.type === 'job.started') starts.push(event.node ?? '(none)')
    })
    const stopping = await open(schema, 'node-b')
    const ran: string[] = []
    const model = (member: Wharf, node: string) => doubling(member, node, ran)
    model(stopping, 'node-b')
    await stopping.start()
    // Its replica applies nothing now: the scheduler's start reaches it only after its stop().
    const frozen = await freezeReplica(stopping)
    // Stored by the scheduler (never started: it takes no work), whose calls need no replica.
    const job = await model(scheduler, 'node-a').withDelay().work(21)
    expect(await started(job.uuid)).toMatch(/^node-b#/)
    await stopping.stop()
    await frozen.release()
    expect(ran).toEqual([]) // refused, not launched
    // Pending again, its try taken back; another worker runs it.
    const other = await open(schema, 'node-c')
    model(other, 'node-c')
    await other.start()
    expect(await scheduler.result(job.uuid)).toBe(42)
    expect(ran).toEqual(['node-c'])
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', retry: 1 })
    expect(starts.at(-1)).toMatch(/^node-c#/)
    expect(starts.every((node) => /^node-[bc]#/.test(node))).toBe(true)
  })

  it('a follower closed before it saw a start assigned to it has that start refused as it leaves: no try counts, and the job is pending again at once', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const started = startOf(scheduler)
    const closing = await open(schema, 'node-b')
    const ran: string[] = []
    doubling(closing, 'node-b', ran)
    await closing.start()
    // Its replica applies nothing from now on: it never sees the start the scheduler gives it.
    await freezeReplica(closing)
    const job = await doubling(scheduler, 'node-a', ran).withDelay().work(21)
    expect(await started(job.uuid)).toMatch(/^node-b#/)
    const next = nextEventOf(scheduler, job.uuid)
    await closing.close()
    // Refused for it, its try taken back: not recovered as a dead worker's (retry + 1).
    expect(await next).toMatchObject({ type: 'job.postponed' })
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'pending', retry: 0 })
    const other = await open(schema, 'node-c')
    doubling(other, 'node-c', ran)
    await other.start()
    expect(await scheduler.result(job.uuid)).toBe(42)
    expect(ran).toEqual(['node-c'])
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', retry: 1 })
  })

  it('a follower whose close({ timeoutMs }) abandoned a running handler has that try counted, as a dead worker\'s', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const started = startOf(scheduler)
    const closing = await open(schema, 'node-b')
    const { running } = holding(closing) // never released
    await closing.start()
    const job = await scheduler.model('res.partner', { hold: () => 'not here' }).withDelay().hold()
    await Promise.all([running.wait, started(job.uuid)])
    const next = nextEventOf(scheduler, job.uuid)
    await closing.close({ timeoutMs: 0 })
    expect(await next).toMatchObject({ type: 'job.recovered', dead: false })
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'pending', retry: 1 })
  })
})
