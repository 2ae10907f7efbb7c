// A takeover that fails half way (the server away for a moment, after the follower took the lease
// and bumped the term) is resumed by the next election round, on a real PostgreSQL server: the
// follower ends up the scheduler, and applies each follower's call once. Before, the resumed round
// made a second inbox applier beside the first: both took each call, and a delay() made two jobs.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { StorageError, type OpenOptions } from '../../src/index.js'
import { NEVER_SCHEDULER } from '../../src/engine/api/open-options.js'
import { PgClusterTables } from '../../src/storage/pg-cluster.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'

const db = pgTestDatabase()

afterEach(() => {
  vi.restoreAllMocks()
})

describe('a takeover that fails half way', () => {
  const open = clusterMembers(db)

  it('is resumed by the next election round, and the new scheduler applies each call once', async () => {
    const schema = db.schema()
    const old = await open(schema, 'node-a')
    const next = await open(schema, 'node-b')
    // (Takes no lease: node-b is the one that takes over.)
    const caller = await open(schema, 'node-c', { [NEVER_SCHEDULER]: true } as OpenOptions)
    const members = PgClusterTables.prototype.members
    let failed = 0
    // The takeover's read of the members (after the lease, the term and the inbox applier) fails
    // once, as a query does while the server is away; every other read goes through.
    vi.spyOn(PgClusterTables.prototype, 'members').mockImplementation(function (this: PgClusterTables, ...args: Parameters<typeof members>) {
      if (failed === 0 && /Cluster\.elect/.test(new Error().stack ?? '')) {
        failed++
        return Promise.reject(new StorageError('the server is away (test)'))
      }
      return members.apply(this, args)
    })
    await old.close()
    await expect.poll(() => next.cluster().role, { timeout: 20_000, interval: 20 }).toBe('scheduler')
    expect(failed).toBe(1)
    const partner = caller.model('res.partner', { work: (n: number) => n })
    const jobs = await Promise.all([1, 2, 3].map((n) => partner.browse([n]).withDelay().work(n)))
    // The calls are answered once committed; a duplicate is decided with them (both appliers take
    // each call from its post's notification), and committed by the time the scheduler settles.
    await next.settled()
    expect((await next.jobs({})).map((j) => j.uuid).sort()).toEqual(jobs.map((j) => j.uuid).sort())
    expect(next.stats().states.pending).toBe(3)
  })
})
