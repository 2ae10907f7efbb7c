// What wharf.cluster() tells an operator about the cluster, on a real PostgreSQL server: a
// deposed scheduler no longer names itself the leader; a killed member is not listed as alive.
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { spawnScript } from '../cluster/spawn.js'
import { cutProxy, type CutProxy } from '../pg/cut-proxy.js'
import { MEMBER_ALIVE_MS } from '../../src/engine/runtime/cluster.js'
import { clusterMembers, pgTestDatabase, terminateLockHolder } from '../pg/database.js'

const db = pgTestDatabase()

const children: ChildProcess[] = []
const proxies: CutProxy[] = []
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await Promise.all(proxies.splice(0).map((p) => p.close()))
})

describe('wharf.cluster()', () => {
  const open = clusterMembers(db)

  it('lists a SIGKILLed member no more once its session is gone (not for the 10 s its row stays fresh)', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const { child, opened } = spawnScript('./member.ts', [db.url(), schema, 'node-b'], () => undefined)
    children.push(child)
    expect(await opened).toEqual(['OPEN', 'follower'])
    await expect.poll(() => scheduler.cluster().nodes.map((n) => n.node), { timeout: 10_000, interval: 20 }).toEqual(['node-a', 'node-b'])
    child.kill('SIGKILL')
    // Well within MEMBER_ALIVE_MS (10 s): the next heartbeats read its member lock gone.
    await expect.poll(() => scheduler.cluster().nodes.map((n) => n.node), { timeout: 5_000, interval: 20 }).toEqual(['node-a'])
  })

  it('on a member cut from the server, ages its last read: no member nor leader once their heartbeats are 10 s old', async () => {
    const schema = db.schema()
    const app = await open(schema, 'app')
    const proxy = await cutProxy(db.url())
    proxies.push(proxy)
    const web = await open(schema, 'web', { postgres: `${proxy.url}?connect_timeout=2` })
    await expect.poll(() => web.cluster().nodes.map((n) => n.node), { timeout: 10_000, interval: 20 }).toEqual(['app', 'web'])
    expect(web.cluster().leader).toBe('app')
    const seen = web.cluster().nodes[0]!.lastSeenMs
    // lastSeenMs is by this process's clock: as old as the server says the heartbeat is.
    expect(Math.abs(Date.now() - seen)).toBeLessThan(MEMBER_ALIVE_MS)
    proxy.cut()
    // Its reads fail from now on: what the last one said goes stale (it named 'app' leader for ever).
    await expect.poll(() => web.cluster(), { timeout: 30_000, interval: 100 }).toMatchObject({ leader: null, nodes: [] })
    expect(app.cluster().leader).toBe('app')
  })

  it('says which members take work (started) and how many handlers each runs at once (workers)', async () => {
    const schema = db.schema()
    const web = await open(schema, 'node-a')
    const worker = await open(schema, 'node-b', { workers: 3 })
    worker.model('res.partner', { sync: () => 'ok' })
    await worker.start()
    const members = () => web.cluster().nodes.map(({ node, started, workers }) => [node, started, workers])
    await expect.poll(members, { timeout: 10_000, interval: 20 }).toEqual([['node-a', false, null], ['node-b', true, 3]])
    await worker.stop()
    await expect.poll(members, { timeout: 10_000, interval: 20 }).toEqual([['node-a', false, null], ['node-b', false, 3]])
  })

  it('on a scheduler deposed (its lease session terminated, another took over) names the new leader, not itself', async () => {
    const schema = db.schema()
    const old = await open(schema, 'node-a')
    const next = await open(schema, 'node-b')
    expect(old.cluster()).toMatchObject({ role: 'scheduler', leader: 'node-a' })
    await expect.poll(() => next.cluster().leader, { timeout: 10_000, interval: 20 }).toBe('node-a')
    await terminateLockHolder(db.url(), schema)
    await expect.poll(() => next.cluster().role, { timeout: 20_000, interval: 10 }).toBe('scheduler')
    const term = next.cluster().term
    await expect.poll(() => old.cluster().role, { timeout: 20_000, interval: 10 }).toBe('closed')
    const view = old.cluster()
    expect(view.leader).not.toBe('node-a')
    expect(view.nodes.find((n) => n.node === 'node-a')?.role).not.toBe('scheduler')
    // What it read on its way out: the term and the scheduler that deposed it.
    await expect.poll(() => old.cluster(), { timeout: 10_000, interval: 20 }).toMatchObject({ leader: 'node-b', term })
  })
})
