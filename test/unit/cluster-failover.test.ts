// Proves takeover and fencing on a real PostgreSQL server. Takeover: the scheduler runs in a child
// process (test/cluster/member.ts) and is SIGKILLed with jobs running; the follower here takes
// over under a higher term, recovers those jobs as a crashed Wharf's (retry + 1), and finishes
// every job it was acknowledged. Partition: the scheduler's lock session is cut with
// pg_terminate_backend; a follower takes over, and the old scheduler's next append is fenced: it
// stops with SchedulerDeposedError, and the log holds nothing of its term after the new one began.
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { SchedulerDeposedError, Wharf, type JobView } from '../../src/index.js'
import { connect } from '../../src/storage/pg-driver.js'
import { PgLease } from '../../src/storage/pg-lease.js'
import { PgLog } from '../../src/storage/pg-log.js'
import { spawnScript } from '../cluster/spawn.js'
import { clusterMembers, pgTestDatabase, terminateLockHolder } from '../pg/database.js'
import { makeBatch as eventLogBatch } from './event-log-contract.js'
import { failure, gate } from './helpers.js'

const db = pgTestDatabase()

/** A member process; resolves once it printed OPEN, with its STARTED lines as they come. */
async function spawnMember(schema: string, node: string): Promise<{ child: ChildProcess; started: number[]; role: string; onStarted: (n: number) => Promise<void> }> {
  const started: number[] = []
  const waiters: { n: number; resolve: () => void }[] = []
  const { child, opened } = spawnScript('./member.ts', [db.url(), schema, node], ([word, value]) => {
    if (word !== 'STARTED') return
    started.push(Number(value))
    for (const w of waiters.filter((w) => started.length >= w.n)) w.resolve()
  })
  children.push(child)
  const [, role] = await opened
  const onStarted = (n: number): Promise<void> => (started.length >= n ? Promise.resolve() : new Promise((r) => waiters.push({ n, resolve: r })))
  return { child, started, role: role!, onStarted }
}

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

/** Terms of the log's rows in seq order. */
async function logTerms(schema: string): Promise<number[]> {
  const pool = await connect(db.url())
  try {
    return (await pool.query(`SELECT term FROM ${schema}.log ORDER BY first_seq`)).rows.map((r) => Number(r.term))
  } finally {
    await pool.end()
  }
}

describe('cluster failover', () => {
  const openFollower = clusterMembers(db)

  it('takes over when the scheduler process is SIGKILLed: higher term, running jobs recovered, nothing acknowledged lost', async () => {
    const schema = db.schema()
    const member = await spawnMember(schema, 'node-a')
    expect(member.role).toBe('scheduler')
    const follower = await openFollower(schema, 'node-b')
    const partner = follower.model('res.partner', {
      work(n: number) {
        return n * 10
      },
    })
    // Not started yet: it takes no work, so every job waits for the scheduler's two slots.
    const acked: JobView[] = []
    for (let n = 0; n < 6; n++) acked.push(await partner.browse([n]).withDelay({ identityKey: `job-${n}` }).work(n))
    await member.onStarted(2) // root:2: two run on the scheduler, and never end there
    const before = await follower.cluster()
    expect(before).toMatchObject({ role: 'follower', leader: 'node-a', term: 1 })

    const killedAt = performance.now()
    member.child.kill('SIGKILL')
    await follower.start()
    await expect.poll(async () => (await follower.cluster()).role, { timeout: 20_000, interval: 10 }).toBe('scheduler')
    console.log(`takeover: ${Math.round(performance.now() - killedAt)} ms from SIGKILL to the follower scheduling`)
    await follower.drain()

    const after = await follower.cluster()
    expect(after.term).toBeGreaterThan(before.term)
    expect(after.leader).toBe('node-b')
    for (const job of acked) {
      const view = await follower.job(job.uuid)
      expect(view).toMatchObject({ state: 'done', result: job.args[0] as number * 10 })
      // retry counts tries: one here, and one more for a try the dead scheduler had started.
      expect(view!.retry).toBe(member.started.includes(job.args[0] as number) ? 2 : 1)
    }
    expect(follower.openReport.requeued).toBe(2)
    const terms = await logTerms(schema)
    expect(terms).toEqual([...terms].sort((a, b) => a - b))
    expect(terms.at(-1)).toBe(after.term)
  })

  it("fences the old scheduler once its lock session is terminated and a follower took over", async () => {
    const schema = db.schema()
    const old = await openFollower(schema, 'node-a')
    const running = gate()
    const release = gate()
    const onOld = old.model('res.partner', {
      async work(n: number) {
        running.open()
        await release.wait
        return n
      },
    })
    const follower = await openFollower(schema, 'node-b')
    const job = await onOld.browse([1]).withDelay().work(7)
    await old.start()
    await running.wait
    // The follower takes work only now: a worker with free slots when the job was stored could
    // have been handed it, and then the old scheduler would run nothing.
    follower.model('res.partner', {
      work(n: number) {
        return n * 10
      },
    })
    await follower.start()
    const oldTerm = (await old.cluster()).term

    await terminateLockHolder(db.url(), schema)
    await expect.poll(async () => (await follower.cluster()).role, { timeout: 20_000, interval: 10 }).toBe('scheduler')
    // The old scheduler's handler ends now; its outcome, and any call on it, cannot be written.
    release.open()
    const refused = await failure(() => onOld.browse([2]).withDelay().work(8))
    expect(refused).toBeInstanceOf(SchedulerDeposedError)
    expect(refused).toMatchObject({ code: 'SCHEDULER_DEPOSED', schema })
    expect(await old.cluster()).toMatchObject({ node: 'node-a', role: 'closed' })
    // Reads and start() too, as the README says of every call on jobs: they said only "this
    // Wharf is closed", to an app that never closed it.
    expect(() => old.stats()).toThrow(SchedulerDeposedError)
    await expect(old.job(job.uuid)).rejects.toThrow(SchedulerDeposedError)
    await expect(old.start()).rejects.toThrow(SchedulerDeposedError)

    await follower.drain()
    expect(await follower.job(job.uuid)).toMatchObject({ state: 'done', result: 70, retry: 2 })
    const newTerm = (await follower.cluster()).term
    expect(newTerm).toBeGreaterThan(oldTerm)
    const terms = await logTerms(schema)
    expect(terms).toEqual([...terms].sort((a, b) => a - b))
    expect(terms.filter((t) => t === newTerm).length).toBeGreaterThan(0)
  })

  it('fences a PgLog whose lock session was cut once another took the lease (append and lease check)', async () => {
    const schema = db.schema()
    const first = new PgLog(db.url(), { schema, cluster: true })
    const second = new PgLog(db.url(), { schema, cluster: true })
    try {
      await first.open()
      await second.open()
      expect([first.role, second.role]).toEqual(['scheduler', 'follower'])
      await first.append(eventLogBatch(1, 2))
      expect(await second.tryLead()).toBe(false)
      await terminateLockHolder(db.url(), schema)
      expect(await second.tryLead()).toBe(true)
      expect(second.term).toBe(first.term + 1)
      const error = await failure(() => first.append(eventLogBatch(3, 1)))
      expect(error).toBeInstanceOf(SchedulerDeposedError)
      expect(await first.checkLease()).toBe(false)
      await second.append(eventLogBatch(3, 1))
      expect(await logTerms(schema)).toEqual([first.term, second.term])
    } finally {
      await first.close()
      await second.close()
    }
  })
})

describe('the lease session', () => {
  it('after its session was cut, answers the next queries on a new one (the driver can leave them waiting for ever)', async () => {
    const schema = db.schema()
    const lease = new PgLease(db.url(), schema, schema)
    await lease.open()
    // Settles or fails within 20 s: without a new client, the query after the failed one never settles.
    const settled = <T>(work: Promise<T>): Promise<T> =>
      Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the lease query never settled')), 20_000))])
    try {
      expect(await settled(lease.tryTake())).toBe(true)
      await terminateLockHolder(db.url(), schema)
      expect(await settled(lease.check())).toBe(false)
      expect(await settled(lease.tryTake())).toBe(true) // on a new session: the lock was free
      expect(await settled(lease.check())).toBe(true)
    } finally {
      await lease.end()
    }
  })
})
