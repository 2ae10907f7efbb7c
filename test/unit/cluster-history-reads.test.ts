// Proves a follower's read over memory and history (real PostgreSQL server) finds a job that the
// scheduler moved from history back to memory while the follower's replica trailed the log: the
// replica did not hold the requeue yet, and history no longer held the job, so job() answered
// undefined for a job that exists. A follower's read now catches its replica up with the log
// its history read saw, and reads again.
import { describe, expect, it } from 'vitest'
import { freezeReplica } from '../cluster/replica-gate.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'

const db = pgTestDatabase()

describe("a follower's read while its replica trails the log", () => {
  const open = clusterMembers(db)

  it('finds a finished job the scheduler requeued meanwhile, as it is after the requeue', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const jobs = scheduler.model('res.back', { run: (n: number) => n })
    await scheduler.start()
    const follower = await open(schema, 'node-b') // never started: it only reads
    follower.model('res.back', { run: (n: number) => n })
    const job = await jobs.withDelay().run(1)
    await expect.poll(async () => (await follower.job(job.uuid))?.state).toBe('done')
    await scheduler.stop() // the requeued job stays pending
    const frozen = await freezeReplica(follower)
    await scheduler.requeue(job.uuid)
    expect((await scheduler.job(job.uuid))?.state).toBe('pending')
    let answered = false
    const read = follower.job(job.uuid).finally(() => (answered = true))
    const page = follower.jobs({ state: 'done' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    // It waits for the replica rather than answer from a replica behind the history it read.
    expect(answered).toBe(false)
    await frozen.release()
    expect(await read).toMatchObject({ uuid: job.uuid, state: 'pending' })
    expect(await page).toEqual([])
    expect(await follower.jobs()).toEqual([expect.objectContaining({ uuid: job.uuid, state: 'pending' })])
  })
})
