// What wharf.cluster() tells an operator about the cluster, on a real PostgreSQL server: a
// deposed scheduler no longer names itself the leader; a killed member is not listed as alive.
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { spawnScript } from '../cluster/spawn.js'
import { clusterMembers, pgTestDatabase, terminateLockHolder } from '../pg/database.js'

const db = pgTestDatabase()

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
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
