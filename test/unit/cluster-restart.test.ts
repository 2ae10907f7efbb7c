// Proves that a PostgreSQL server restart under a running cluster finds no member dead for it: a
// restart ends every session, so every member's lock is free until that member's next heartbeat
// takes it again, and the time the server was away is no member's silence. Before, the first
// read of the members after the restart found the workers dead by their locks: each running
// handler's job was recovered (retry + 1, JobFoundDead past maxRetries) and started again while
// the handler still ran. And the scheduler keeps its lease through it: followers leave the lease,
// freed by the restart, to the term's scheduler for a while. Before, a follower (trying it four
// times as often as the scheduler checks it) took it after most restarts: the scheduler was
// deposed, for good until its Wharf was opened again. Nor does a follower hold the lease for a
// moment as it tries it (it is not taken at all while the scheduler may return): before, one took
// it, found that the scheduler may return, and gave it back — and a scheduler checking its lease
// in between was deposed all the same (seen under load). The server here is one of this file's own
// (the others' is never restarted); the member under test reaches it through a proxy kept cut a
// little longer, so that the others act before it is back, whatever the timers' order.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { Wharf } from '../../src/index.js'
import { startPgServer, type PgServer } from '../../src/bench/pg-server.js'
import { HEARTBEAT_MS } from '../../src/engine/runtime/cluster.js'
import type { PgLease } from '../../src/storage/pg-lease.js'
import { RESTART_GRACE_MS } from '../../src/storage/pg-log.js'
import { heartbeatNow, stopHeartbeats } from '../cluster/member-gate.js'
import { cutProxy, type CutProxy } from '../pg/cut-proxy.js'
import { closedAfterEach, gate } from './helpers.js'

let server: PgServer
let proxy: CutProxy
beforeAll(async () => {
  server = await startPgServer({ fsync: false })
  proxy = await cutProxy(server.url)
})
afterAll(async () => {
  await proxy?.close()
  await server?.stop()
})

describe('a cluster whose PostgreSQL server restarts', () => {
  const opened = closedAfterEach()
  const open = async (url: string, node: string, schema: string): Promise<Wharf> => {
    const wharf = await Wharf.open({ postgres: `${url}?connect_timeout=2`, schema, node, channels: 'root:2' })
    opened.push(wharf)
    return wharf
  }

  it("finds no member dead for it: a handler that runs through it is its job's one try, and the scheduler goes on", async () => {
    // A web process as the scheduler: it enqueues and runs nothing, so the job can only run on the worker.
    const scheduler = await open(server.url, 'node-a', 'restarted')
    const onScheduler = scheduler.model('res.partner', { work: (n: number) => n })
    const worker = await open(proxy.url, 'node-b', 'restarted')
    const running = gate()
    const release = gate()
    let tries = 0
    const onWorker = worker.model('res.partner', {
      async work(n: number) {
        tries++
        running.open()
        await release.wait
        return n
      },
    })
    await worker.start()
    const job = await onScheduler.withDelay().work(1)
    await running.wait

    proxy.cut()
    await server.restart()
    // The scheduler is back on the server at once and reads the members at its heartbeats; the
    // worker's lock is free for all of them (its sessions cannot reach the server yet).
    await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS))
    proxy.restore()
    await expect.poll(() => worker.cluster().leader, { timeout: 20_000, interval: 50 }).toBe('node-a')
    release.open()

    expect(await scheduler.result(job.uuid)).toBe(1)
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', retry: 1 }) // its one try
    expect(tries).toBe(1)
    // One scheduler goes on, and a follower's call made after the restart is applied and runs.
    expect(scheduler.cluster()).toMatchObject({ role: 'scheduler', leader: 'node-a' })
    const next = await onWorker.withDelay().work(2)
    expect(await worker.result(next.uuid)).toBe(2)
  })
  it('keeps its scheduler: a follower leaves it the lease the restart freed, and is answered by it', async () => {
    const scheduler = await open(proxy.url, 'node-a', 'kept')
    const follower = await open(server.url, 'node-b', 'kept')
    const partner = follower.model('res.partner', { work: (n: number) => n })
    await follower.start()
    const { term } = scheduler.cluster()
    expect(scheduler.cluster().role).toBe('scheduler')

    proxy.cut()
    await server.restart()
    // The follower tries the lease, free since the restart, every 250 ms meanwhile.
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS))
    proxy.restore()
    await new Promise((resolve) => setTimeout(resolve, RESTART_GRACE_MS + 2 * HEARTBEAT_MS))

    expect(scheduler.cluster()).toMatchObject({ role: 'scheduler', term })
    expect(follower.cluster()).toMatchObject({ role: 'follower', term })
    const job = await partner.withDelay().work(3)
    expect(await follower.result(job.uuid)).toBe(3)
  })

  it("keeps its scheduler when it checks its lease just as a follower tries it: the follower's try never holds the lock it leaves", async () => {
    const scheduler = await open(server.url, 'node-a', 'tried')
    const follower = await open(server.url, 'node-b', 'tried')
    const { term } = scheduler.cluster()
    // The scheduler checks its lease only when told to from now on: after the follower's try.
    await stopHeartbeats(scheduler)
    await server.restart()
    const tried = triesHeld(follower)
    await tried.first
    // The check of a scheduler whose session the restart ended takes the lock again (its queries
    // may fail while its pool reconnects: the next heartbeat would try again, as this loop does).
    for (let checked = false; !checked; ) checked = await heartbeatNow(scheduler).then(() => true, () => false)
    tried.release()
    expect(scheduler.cluster()).toMatchObject({ role: 'scheduler', term })
    expect(follower.cluster()).toMatchObject({ role: 'follower' })
  })
})

/** `member`'s first try of the lease from now on that answers is held there, the lock kept if it
 * took it, until release() (or the test's end); `first` resolves once it answered. */
function triesHeld(member: Wharf): { first: Promise<void>; release(): void } {
  const lease = (member as unknown as { engine: { log: { lease: PgLease } } }).engine.log.lease
  const tryTake = lease.tryTake.bind(lease)
  const answered = gate()
  const held = gate()
  lease.tryTake = async (...args) => {
    const took = await tryTake(...args)
    lease.tryTake = tryTake
    answered.open()
    await held.wait
    return took
  }
  onTestFinished(held.open)
  return { first: answered.wait, release: held.open }
}
