// Proves that a PostgreSQL server restart under a running cluster finds no member dead for it: a
// restart ends every session, so every member's lock is free until that member's next heartbeat
// takes it again, and the time the server was away is no member's silence. Before, the first
// read of the members after the restart found the workers dead by their locks: each running
// handler's job was recovered (retry + 1, JobFoundDead past maxRetries) and started again while
// the handler still ran. The server here is one of this file's own (the others' is never
// restarted); the worker reaches it through a proxy kept cut a little longer, so that the
// scheduler reads the members before the worker is back, whatever the timers' order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Wharf } from '../../src/index.js'
import { startPgServer, type PgServer } from '../../src/bench/pg-server.js'
import { HEARTBEAT_MS } from '../../src/engine/runtime/cluster.js'
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

  it("finds no member dead for it: a handler that runs through it is its job's one try, and the scheduler goes on", async () => {
    const open = async (url: string, node: string): Promise<Wharf> => {
      const wharf = await Wharf.open({ postgres: `${url}?connect_timeout=2`, schema: 'restarted', node, channels: 'root:2' })
      opened.push(wharf)
      return wharf
    }
    // A web process as the scheduler: it enqueues and runs nothing, so the job can only run on the worker.
    const scheduler = await open(server.url, 'node-a')
    const onScheduler = scheduler.model('res.partner', { work: (n: number) => n })
    const worker = await open(proxy.url, 'node-b')
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
})
