// Proves a cluster has one channel configuration, its scheduler's (real PostgreSQL server): the
// scheduler publishes its `channels` option in `meta` with its term; members opened with another
// one answer stats(), explain() and the dashboard by the scheduler's, and warn naming each channel
// that differs and both values (a member that never schedules does not: its option never applies).
// When a member takes over, its own option applies — capacities the new scheduler dispatches by,
// and what every follower reads — and it warns what it replaced; a takeover under capacities
// lower than what the live workers run goes on (they drain), starting nothing over them.
import { describe, expect, it } from 'vitest'
import { Wharf, type Stats } from '../../src/index.js'
import { NEVER_SCHEDULER } from '../../src/engine/api/open-options.js'
import { warningsOf } from './helpers.js'
import { connect } from '../../src/storage/pg-driver.js'
import { PgLog } from '../../src/storage/pg-log.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { gate } from './helpers.js'

const db = pgTestDatabase()

/** What a configuration decides of each channel, by name (stats' order follows how each member's tree grew). */
function configured(stats: Stats): unknown[] {
  return stats.channels
    .map(({ name, capacity, sequential, throttleSeconds, paused }) => ({ name, capacity, sequential, throttleSeconds, paused }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
}

async function query(schema: string, sql: string): Promise<Record<string, unknown>[]> {
  const pool = await connect(db.url())
  try {
    return (await pool.query(sql.replace(/\b(meta)\b/, `${schema}.$1`))).rows
  } finally {
    await pool.end()
  }
}

const published = async (schema: string): Promise<unknown> => (await query(schema, 'SELECT channels, channels_node AS node FROM meta'))[0]

describe('the channel configuration of a cluster', () => {
  const open = clusterMembers(db)

  it("is the scheduler's: a follower with another one answers stats(), explain() and the dashboard by it, and warns what differs", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a', { channels: 'root:3,root.mail:1:throttle=10' })
    const follower = warningsOf('WHARF_CLUSTER_CHANNELS')
    const b = await open(schema, 'node-b', { channels: 'root:1,root.export:2', logger: follower.logger })

    const release = gate()
    const methods = { send: async () => void (await release.wait) }
    scheduler.model('mail.mail', methods)
    const mail = b.model('mail.mail', methods)
    b.configure('mail.mail.send', { channel: 'root.mail' })
    scheduler.configure('mail.mail.send', { channel: 'root.mail' })
    const first = await mail.withDelay().send()
    const second = await mail.withDelay().send()
    await scheduler.start() // root.mail:1: the first runs, the second waits for its slot
    await expect.poll(async () => (await b.job(first.uuid))?.state).toBe('started')

    expect(configured(b.stats())).toEqual(configured(scheduler.stats()))
    expect(configured(b.stats())).toEqual([
      { name: 'root', capacity: 3, sequential: false, throttleSeconds: 0, paused: false },
      { name: 'root.mail', capacity: 1, sequential: false, throttleSeconds: 10, paused: false },
    ])
    const explained = await scheduler.explain(second.uuid)
    expect(explained.reasons).toContainEqual({ kind: 'channel-full', channel: 'root.mail', running: 1, capacity: 1 })
    // (A member not started explains 'stopped' too: it judges by its own start(), README.)
    expect((await b.explain(second.uuid)).reasons.filter((r) => r.kind !== 'stopped')).toEqual(explained.reasons)
    const server = await b.serveDashboard({ port: 0 })
    try {
      const channels = (await (await fetch(new URL('api/channels', server.url))).json()) as { channels: { name: string; capacity: number | null }[] }
      expect(channels.channels.map((c) => [c.name, c.capacity])).toEqual([['root', 3], ['root.mail', 1]])
    } finally {
      await server.close()
    }

    expect(await published(schema)).toEqual({ channels: 'root:3,root.mail:1:throttle=10', node: 'node-a' })
    expect(follower.messages).toHaveLength(1)
    expect(follower.messages[0]).toContain("cluster member node-b: its channels option differs from that of the cluster's scheduler (node-a)")
    expect(follower.messages[0]).toContain('root is root:1 here, root:3 on the scheduler')
    expect(follower.messages[0]).toContain('root.export is root.export:2 here, not configured on the scheduler')
    expect(follower.messages[0]).toContain('root.mail is not configured here, root.mail:1:throttle=10 on the scheduler')
    release.open()
    await scheduler.idle()
  })

  it("becomes the next scheduler's at a takeover: it dispatches by its own, every follower reads it, and it warns what it replaced", async () => {
    const schema = db.schema()
    const a = await open(schema, 'node-a', { channels: 'root:4,root.mail:2' })
    const next = warningsOf('WHARF_CLUSTER_CHANNELS')
    const b = await open(schema, 'node-b', { channels: 'root:1,root.mail:1', logger: next.logger })
    // Never the scheduler (as the CLI's member): its option never applies, so nothing to warn of.
    const reader = warningsOf('WHARF_CLUSTER_CHANNELS')
    const c = await open(schema, 'node-c', { channels: 'root:7', logger: reader.logger, [NEVER_SCHEDULER]: true })
    expect(configured(c.stats())).toEqual(configured(a.stats()))
    expect(next.messages).toHaveLength(1)

    await a.close()
    await expect.poll(() => b.cluster().role, { timeout: 20_000, interval: 10 }).toBe('scheduler')
    expect(await published(schema)).toEqual({ channels: 'root:1,root.mail:1', node: 'node-b' })
    const expected = [
      { name: 'root', capacity: 1, sequential: false, throttleSeconds: 0, paused: false },
      { name: 'root.mail', capacity: 1, sequential: false, throttleSeconds: 0, paused: false },
    ]
    expect(configured(b.stats())).toEqual(expected)
    await expect.poll(() => configured(c.stats())).toEqual(expected)
    expect(reader.messages).toEqual([])
    expect(next.messages).toHaveLength(2)
    expect(next.messages[1]).toContain("cluster member node-b is the scheduler now: its channels option applies to the cluster, in place of that of node-a: root is root:1 now, was root:4; root.mail is root.mail:1 now, was root.mail:2")

    // It dispatches by root:1: one job at a time, and every member explains the other so.
    const release = gate()
    const partner = b.model('res.partner', { work: async () => void (await release.wait) })
    const jobs = [await partner.withDelay().work(), await partner.withDelay().work()]
    await b.start()
    await expect.poll(async () => (await b.job(jobs[0]!.uuid))?.state).toBe('started')
    const full = { kind: 'channel-full', channel: 'root', running: 1, capacity: 1 }
    expect((await b.explain(jobs[1]!.uuid)).reasons).toContainEqual(full)
    await expect.poll(async () => (await c.explain(jobs[1]!.uuid)).reasons).toContainEqual(full)
    release.open()
    await b.idle()
  })

  it('goes on at a takeover under lower capacities than the live workers run: they drain, and nothing starts over the new ones', async () => {
    const schema = db.schema()
    const a = await open(schema, 'node-a', { channels: 'root:4' })
    const cluster = warningsOf('WHARF_CLUSTER')
    const b = await open(schema, 'node-b', { channels: 'root:1', logger: cluster.logger })
    const release = gate()
    const ran: number[] = []
    // Only the follower runs the function: the scheduler gives it three starts under root:4.
    const partner = b.model('res.partner', {
      async work(n: number) {
        ran.push(n)
        await release.wait
      },
    })
    await b.start()
    const jobs = []
    for (let n = 0; n < 3; n++) jobs.push(await partner.withDelay().work(n))
    await expect.poll(() => ran.length).toBe(3)

    await a.close() // b takes over under root:1, its three handlers still running
    await expect.poll(() => b.cluster().role, { timeout: 20_000, interval: 10 }).toBe('scheduler')
    const root = (): unknown => b.stats().channels.find((c) => c.name === 'root')
    expect(root()).toMatchObject({ capacity: 1, running: 3 })
    const fourth = await partner.withDelay().work(3)
    expect((await b.explain(fourth.uuid)).reasons).toContainEqual({ kind: 'channel-full', channel: 'root', running: 3, capacity: 1 })
    release.open()
    await b.idle()
    for (const job of [...jobs, fourth]) expect(await b.job(job.uuid)).toMatchObject({ state: 'done' })
    expect(ran).toEqual([0, 1, 2, 3])
    // Its promotion audited the state as a fresh open does, and found nothing wrong.
    expect(cluster.messages).toEqual([])
  })

  it('is published once a schema of version 6 migrated and a scheduler of this version took a term; until then each member reads by its own', async () => {
    const schema = db.schema()
    const old = new PgLog(db.url(), { schema, schemaVersion: 6 })
    await old.open()
    await old.close()
    // A scheduler that publishes nothing, as one of an older Wharf: it holds the lease.
    const previous = new PgLog(db.url(), { schema, cluster: true, node: 'old' })
    await previous.open()
    expect(await published(schema)).toEqual({ channels: null, node: null })
    const warned = warningsOf('WHARF_CLUSTER_CHANNELS')
    const member = await open(schema, 'node-a', { channels: 'root:5', logger: warned.logger })
    expect(member.cluster().role).toBe('follower')
    expect(configured(member.stats())).toEqual([{ name: 'root', capacity: 5, sequential: false, throttleSeconds: 0, paused: false }])
    await previous.close()
    await expect.poll(() => member.cluster().role, { timeout: 20_000, interval: 10 }).toBe('scheduler')
    expect(await published(schema)).toEqual({ channels: 'root:5', node: 'node-a' })
    expect(warned.messages).toEqual([])
  })

  it('holds the same pauses on every member across a change: a channel keeps its own, one the new option creates takes its paused, and a member opening later rebuilds them so', async () => {
    const schema = db.schema()
    const a = await open(schema, 'node-a', { channels: 'root:2,root.x:1' })
    const reader = await open(schema, 'reader', { channels: 'root:2', [NEVER_SCHEDULER]: true })
    await a.model('res.partner', { work: () => 1 }).withDelay().work() // a state that is not empty
    await a.close()
    // Opens as the scheduler (the lease is free): it rebuilds the state under node-a's, then puts its own in place.
    const b = await open(schema, 'node-b', { channels: 'root:2,root.x:1:paused,root.y:1:paused' })
    expect(b.cluster().role).toBe('scheduler')
    const expected = [
      { name: 'root', capacity: 2, sequential: false, throttleSeconds: 0, paused: false },
      { name: 'root.x', capacity: 1, sequential: false, throttleSeconds: 0, paused: false },
      { name: 'root.y', capacity: 1, sequential: false, throttleSeconds: 0, paused: true },
    ]
    expect(configured(b.stats())).toEqual(expected)
    await expect.poll(() => configured(reader.stats())).toEqual(expected)
    // Written with the change: a member opening now rebuilds from it, not from a fresh state under node-b's option.
    await expect.poll(async () => (await query(schema, 'SELECT snapshot_seq FROM meta'))[0]!.snapshot_seq).not.toBeNull()
    const c = await open(schema, 'node-c', { channels: 'root:9' })
    expect(configured(c.stats())).toEqual(expected)
    await b.pauseChannel('root.x')
    expected[1]!.paused = true
    for (const member of [b, reader, c]) await expect.poll(() => configured(member.stats())).toEqual(expected)
  })

  it('reads by its own when the published configuration cannot be parsed (a newer Wharf wrote it), and says so', async () => {
    const schema = db.schema()
    await open(schema, 'node-a', { channels: 'root:2' })
    await query(schema, "UPDATE meta SET channels = 'root:2:newer_option'")
    const warned = warningsOf('WHARF_CLUSTER_CHANNELS')
    const b = await open(schema, 'node-b', { channels: 'root:3', logger: warned.logger })
    expect(configured(b.stats())).toEqual([{ name: 'root', capacity: 3, sequential: false, throttleSeconds: 0, paused: false }])
    expect(warned.messages).toHaveLength(1)
    expect(warned.messages[0]).toContain(`cluster member node-b: the scheduler's channel configuration "root:2:newer_option" could not be read`)
    expect(warned.messages[0]).toContain("unknown option \"newer_option\"")
  })
})
