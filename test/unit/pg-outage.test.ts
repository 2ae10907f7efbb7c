// Proves that a Wharf on PostgreSQL lives through its server going away and coming back (a
// restart, a failover; a proxy that is cut, then restored, stands for it): while the server is
// away each call is refused with a StorageError naming the server and schema, and once it is
// back the same Wharf takes calls and runs jobs again, its state rebuilt from the log. Before, the
// scheduler whose state could not be rebuilt at once (the server still away) stopped for good:
// every later call said "this Wharf is closed", though the app never closed it.
import { afterEach, describe, expect, it } from 'vitest'
import { StorageError, Wharf } from '../../src/index.js'
import { cutProxy, type CutProxy } from '../pg/cut-proxy.js'
import { pgTestDatabase } from '../pg/database.js'
import { HEARTBEAT_MS } from '../../src/engine/runtime/cluster.js'
import { closedAfterEach, failure, warningsOf } from './helpers.js'

const db = pgTestDatabase()
const proxies: CutProxy[] = []
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
})

describe('a Wharf whose PostgreSQL server goes away', () => {
  const opened = closedAfterEach()

  it('refuses calls with a StorageError naming the server while it is away, and goes on once it is back', async () => {
    const proxy = await cutProxy(db.url())
    proxies.push(proxy)
    const schema = db.schema()
    // A connection the cut left stalled gives up after connect_timeout (30 s by default).
    const url = `${proxy.url}?connect_timeout=2`
    const wharf = await Wharf.open({ postgres: url, schema, node: 'only', channels: 'root:1' })
    opened.push(wharf)
    const partner = wharf.model('res.partner', { sync: (id: number) => id * 10 })
    await wharf.start()
    const before = await partner.browse([1]).withDelay().sync(1)
    await wharf.drain()
    proxy.cut()
    const lost = await failure(() => partner.browse([2]).withDelay().sync(2))
    expect(lost).toBeInstanceOf(StorageError)
    expect((lost as Error).message).toContain(`schema "${schema}" of ${url}`)
    proxy.restore()
    // Back: the same Wharf stores and runs jobs again (a call may still meet the last of the outage).
    await expect.poll(() => partner.browse([3]).withDelay().sync(3).catch(() => null), { timeout: 30_000, interval: 50 }).not.toBeNull()
    await wharf.drain()
    expect(await wharf.job(before.uuid)).toMatchObject({ state: 'done', result: 10 })
    expect(wharf.stats().states).toMatchObject({ done: 2, pending: 0, started: 0 })
    expect((await wharf.cluster()).role).toBe('scheduler')
  })

  it('warns once when the outage starts and once when it ends, not for each failed round of its loops', async () => {
    const proxy = await cutProxy(db.url())
    proxies.push(proxy)
    const { logger, messages } = warningsOf('WHARF_CLUSTER')
    const wharf = await Wharf.open({ postgres: `${proxy.url}?connect_timeout=2`, schema: db.schema(), node: 'only', channels: 'root:1', logger })
    opened.push(wharf)
    await wharf.start()
    proxy.cut()
    await expect.poll(() => messages.length, { timeout: 20_000, interval: 50 }).toBeGreaterThan(0)
    // Three heartbeats, each failing (and polls and lease checks): they warned each, before.
    await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS))
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain('cluster member only: the PostgreSQL server is unreachable: PostgreSQL failed on schema')
    proxy.restore()
    await expect.poll(() => messages.length, { timeout: 30_000, interval: 50 }).toBe(2)
    expect(messages[1]).toMatch(/^wharf: cluster member only: the PostgreSQL server is reachable again, after an outage of [\d.]+ s \(\d+ operations failed meanwhile\)$/)
  })
})
