// Proves that a PostgreSQL server restarting just as the driver opens a new connection does not
// take the app's process down. The driver (postgres@3.4.9) sent, as the first statement of each new
// connection, a catalog query for array types, and dropped its promise: a connection lost under
// that query was an unhandled rejection, which ends a Node process (porsager/postgres #1192, #1205,
// #1223). The proxy stands for the restart: it drops every connection at the moment a new one sends
// its first statement.
import { afterEach, describe, expect, it } from 'vitest'
import { Wharf } from '../../src/index.js'
import { cutProxy, type CutProxy } from '../pg/cut-proxy.js'
import { pgTestDatabase } from '../pg/database.js'
import { closedAfterEach } from './helpers.js'

const db = pgTestDatabase()
const proxies: CutProxy[] = []
const unhandled: unknown[] = []
const note = (reason: unknown): void => void unhandled.push(reason)
afterEach(async () => {
  process.off('unhandledRejection', note)
  await Promise.all(proxies.splice(0).map((p) => p.close()))
})

describe('a Wharf whose PostgreSQL server restarts as a connection opens', () => {
  const opened = closedAfterEach()

  it('leaves no rejection unhandled, and takes calls again once the server is back', async () => {
    process.on('unhandledRejection', note)
    const proxy = await cutProxy(db.url())
    proxies.push(proxy)
    const wharf = await Wharf.open({ postgres: `${proxy.url}?connect_timeout=2`, schema: db.schema(), node: 'only', channels: 'root:1' })
    opened.push(wharf)
    const partner = wharf.model('res.partner', { sync: (id: number) => id * 10 })
    await wharf.start()
    await partner.browse([1]).withDelay().sync(1)
    await wharf.drain()
    // A connection of the pool, not the listener's (the driver never fetched types on that one).
    const cutOnce = proxy.cutAtFirstStatement((statement) => !statement.includes('listen "'))
    proxy.cut()
    proxy.restore()
    // The next connection's first statement meets the restart; the calls after it go through.
    const back = await (async () => {
      for (;;) {
        const job = await partner.browse([2]).withDelay().sync(2).catch(() => null)
        if (job !== null) return job
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()
    await cutOnce
    await wharf.drain()
    expect(await wharf.job(back.uuid)).toMatchObject({ state: 'done', result: 20 })
    // A rejection left unhandled surfaces on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(unhandled).toEqual([])
  })
})
