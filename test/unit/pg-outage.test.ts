// Proves what a Wharf on PostgreSQL says once its server went away under it (a proxy, cut, stands
// for the server): the call in flight fails with a StorageError naming the server, and once the
// engine stopped for that, every later call — reads, enqueues, start() — is refused with that same
// error, not a bare WharfClosedError "this Wharf is closed" that the app, which never called
// close(), cannot act on. After the app's own close() the refusal is WharfClosedError again.
import { afterEach, describe, expect, it } from 'vitest'
import { StorageError, Wharf, WharfClosedError } from '../../src/index.js'
import { cutProxy, type CutProxy } from '../pg/cut-proxy.js'
import { pgTestDatabase } from '../pg/database.js'
import { failure } from './helpers.js'

const db = pgTestDatabase()
const proxies: CutProxy[] = []
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
})

describe('a Wharf whose PostgreSQL server went away', () => {
  it('refuses every call after the failure with the StorageError that stopped it, naming the server', async () => {
    const proxy = await cutProxy(db.url())
    proxies.push(proxy)
    const schema = db.schema()
    const wharf = await Wharf.open({ postgres: proxy.url, schema, node: 'only', channels: 'root:1' })
    const partner = wharf.model('res.partner', { sync: (id: number) => id })
    const job = await partner.browse([1]).withDelay().sync(1)
    await proxy.cut()
    const lost = await failure(() => partner.browse([2]).withDelay().sync(2))
    expect(lost).toBeInstanceOf(StorageError)
    expect((lost as Error).message).toContain(`schema "${schema}" of ${proxy.url}`)
    // The engine could not rebuild its state from the log either: it stopped, for that reason.
    await expect.poll(() => failure(async () => wharf.stats()), { timeout: 10_000 }).toBeInstanceOf(StorageError)
    for (const call of [() => wharf.stats(), () => wharf.job(job.uuid), () => wharf.jobs(), () => partner.browse([3]).withDelay().sync(3), () => wharf.start()]) {
      const refused = await failure(async () => call())
      expect(refused).toBeInstanceOf(StorageError)
      expect((refused as Error).message).toContain(`schema "${schema}" of ${proxy.url}`)
    }
    await wharf.close()
    expect(await failure(async () => wharf.stats())).toBeInstanceOf(WharfClosedError)
  })
})
