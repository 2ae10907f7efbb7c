// Proves handlers run on every member of a cluster (real PostgreSQL server): the scheduler assigns
// each start to a live member that registered the job's function and has a free `workers` slot
// (job.started names it), channel capacities stay cluster-wide, a job nobody can run waits pending
// until someone can (and explain() on any member says so, judging by every worker's functions); a worker's outcome is applied only for the job's current run (a stale one,
// from a run requeued or recovered meanwhile, is dropped) and a requeue aborts the handler where
// it runs; a worker whose session dies is found dead at once, its jobs recovered and run elsewhere
// — and when it comes back, its late outcome is dropped; a SIGKILLed worker's job runs again on
// another (retry + 1), and fails as JobFoundDead past maxRetries. No post to the inbox waits for
// the WAL flush, and a call whose post the server lost is refused instead of waiting forever —
// also when the server gave its inbox id to another call, whose reply it is not answered with.
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageError, Wharf, type JobContext, type WharfEvent } from '../../src/index.js'
import { connect } from '../../src/storage/pg-driver.js'
import { decodeCall, encodeCall, NO_REPLY_NAME, NO_RESULT_NAME, type Call } from '../../src/engine/runtime/cluster-wire.js'
import { inboxChannel } from '../../src/storage/pg-channels.js'
import { spawnScript } from '../cluster/spawn.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { failure, gate } from './helpers.js'

const db = pgTestDatabase()

/** The worker each start named, by job uuid, as the scheduler committed them (last start wins). */
function startsOn(scheduler: Wharf): Map<string, string> {
  const starts = new Map<string, string>()
  scheduler.on('transition', (event: WharfEvent) => {
    if (event.type === 'job.started') starts.set(event.uuid, event.node ?? '(none)')
  })
  return starts
}

/** Handlers running now and at most, per node and in all (a handler takes a few ms). */
function concurrency(together = 1): { run: (node: string) => Promise<void>; max: Map<string, number>; maxTotal: () => number } {
  const now = new Map<string, number>()
  const max = new Map<string, number>()
  let total = 0
  let maxTotal = 0
  // The first handlers wait until `together` of them run at once, so that the overlap the test
  // asserts does not depend on how fast a loaded machine runs them.
  let met: () => void = () => {}
  const overlap = new Promise<void>((resolve) => (met = resolve))
  return {
    max,
    maxTotal: () => maxTotal,
    async run(node) {
      now.set(node, (now.get(node) ?? 0) + 1)
      max.set(node, Math.max(max.get(node) ?? 0, now.get(node)!))
      maxTotal = Math.max(maxTotal, ++total)
      if (maxTotal >= together) met()
      await overlap
      await new Promise((resolve) => setTimeout(resolve, 15)) // the handler's work: overlaps the others'
      now.set(node, now.get(node)! - 1)
      total--
    },
  }
}

/** A handler whose try i returns values[i] once released (it ignores its signal), with gates to
 * know it runs and to release it, and the reason its signal aborted with (null: not aborted). */
function heldTries(values: unknown[]): { tries: { running: ReturnType<typeof gate>; release: ReturnType<typeof gate>; aborted: unknown }[]; work: (this: JobContext) => Promise<unknown> } {
  const tries = values.map(() => ({ running: gate(), release: gate(), aborted: null as unknown }))
  let calls = 0
  return {
    tries,
    async work(this: JobContext) {
      const i = calls++
      const held = tries[i]!
      held.running.open()
      this.signal.addEventListener('abort', () => (held.aborted = this.signal.reason))
      await held.release.wait
      return values[i]
    },
  }
}

describe('workers on every member of a cluster', () => {
  const open = clusterMembers(db)

  it('runs jobs on the followers that registered their function only; a job nobody runs waits pending until someone can', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const starts = startsOn(scheduler)
    const withModel = await open(schema, 'node-b')
    const without = await open(schema, 'node-c')
    // A member that takes no work (never started) stores what nobody runs yet.
    const client = await open(schema, 'node-d')
    const ran: string[] = []
    const partner = withModel.model('res.partner', {
      double(n: number) {
        ran.push(`b:${n}`)
        return n * 2
      },
    })
    without.model('res.other', {
      ping() {
        return 'c'
      },
    })
    await Promise.all([scheduler.start(), withModel.start(), without.start()])
    const jobs = await Promise.all([1, 2, 3, 4, 5].map((n) => partner.browse([n]).withDelay().double(n)))
    const nobody = await client.model('res.nobody', { work: () => 'not here' }).withDelay().work()
    for (const job of jobs) expect(await scheduler.result(job.uuid)).toBe((job.args[0] as number) * 2)
    expect(ran.sort()).toEqual(['b:1', 'b:2', 'b:3', 'b:4', 'b:5'])
    for (const job of jobs) expect(starts.get(job.uuid)).toMatch(/^node-b#/)
    // Nobody registered res.nobody.work: it waits, pending — neither started nor failed.
    expect(await scheduler.job(nobody.uuid)).toMatchObject({ state: 'pending', retry: 0 })
    expect(starts.has(nobody.uuid)).toBe(false)
    // explain() on any member judges by the functions the cluster's workers run, not its own.
    await client.pauseChannel('root')
    const paused = await partner.browse([6]).withDelay().double(6)
    await expect.poll(() => without.job(paused.uuid)).toBeDefined() // another member's call: its replica follows
    for (const member of [scheduler, without]) {
      expect((await member.explain(nobody.uuid)).reasons).toContainEqual({ kind: 'no-handler', function: 'res.nobody.work' })
      expect((await member.explain(paused.uuid)).reasons.map((r) => r.kind)).toEqual(['paused'])
    }
    await client.resumeChannel('root')
    without.model('res.nobody', {
      work() {
        return 'at last'
      },
    })
    expect(await scheduler.result(nobody.uuid)).toBe('at last')
    expect(starts.get(nobody.uuid)).toMatch(/^node-c#/)
  })

  it('never runs more than `workers` handlers on a member, and keeps channel capacities cluster-wide', async () => {
    const schema = db.schema()
    const channels = 'root:4,root.mail:1'
    const scheduler = await open(schema, 'node-a', { channels })
    const seen = concurrency(2) // one handler on each worker, at the same time
    const mail = concurrency()
    const partners = []
    for (const node of ['node-b', 'node-c']) {
      const worker = await open(schema, node, { channels, workers: 1 })
      const partner = worker.model('res.partner', {
        async work(n: number) {
          await seen.run(node)
          return n
        },
        async mail(n: number) {
          await mail.run(node)
          return n
        },
      })
      await worker.start()
      partners.push(partner)
    }
    await scheduler.start()
    const partner = partners[0]!
    const jobs = await Promise.all(Array.from({ length: 8 }, (_, n) => partner.browse([n]).withDelay().work(n)))
    for (const job of jobs) await scheduler.result(job.uuid)
    // root:4 would let 4 run; one slot on each of the two workers lets 2.
    expect([...seen.max.keys()].sort()).toEqual(['node-b', 'node-c'])
    for (const max of seen.max.values()) expect(max).toBe(1)
    expect(seen.maxTotal()).toBe(2)
    const mails = await Promise.all(Array.from({ length: 6 }, (_, n) => partner.browse([n]).withDelay({ channel: 'root.mail' }).mail(n)))
    for (const job of mails) await scheduler.result(job.uuid)
    expect(mail.maxTotal()).toBe(1)
  })

  it('explains, on every member, a job that waits for a free `workers` slot of the members that run its function', async () => {
    // It said nothing (reasons [], "the next tick starts it") while the job stayed pending.
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a', { channels: 'root:4' })
    const follower = await open(schema, 'node-b', { channels: 'root:4' })
    const worker = await open(schema, 'node-c', { channels: 'root:4', workers: 1 })
    const held = heldTries(['first', 'second'])
    for (const member of [scheduler, follower]) member.model('res.partner', {})
    const partner = worker.model('res.partner', { work: held.work })
    await Promise.all([scheduler.start(), follower.start(), worker.start()]) // none says 'stopped'
    const first = await partner.browse([1]).withDelay().work()
    await held.tries[0]!.running.wait
    const second = await partner.browse([2]).withDelay().work()
    // A member explains by the workers as its last heartbeat read them (node-c's work included).
    for (const member of [scheduler, follower, worker]) {
      await expect.poll(() => member.explain(second.uuid), { timeout: 5_000 }).toEqual({ state: 'pending', reasons: [{ kind: 'workers-busy', function: 'res.partner.work' }] })
    }
    held.tries[0]!.release.open()
    expect(await scheduler.result(first.uuid)).toBe('first')
    await held.tries[1]!.running.wait
    held.tries[1]!.release.open()
    expect(await scheduler.result(second.uuid)).toBe('second')
  })

  it("drops a requeued run's late outcome while its next run is on, and aborts its handler on the worker that runs it", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const starts = startsOn(scheduler)
    const worker = await open(schema, 'node-b')
    const { tries, work } = heldTries(['stale', 'fresh'])
    const partner = worker.model('res.partner', { work })
    await Promise.all([scheduler.start(), worker.start()])
    const job = await partner.withDelay().work()
    await tries[0]!.running.wait
    await scheduler.requeue(job.uuid)
    await tries[1]!.running.wait
    expect(starts.get(job.uuid)).toMatch(/^node-b#/)
    await expect.poll(() => tries[0]!.aborted).toMatchObject({ name: 'JobSupersededError' })
    // Both handlers run on node-b, and cluster() says so on every member (as of a heartbeat).
    await expect.poll(() => scheduler.cluster().nodes.map((n) => [n.node, n.running]), { timeout: 5_000 }).toEqual([['node-a', 0], ['node-b', 2]])
    // Run 1 settles while run 2 is the job's: its outcome only frees the slot it held.
    const released = new Promise<WharfEvent>((resolve) => scheduler.on('transition', (e: WharfEvent) => e.type === 'job.run_released' && resolve(e)))
    tries[0]!.release.open()
    expect(await released).toMatchObject({ uuid: job.uuid, run: 1 })
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'started', result: null, retry: 1 })
    tries[1]!.release.open()
    expect(await scheduler.result(job.uuid)).toBe('fresh')
    expect(tries[1]!.aborted).toBeNull()
  })

  it("runs a worker's handler with the context of an embedded one: its progress is written, its timeoutMs aborts it", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const worker = await open(schema, 'node-b')
    const reported = gate()
    const partner = worker.model('res.partner', {
      async slow() {
        this.progress(0.5, 'half way')
        reported.open()
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve))
        return this.signal.reason instanceof Error ? this.signal.reason.name : 'not aborted'
      },
    })
    worker.configure('res.partner.slow', { timeoutMs: 300 })
    await Promise.all([scheduler.start(), worker.start()])
    const job = await partner.withDelay({ maxRetries: 1 }).slow()
    await reported.wait
    await expect.poll(async () => (await scheduler.job(job.uuid))?.progress).toMatchObject({ fraction: 0.5, message: 'half way' })
    await expect.poll(async () => (await scheduler.job(job.uuid))?.state).toBe('failed')
    expect(await scheduler.job(job.uuid)).toMatchObject({ excName: 'FailedJobError', excMessage: 'Max. retries (1) reached: res.partner.slow ran longer than its timeoutMs (300 ms)' })
  })

  it('finds a worker dead when its session ends, runs its job elsewhere, and drops its outcome when it comes back', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const starts = startsOn(scheduler)
    const doomed = await open(schema, 'node-b')
    const { tries, work } = heldTries(['from the dead'])
    const partner = doomed.model('res.partner', { work })
    await Promise.all([scheduler.start(), doomed.start()])
    const job = await partner.withDelay().work()
    await tries[0]!.running.wait
    const other = await open(schema, 'node-c')
    other.model('res.partner', { work: () => 'from the living' })
    await other.start()

    // node-b's next heartbeat takes its lock again on a new session: a scheduler that reads the
    // members only after that finds it alive (rightly: its handler still runs). So its session is
    // cut again until the scheduler has found it dead, whatever the timers' order.
    await terminateMemberSession(schema, 'node-b')
    const cutting = keepCutting(schema, 'node-b')
    expect(await scheduler.result(job.uuid)).toBe('from the living')
    await cutting.stop()
    expect(starts.get(job.uuid)).toMatch(/^node-c#/)
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', retry: 2 })
    // The dead worker's replica saw its run recovered: its handler was aborted there.
    await expect.poll(() => tries[0]!.aborted).toMatchObject({ name: 'JobSupersededError' })
    tries[0]!.release.open()
    // It comes back (its next heartbeat takes its lock again on a new session); its outcome, for
    // a run that is no longer the job's, changes nothing.
    await expect.poll(async () => (await memberLocked(schema, 'node-b')), { timeout: 10_000 }).toBe(true)
    await doomed.idle()
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', result: 'from the living', retry: 2 })
  })

  it('dispatches from a scheduler that never started to the members that did, and runs none of its own', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a') // a web process: it enqueues, and runs nothing
    const starts = startsOn(scheduler)
    const ranOnScheduler: number[] = []
    const onScheduler = scheduler.model('res.partner', { work: (n: number) => void ranOnScheduler.push(n) })
    const worker = await open(schema, 'node-b')
    worker.model('res.partner', { work: (n: number) => n })
    const first = await onScheduler.withDelay().work(1)
    expect(await scheduler.job(first.uuid)).toMatchObject({ state: 'pending' }) // no member takes work yet
    expect((await scheduler.explain(first.uuid)).reasons.map((r) => r.kind)).toContain('stopped')
    await worker.start()
    const jobs = [first, ...(await Promise.all([2, 3, 4].map((n) => onScheduler.withDelay().work(n))))]
    for (const job of jobs) expect(await scheduler.result(job.uuid)).toBe(job.args[0])
    for (const job of jobs) expect(starts.get(job.uuid)).toMatch(/^node-b#/)
    expect(ranOnScheduler).toEqual([])
    expect(scheduler.cluster().role).toBe('scheduler')
  })

  it('fires crons on the scheduler whether or not it started: their jobs run on the members that did', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a') // never started: it won the lease all the same
    const starts = startsOn(scheduler)
    const onScheduler = scheduler.model('reports', { build: (kind: string) => `${kind} on node-a` })
    const worker = await open(schema, 'node-b')
    const ran = gate()
    worker.model('reports', {
      build(kind: string) {
        ran.open()
        return `${kind} on node-b`
      },
    })
    await worker.start()
    await scheduler.cron('every-second', '* * * * * *', onScheduler.delayable().build('tick'), { tz: 'UTC', catchUp: 'none' })
    await ran.wait
    const [fired] = await scheduler.jobs({ limit: 1 })
    expect(fired!.identityKey).toMatch(/^cron:every-second:/)
    expect(await scheduler.result(fired!.uuid)).toBe('tick on node-b')
    expect(starts.get(fired!.uuid)).toMatch(/^node-b#/)
  })

  it("posts a worker's outcomes without a reply: none is written, and its idle() waits until its replica has them", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const worker = await open(schema, 'node-b')
    const posted = await recordInbox(schema)
    const partner = worker.model('res.partner', {
      async work(this: JobContext, n: number) {
        await this.progress(0.5)
        return n + 1
      },
    })
    await worker.start() // the scheduler is not started: every start goes to node-b
    const jobs = await Promise.all([1, 2, 3].map((n) => partner.withDelay().work(n)))
    for (const job of jobs) expect(await scheduler.result(job.uuid)).toBe((job.args[0] as number) + 1)
    await worker.idle()
    for (const job of jobs) expect(await worker.job(job.uuid)).toMatchObject({ state: 'done', result: (job.args[0] as number) + 1 })
    const { calls, replies } = await posted()
    const outcomes = calls.filter((c) => c.command.type === 'finish' || c.command.type === 'progress')
    expect(outcomes.filter((c) => c.command.type === 'finish')).toHaveLength(3)
    expect(outcomes.filter((c) => c.command.type === 'progress')).toHaveLength(3)
    for (const outcome of outcomes) expect(outcome.result).toBe(NO_REPLY_NAME)
    // The three enqueues were answered; no outcome was.
    expect(replies.sort()).toEqual(calls.filter((c) => c.command.type === 'enqueue').map((c) => c.id).sort())
    // No post waited for the WAL flush, calls included: each is answered only by a reply the
    // scheduler commits later, whose flush covers it (PgClusterTables.post).
    expect(calls.filter((c) => c.command.type === 'enqueue')).toHaveLength(3)
    for (const call of calls) expect(call.commit).toBe('off')
  })

  it("posts a worker's outcome again when it was lost before the scheduler applied it (as a crash of the server could lose it)", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const worker = await open(schema, 'node-b')
    // The first outcome posted vanishes as its post commits: the poster got its id, nobody applies it.
    await dropFirstPost(schema, 'finish')
    let runs = 0
    const partner = worker.model('res.partner', { work: () => ++runs })
    await worker.start()
    const job = await partner.withDelay().work()
    expect(await scheduler.result(job.uuid)).toBe(1) // from the outcome posted again, ~OUTCOME_REPOST_MS later
    expect(runs).toBe(1) // posted again, not run again
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'done', retry: 1 }) // its one try: not recovered
  }, 30_000)

  it("refuses a follower's call whose post was lost (as a crash of the server could lose it) instead of waiting forever", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    // The first enqueue posted vanishes as its post commits: the caller got its id, nobody applies it.
    await dropFirstPost(schema, 'enqueue')
    const partner = follower.model('res.partner', { work: (n: number) => n })
    const error = await failure(() => partner.withDelay().work(1)) // refused at the second poll (~2 s)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toContain('the call was lost before the scheduler answered it')
    const job = await partner.withDelay().work(2) // the next one goes through
    expect((await scheduler.job(job.uuid))?.args).toEqual([2])
    expect(scheduler.stats().states.pending + scheduler.stats().states.done).toBe(1)
  }, 30_000)

  it("refuses a follower's call whose lost post's id went to another call, instead of answering it with that call's reply", async () => {
    const schema = db.schema()
    await open(schema, 'node-a')
    const follower = await open(schema, 'node-b')
    await dropFirstPost(schema, 'enqueue')
    const partner = follower.model('res.partner', { work: (n: number) => n })
    const call = failure(() => partner.withDelay().work(1))
    const pool = await connect(db.url())
    try {
      let lost: Record<string, unknown> | undefined
      while ((lost = (await pool.query(`SELECT id, node, token FROM ${schema}.dropped`)).rows[0]) === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
      // After a crash, the server gives the lost post's id out again: here to another call of the
      // same caller (another token), a cancel of a job nobody has — answered UnknownJobError.
      const other = encodeCall({ command: { type: 'cancel', uuid: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }, result: NO_RESULT_NAME })
      await pool.query(`INSERT INTO ${schema}.inbox (id, node, token, body) VALUES ($1, $2, $3, $4)`, [lost.id, lost.node, Number(lost.token) + 1000, other])
      await pool.query(`SELECT pg_notify($1, 'inbox')`, [inboxChannel(schema)])
      const error = await call
      expect(error).toBeInstanceOf(StorageError)
      expect((error as Error).message).toContain('the call was lost before the scheduler answered it')
      // The other call was applied and answered (to nobody waiting): its reply row was written.
      expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.inbox`)).rows[0]!.n).toBe(0)
    } finally {
      await pool.end()
    }
  }, 30_000)

  it('refuses a `workers` that is not a positive integer, naming it', async () => {
    for (const workers of [0, -1, 1.5, '2', null]) {
      const error = await failure(() => Wharf.open({ postgres: db.url(), schema: db.schema(), workers: workers as number }))
      expect((error as Error).message).toContain(`workers must be a positive integer (handlers this process runs at once), got ${JSON.stringify(workers)}`)
    }
    expect(((await failure(() => Wharf.open({ workers: 2 }))) as Error).message).toContain('workers 2 is given without `postgres`')
  })
})

describe('a worker process SIGKILLed mid-handler', () => {
  const children: ChildProcess[] = []
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const open = clusterMembers(db)

  /** A worker process (test/cluster/worker-member.ts); resolves once it printed OPEN. */
  async function spawnWorker(schema: string, node: string, started: (uuid: string, retry: number, node: string) => void): Promise<ChildProcess> {
    const { child, opened } = spawnScript('./worker-member.ts', [db.url(), schema, node], ([word, uuid, retry]) => {
      if (word === 'STARTED') started(uuid!, Number(retry), node)
    })
    children.push(child)
    await opened
    return child
  }

  it('recovers its job, which runs again on another worker (retry + 1), and fails as JobFoundDead past maxRetries', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'node-a')
    const waiting: { retry: number; resolve: (node: string) => void }[] = []
    const onStart = (_uuid: string, retry: number, node: string): void => {
      for (const w of waiting.filter((w) => w.retry === retry)) w.resolve(node)
    }
    const startedTry = (retry: number): Promise<string> => new Promise((resolve) => waiting.push({ retry, resolve }))
    const workers = new Map(await Promise.all(['w1', 'w2'].map(async (node) => [node, await spawnWorker(schema, node, onStart)] as const)))
    await scheduler.start()
    // Stored by a member that takes no work (never started): only the worker processes run it.
    const client = await open(schema, 'node-x')
    const hang = client.model('res.partner', { hang: () => 'not here' })
    const firstTry = startedTry(1)
    const job = await hang.withDelay({ maxRetries: 1 }).hang()
    const firstNode = await firstTry
    const secondTry = startedTry(2)
    workers.get(firstNode)!.kill('SIGKILL')
    const secondNode = await secondTry
    expect(secondNode).not.toBe(firstNode)
    expect(await scheduler.job(job.uuid)).toMatchObject({ state: 'started', retry: 2 })
    workers.get(secondNode)!.kill('SIGKILL')
    await expect.poll(async () => (await scheduler.job(job.uuid))?.state, { timeout: 15_000 }).toBe('failed')
    expect(await scheduler.job(job.uuid)).toMatchObject({ excName: 'JobFoundDead', retry: 2 })
  })
})

/** The SQL expression of member `node`'s lock key, from its member row. */
const MEMBER_KEY = `hashtextextended('wharf-member:' || $1 || ':' || (SELECT worker FROM %s.member WHERE node = $2), 0)`

/** Terminates the session holding member $2's lock (of schema $1): one row per session cut. */
const cutSql = (schema: string): string =>
  `SELECT pg_terminate_backend(pid, 10000) AS ok FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = ${MEMBER_KEY.replace('%s', schema)}`

/** pg_terminate_backend on the session holding member `node`'s lock (its lease session). */
async function terminateMemberSession(schema: string, node: string): Promise<void> {
  const pool = await connect(db.url())
  try {
    const { rows } = await pool.query(
      cutSql(schema),
      [schema, node],
    )
    expect(rows.map((r) => r.ok)).toEqual([true])
  } finally {
    await pool.end()
  }
}

/** Cut member `node`'s lock session each time it takes its lock again, until stop(). */
function keepCutting(schema: string, node: string): { stop(): Promise<void> } {
  let stopped = false
  const loop = (async () => {
    const pool = await connect(db.url())
    try {
      while (!stopped) {
        await pool.query(cutSql(schema), [schema, node])
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    } finally {
      await pool.end()
    }
  })()
  return {
    stop: () => {
      stopped = true
      return loop
    },
  }
}

async function memberLocked(schema: string, node: string): Promise<boolean> {
  const pool = await connect(db.url())
  try {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = ${MEMBER_KEY.replace('%s', schema)}`, [schema, node])
    return rows[0]!.n === 1
  } finally {
    await pool.end()
  }
}

/** The first call of type `type` posted to `schema`'s inbox vanishes as its post commits (a
 * trigger), as a crash of the server could lose it: the poster got its id, nobody applies it. */
async function dropFirstPost(schema: string, type: string): Promise<void> {
  const pool = await connect(db.url())
  try {
    await pool.query(`CREATE TABLE ${schema}.dropped (id bigint, node text, token bigint)`)
    await pool.query(
      `CREATE FUNCTION ${schema}.drop_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
        `IF convert_from(NEW.body, 'UTF8') LIKE '%"${type}"%' AND NOT EXISTS (SELECT 1 FROM ${schema}.dropped) THEN ` +
        `INSERT INTO ${schema}.dropped VALUES (NEW.id, NEW.node, NEW.token); DELETE FROM ${schema}.inbox WHERE id = NEW.id; END IF; RETURN NULL; END $$`,
    )
    await pool.query(`CREATE TRIGGER drop_once AFTER INSERT ON ${schema}.inbox FOR EACH ROW EXECUTE FUNCTION ${schema}.drop_once()`)
  } finally {
    await pool.end()
  }
}

/** Record every call posted to `schema`'s inbox, with its transaction's synchronous_commit, and
 * the id of every reply written (triggers), for a read of what went through: the calls decoded,
 * and the ids of the calls answered. */
async function recordInbox(schema: string): Promise<() => Promise<{ calls: (Call & { id: number; commit: string })[]; replies: number[] }>> {
  const pool = await connect(db.url())
  try {
    await pool.query(`CREATE TABLE ${schema}.seen_call (id bigint, body bytea, commit text)`)
    await pool.query(`CREATE TABLE ${schema}.seen_reply (id bigint)`)
    await pool.query(
      `CREATE FUNCTION ${schema}.seen_call() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${schema}.seen_call VALUES (NEW.id, NEW.body, current_setting('synchronous_commit')); RETURN NEW; END $$`,
    )
    await pool.query(`CREATE FUNCTION ${schema}.seen_reply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${schema}.seen_reply VALUES (NEW.id); RETURN NEW; END $$`)
    await pool.query(`CREATE TRIGGER seen AFTER INSERT ON ${schema}.inbox FOR EACH ROW EXECUTE FUNCTION ${schema}.seen_call()`)
    await pool.query(`CREATE TRIGGER seen AFTER INSERT ON ${schema}.reply FOR EACH ROW EXECUTE FUNCTION ${schema}.seen_reply()`)
  } finally {
    await pool.end()
  }
  return async () => {
    const reader = await connect(db.url())
    try {
      const calls = (await reader.query(`SELECT id, body, commit FROM ${schema}.seen_call ORDER BY id`)).rows.map((r) => ({ id: Number(r.id), commit: r.commit as string, ...decodeCall(r.body as Uint8Array) }))
      const replies = (await reader.query(`SELECT id FROM ${schema}.seen_reply`)).rows.map((r) => Number(r.id))
      return { calls, replies }
    } finally {
      await reader.end()
    }
  }
}
