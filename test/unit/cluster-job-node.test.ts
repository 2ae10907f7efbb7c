// Proves JobView.node on a cluster (real PostgreSQL server): a job that a follower runs names that
// follower on every member — while it runs, once it is done (read from history), and while it
// waits for its retry — in job(), jobs() and `wharf show`; and still does after the scheduler
// restarts, replaying the log, then restoring a snapshot.
import { describe, expect, it } from 'vitest'
import { RetryableJobError, type Wharf } from '../../src/index.js'
import { main } from '../../src/cli/main.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { gate } from './helpers.js'

const db = pgTestDatabase()

/** What each member says of the job's state and node. */
async function seen(members: Wharf[], uuid: string): Promise<unknown[]> {
  return Promise.all(members.map(async (m) => {
    const view = await m.job(uuid)
    return view === undefined ? undefined : { state: view.state, node: view.node }
  }))
}

describe('JobView.node on a cluster', () => {
  const open = clusterMembers(db)

  it('names the follower that runs and ran a job, on every member, and after the scheduler restarts (log, then snapshot)', async () => {
    const schema = db.schema()
    // node-a schedules and never starts: every start goes to node-b, the follower.
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    const running = gate()
    const release = gate()
    const partner = follower.model('res.partner', {
      async sync() {
        running.open()
        await release.wait
        return 'synced'
      },
      later() {
        throw new RetryableJobError('not yet', { seconds: 3600 })
      },
    })
    await follower.start()
    const job = await partner.browse([1]).withDelay().sync()
    const waiting = await partner.browse([2]).withDelay().later()
    const members = [scheduler, follower]

    await running.wait
    expect(await seen(members, job.uuid)).toEqual([{ state: 'started', node: 'node-b' }, { state: 'started', node: 'node-b' }])
    expect((await scheduler.jobs({ state: 'started', method: 'sync' })).map((j) => [j.uuid, j.node])).toEqual([[job.uuid, 'node-b']])
    release.open()
    expect(await follower.result(job.uuid)).toBe('synced')
    await expect.poll(async () => (await scheduler.job(waiting.uuid))?.retry).toBe(1)
    // Done: from history. Postponed: pending again, and still says where its try ran.
    await expect.poll(() => seen(members, job.uuid)).toEqual([{ state: 'done', node: 'node-b' }, { state: 'done', node: 'node-b' }])
    await expect.poll(() => seen(members, waiting.uuid)).toEqual([{ state: 'pending', node: 'node-b' }, { state: 'pending', node: 'node-b' }])
    expect((await follower.jobs({ state: 'done' })).map((j) => j.node)).toEqual(['node-b'])
    await follower.close()
    await scheduler.close()

    // A new scheduler replays the log: the pending job's node comes from job.started again.
    const replayed = await open(schema, 'node-c')
    expect(await seen([replayed], job.uuid)).toEqual([{ state: 'done', node: 'node-b' }])
    expect(await seen([replayed], waiting.uuid)).toEqual([{ state: 'pending', node: 'node-b' }])
    const shown = await cli('show', waiting.uuid, '--postgres', db.url(), '--schema', schema)
    expect(shown.code).toBe(0)
    expect(shown.out).toMatch(/^node: +node-b$/m)
    await replayed.snapshot()
    await replayed.close()

    // The next one restores that snapshot: the node is in it.
    const restored = await open(schema, 'node-d')
    expect(restored.openReport.snapshotSeq).toBeGreaterThan(0)
    expect(restored.openReport.replayedEvents).toBe(0)
    expect(await seen([restored], waiting.uuid)).toEqual([{ state: 'pending', node: 'node-b' }])
    expect(await seen([restored], job.uuid)).toEqual([{ state: 'done', node: 'node-b' }])
  })
})

/** `wharf <args>` in this process, its output captured. */
async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  const code = await main(args, { out: { write: (t: string) => (out += t) }, err: { write: () => {} } })
  return { code, out }
}
