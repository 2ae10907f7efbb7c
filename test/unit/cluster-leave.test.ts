// Proves a cluster member's clean leave (close() after a stop() that ran to its end) is judged as
// a leave, not a death, by the scheduler (real PostgreSQL server): the start it gave the member,
// which the member never saw, is refused for it (no try counts) even when the scheduler's read of
// the member table straddled the leave — its row read from before the leave, its lock from after
// the close (PostgreSQL reads pg_locks outside the statement's snapshot) — and when the leave's
// first write failed; a leave that cannot be written at all is warned, and its start recovered
// as a dead worker's.
import { describe, expect, it } from 'vitest'
import { StorageError, type Wharf } from '../../src/index.js'
import type { PgClusterTables } from '../../src/storage/pg-cluster.js'
import { freezeReplica, nextEventOf, startOf } from '../cluster/replica-gate.js'
import { straddleLeave } from '../cluster/member-gate.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { warningsOf } from './helpers.js'

const db = pgTestDatabase()

/** `member`'s next `failures` writes of its leave fail with `error` (as a connection lost would,
 * by default); counts the writes tried. */
function failLeaves(member: Wharf, failures: number, error: () => Error = () => new Error('connection lost (test)')): { tried: number } {
  const tables = (member as unknown as { clusterMember: { tables: PgClusterTables } }).clusterMember.tables
  const leave = tables.leave.bind(tables)
  let left = failures
  const count = { tried: 0 }
  tables.leave = async (...args) => {
    count.tried++
    if (left-- > 0) throw error()
    return leave(...args)
  }
  return count
}

describe("a cluster member's clean leave", () => {
  const open = clusterMembers(db)

  /** A scheduler, and a follower `node-b` that was given a start it never saw (its replica
   * frozen), with the event the scheduler commits next for that job. */
  async function startGivenToLeaver(options: { logger?: ReturnType<typeof warningsOf>['logger'] } = {}) {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a', options)
    const started = startOf(scheduler)
    const leaver = await open(schema, 'node-b', options)
    const ran: string[] = []
    const work = (member: Wharf, node: string) =>
      member.model('res.partner', {
        work(n: number) {
          ran.push(node)
          return n * 2
        },
      })
    work(leaver, 'node-b')
    await leaver.start()
    await freezeReplica(leaver)
    const job = await work(scheduler, 'node-a').withDelay().work(21)
    expect(await started(job.uuid)).toMatch(/^node-b#/)
    return { schema, scheduler, leaver, job, ran, work, next: nextEventOf(scheduler, job.uuid) }
  }

  it('refuses the start for it when a read of the members straddled the leave (row from before, lock from after): no try counts', async () => {
    const { schema, scheduler, leaver, job, ran, work, next } = await startGivenToLeaver()
    const straddled = await straddleLeave(scheduler, 'node-b')
    await leaver.close()
    straddled.left()
    // Refused, its try taken back: not recovered as a dead worker's (retry + 1).
    expect(await next).toMatchObject({ type: 'job.postponed' })
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'pending', retry: 0 })
    const other = await open(schema, 'node-c')
    work(other, 'node-c')
    await other.start()
    expect(await scheduler.result(job.uuid)).toBe(42)
    expect(ran).toEqual(['node-c'])
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', retry: 1 })
  })

  it('is written again when its first write fails: the start is still refused, not counted', async () => {
    const { scheduler, leaver, job, next } = await startGivenToLeaver()
    failLeaves(leaver, 1)
    await leaver.close()
    expect(await next).toMatchObject({ type: 'job.postponed' })
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'pending', retry: 0 })
  })

  it('that cannot be written is warned, with why; the start is then recovered as a dead worker\'s', async () => {
    const warnings = warningsOf('WHARF_CLUSTER')
    const { scheduler, leaver, job, next } = await startGivenToLeaver({ logger: warnings.logger })
    failLeaves(leaver, 2)
    await leaver.close()
    expect(warnings.messages.filter((m) => m.includes('could not leave'))).toEqual([
      'wharf: cluster member node-b: could not leave the member table (connection lost (test)); the scheduler finds it dead once it has closed, and counts a try of any job it had given it',
    ])
    expect(await next).toMatchObject({ type: 'job.recovered', dead: false })
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'pending', retry: 1 })
  })

  it('is not tried again after its write waited the whole connect_timeout for a connection: close() does not wait twice for a server away', async () => {
    const warnings = warningsOf('WHARF_CLUSTER')
    const { leaver } = await startGivenToLeaver({ logger: warnings.logger })
    const timedOut = () => new StorageError('PostgreSQL failed: connect timeout (test)', { cause: Object.assign(new Error('write CONNECT_TIMEOUT'), { code: 'CONNECT_TIMEOUT' }) })
    const leaves = failLeaves(leaver, 1, timedOut)
    await leaver.close()
    expect(leaves.tried).toBe(1)
    expect(warnings.messages.filter((m) => m.includes('could not leave'))).toHaveLength(1)
  })
})
