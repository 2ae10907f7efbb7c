// Proves a worker whose replica fell behind a compaction (real PostgreSQL server) still runs what
// the batches it skipped assigned to it: its log reads are held at a gate while the scheduler
// starts a job on it and compacts past that start; released, the worker replays the snapshot and
// launches the job there (once) — also when it took the lease meanwhile —, or ends the run it
// never launched when that run was cancelled meanwhile, so that the slot it held is released.
// Without the reconciliation the job stays started (the slot held) until the worker leaves.
import { describe, expect, it } from 'vitest'
import type { Wharf } from '../../src/index.js'
import { NEVER_SCHEDULER } from '../../src/engine/api/open-options.js'
import { freezeReplica, startOf, type Insides } from '../cluster/replica-gate.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'

const db = pgTestDatabase()

describe('a worker whose replica fell behind a compaction', () => {
  const open = clusterMembers(db)

  /** A scheduler that runs nothing of res.lag, a worker that does, and a member that only stores
   * (and, with `neverScheduler`, never takes the lease either). */
  async function cluster(workerOptions = {}, neverScheduler = false): Promise<{ scheduler: Wharf; worker: Wharf; ran: number[]; lag: ReturnType<typeof lagModel>; started: (uuid: string) => Promise<string> }> {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const started = startOf(scheduler)
    await scheduler.start()
    const worker = await open(schema, 'node-b', workerOptions)
    const ran: number[] = []
    worker.model('res.lag', {
      run(n: number) {
        ran.push(n)
        return n * 2
      },
    })
    await worker.start()
    const client = await open(schema, 'node-c', neverScheduler ? { [NEVER_SCHEDULER]: true } : {}) // never started: it takes no work
    return { scheduler, worker, ran, lag: lagModel(client), started }
  }

  function lagModel(client: Wharf) {
    return client.model('res.lag', { run: (n: number) => -n })
  }

  it('launches the start assigned to it in the batches it skipped, once, and the job ends done', async () => {
    const { scheduler, worker, ran, lag, started } = await cluster()
    const frozen = await freezeReplica(worker)
    const job = await lag.withDelay().run(7)
    expect(await started(job.uuid)).toMatch(/^node-b#/)
    await scheduler.snapshot()
    expect(await frozen.readTail(frozen.seq)).toBeNull() // compacted past what the worker read
    expect(ran).toEqual([])
    await frozen.release()
    // Launched as the snapshot was replayed, under the run the scheduler started.
    expect(ran).toEqual([7])
    expect(await scheduler.result(job.uuid)).toBe(14)
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', retry: 1 })
    await worker.settled()
    expect(ran).toEqual([7])
  })

  it('takes over while behind: it catches up from the snapshot under its new term, launches the skipped start and runs it to done', async () => {
    // The client never takes the lease: the worker is the only one that can take over.
    const { scheduler, worker, ran, lag, started } = await cluster({}, true)
    const frozen = await freezeReplica(worker)
    const job = await lag.withDelay().run(5)
    expect(await started(job.uuid)).toMatch(/^node-b#/)
    await scheduler.snapshot()
    expect(await frozen.readTail(frozen.seq)).toBeNull()
    await scheduler.close()
    // The worker took the lease; its catching up before it decides waits at the gate.
    const workerLog = (worker as unknown as Insides).engine.log
    await expect.poll(() => workerLog.role).toBe('scheduler')
    expect(ran).toEqual([])
    await frozen.release()
    expect(await worker.result(job.uuid)).toBe(10)
    expect(worker.cluster()).toMatchObject({ role: 'scheduler', term: 2 })
    expect(await worker.job(job.uuid)).toMatchObject({ state: 'done', retry: 1 })
    expect(ran).toEqual([5])
  })

  it('ends a run it never launched that was cancelled meanwhile: its slot is released, and the next job runs there', async () => {
    const { scheduler, worker, ran, lag, started } = await cluster({ workers: 1 })
    const frozen = await freezeReplica(worker)
    const cancelled = await lag.withDelay().run(1)
    expect(await started(cancelled.uuid)).toMatch(/^node-b#/)
    await scheduler.cancel(cancelled.uuid)
    const next = await lag.withDelay().run(2)
    await scheduler.snapshot()
    expect(await frozen.readTail(frozen.seq)).toBeNull()
    // The worker's one slot is held by the cancelled job's run, which the scheduler awaits the end of.
    expect(await scheduler.job(next.uuid)).toMatchObject({ state: 'pending' })
    await frozen.release()
    await worker.settled() // its end of the cancelled run, answered
    const schedulerState = (scheduler as unknown as Insides).engine.state
    expect(schedulerState.superseded.has(cancelled.uuid)).toBe(false)
    expect(await scheduler.result(next.uuid)).toBe(4)
    expect(ran).toEqual([2]) // the cancelled job never ran
    expect(await scheduler.job(cancelled.uuid)).toMatchObject({ state: 'cancelled' })
  })
})
