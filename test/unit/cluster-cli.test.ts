// Proves the operator's ways into a cluster on PostgreSQL (real server): a member opened with
// NEVER_SCHEDULER stays a follower even when the lease is free; `wharf … --postgres` (requeue and
// dashboard as real processes) lists and acts on the jobs of a cluster whose scheduler is this
// test's process, without ever taking the lease, and leaves; an action is refused at once when
// the scheduler's row is fresh but its session gone (SIGKILLed), by a command and by the CLI's
// dashboard (503), and one the scheduler leaves unanswered makes the CLI say what it waits for;
// and the dashboard served by a follower shows the jobs while a requeue through it is applied by
// the scheduler.
import { describe, expect, it } from 'vitest'
import { FailedJobError, Wharf, type JobView } from '../../src/index.js'
import { NEVER_SCHEDULER } from '../../src/engine/api/open-options.js'
import { main } from '../../src/cli/main.js'
import { ClusterClient } from '../../src/cli/cluster-client.js'
import { connect } from '../../src/storage/pg-driver.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { dashboardProcess, wharfJson } from './cli-helpers.js'
import { call, post } from './dashboard-helpers.js'
import { closedAfterEach } from './helpers.js'

const db = pgTestDatabase()
const open = clusterMembers(db)
const others = closedAfterEach()

/** A handler that fails its first try and succeeds after (a requeue makes it done). */
function partner(wharf: Wharf) {
  let tries = 0
  return wharf.model('res.partner', {
    sync() {
      if (++tries === 1) throw new FailedJobError('the partner API said no')
      return 'synced'
    },
    later() {
      return 'later'
    },
  })
}

/** An app's scheduler with a failed job and a job due in an hour. */
async function appWithJobs(schema: string) {
  const app = await open(schema, 'app')
  const m = partner(app)
  const failed = await m.browse([1]).withDelay().sync()
  const later = await m.browse([2]).withDelay({ eta: 3600 }).later()
  await app.start()
  await expect.poll(async () => (await app.job(failed.uuid))?.state).toBe('failed')
  return { app, failed, later }
}

/** `wharf <args>` in this process (a member of its own), its streams captured. */
async function inProcess(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } })
  return { code, out, err }
}

describe('a member that never becomes the scheduler', () => {
  it('takes no free lease, neither at open nor when the scheduler leaves', async () => {
    const schema = db.schema()
    await (await open(schema, 'app-1')).close() // the schema exists, its lease is free (term 1)
    const cli = await Wharf.open({ postgres: db.url(), schema, node: 'cli', channels: 'root:2', [NEVER_SCHEDULER]: true })
    others.push(cli)
    expect(cli.cluster()).toMatchObject({ role: 'follower', leader: null })
    const app = await open(schema, 'app-2')
    expect(app.cluster()).toMatchObject({ role: 'scheduler', term: 2 })
    await app.close() // its 'leave' is when a campaigning follower would take over at once
    const next = await open(schema, 'app-3')
    expect(next.cluster()).toMatchObject({ role: 'scheduler', term: 3 })
    expect(cli.cluster().role).toBe('follower')
  })
})

describe('wharf --postgres', () => {
  it("lists and acts on a cluster's jobs through its scheduler in another process, reads without one, and never takes the lease", async () => {
    const schema = db.schema()
    const { app, failed, later } = await appWithJobs(schema)
    const connect = ['--postgres', db.url(), '--schema', schema]
    const page = await inProcess('jobs', ...connect, '--json')
    expect(JSON.parse(page.out).jobs.map((j: JobView) => [j.uuid, j.state])).toEqual([[failed.uuid, 'failed'], [later.uuid, 'pending']])
    const [stats, crons, batches, why] = await Promise.all([['stats'], ['crons'], ['batches'], ['explain', later.uuid]].map(async (command) => {
      const run = await inProcess(...command, ...connect, '--json')
      return run.code === 0 ? JSON.parse(run.out) : run
    }))
    expect(stats).toMatchObject({ states: { failed: 1, pending: 1 } })
    // The capacities are the scheduler's (the app's root:2), not those the CLI's member opens with.
    expect(stats.channels).toContainEqual(expect.objectContaining({ name: 'root', capacity: 2 }))
    expect([crons, batches]).toEqual([{ crons: [] }, { batches: [], next: null }])
    expect(why).toMatchObject({ state: 'pending', reasons: [expect.objectContaining({ kind: 'eta' })] })
    // Real processes (the costly runs here): the scheduler is in another process than the CLI.
    const requeued = await wharfJson<{ results: unknown[] }>(0, 'requeue', failed.uuid, ...connect)
    expect(requeued.results).toEqual([{ uuid: failed.uuid, ok: true }])
    await expect.poll(async () => (await app.job(failed.uuid))?.state).toBe('done') // run again, by the app
    const dashboard = await dashboardProcess(...connect)
    expect((await call(new URL('api/jobs', dashboard.url).href)).body.jobs.map((j: JobView) => j.state)).toEqual(['done', 'pending'])
    expect(await dashboard.stop()).toBe(0)
    // The CLI's members joined and left; the app kept its lease and its term.
    await expect.poll(() => app.cluster().nodes.map((n) => [n.node, n.role]), { timeout: 5_000 }).toEqual([['app', 'scheduler']])
    expect(app.cluster()).toMatchObject({ role: 'scheduler', term: 1, leader: 'app' })

    await app.close() // no scheduler now, and the lease is free
    const read = await inProcess('show', failed.uuid, ...connect, '--json')
    expect([read.code, JSON.parse(read.out).job.state]).toEqual([0, 'done'])
    const refused = await inProcess('cancel', later.uuid, ...connect)
    expect([refused.code, refused.err]).toEqual([1, expect.stringContaining('ClusterError: no scheduler in the cluster of schema')])
    const missing = await inProcess('stats', '--postgres', db.url(), '--schema', 'nothing_here')
    expect([missing.code, missing.err]).toEqual([1, expect.stringContaining('no Wharf cluster in schema "nothing_here"')])
    // No CLI run took the free lease: the next app is the scheduler of term 2.
    expect((await open(schema, 'app-again')).cluster()).toMatchObject({ role: 'scheduler', term: 2 })
  })
})

describe('the dashboard on a follower', () => {
  it('shows the jobs from its replica; a requeue through it is applied by the scheduler', async () => {
    const schema = db.schema()
    const { app, failed, later } = await appWithJobs(schema)
    const follower = await open(schema, 'web')
    partner(follower)
    expect(follower.cluster().role).toBe('follower')
    const { url } = await follower.serveDashboard({ port: 0 })
    const api = new URL('api', url).href
    const jobs = await call(`${api}/jobs`)
    expect(jobs.body.jobs.map((j: JobView) => [j.uuid, j.state])).toEqual([[failed.uuid, 'failed'], [later.uuid, 'pending']])
    expect(await post(`${api}/actions/requeue`, { uuids: [failed.uuid] })).toMatchObject({ status: 200, body: { results: [{ uuid: failed.uuid, ok: true }] } })
    await expect.poll(async () => (await app.job(failed.uuid))?.state).toBe('done')
    await expect.poll(async () => (await call(`${api}/jobs/${failed.uuid}`)).body.job.state).toBe('done')
  })
})

describe('wharf cluster', () => {
  it('shows the leader, the term and the members alive, from the cluster (--postgres) or an app (--url)', async () => {
    const schema = db.schema()
    const app = await open(schema, 'app')
    const web = await open(schema, 'web')
    await expect.poll(() => web.cluster().leader, { timeout: 5_000 }).toBe('app')
    const joined = await inProcess('cluster', '--postgres', db.url(), '--schema', schema, '--json')
    expect(joined.code).toBe(0)
    const view = JSON.parse(joined.out)
    expect(view).toMatchObject({ leader: 'app', role: 'follower', term: 1 })
    // The command's own member is listed too (it is one while it runs), as a follower.
    expect(view.nodes.map((n: { node: string; role: string }) => [n.node, n.role])).toEqual([['app', 'scheduler'], ['web', 'follower'], [view.node, 'follower']])
    const text = await inProcess('cluster', '--postgres', db.url(), '--schema', schema)
    expect(text.out).toMatch(/^leader: app\nterm: 1\n/)
    expect(text.out).toMatch(/\napp +scheduler +1 +no +0 +unlimited +\S+Z *\n/)
    expect(text.out).toMatch(/this command/)
    // The dashboard of a follower answers its cluster() (GET /api/cluster).
    const { url } = await web.serveDashboard({ port: 0 })
    const asked = await inProcess('cluster', '--url', url, '--json')
    expect(JSON.parse(asked.out)).toMatchObject({ node: 'web', leader: 'app', role: 'follower', term: 1 })
    const onDisk = await inProcess('cluster', '--path', '/tmp')
    expect([onDisk.code, onDisk.err]).toEqual([2, expect.stringContaining("--path: a store on disk is one process's, not a cluster")])
    await app.close()
  })
})

describe('wharf --postgres while the scheduler is dead or silent', () => {
  /** A schema whose app closed (term 1, lease free), and a scheduler row that looks alive: fresh,
   * of term 1, its member lock held by a session of this test when `locked` (else by nobody, as
   * after a SIGKILL). */
  async function ghostScheduler(locked: boolean) {
    const schema = db.schema()
    const { app, later } = await appWithJobs(schema)
    await app.close()
    const pool = await connect(db.url(), undefined, 1)
    await pool.query(`INSERT INTO ${schema}.member (node, role, term, worker) VALUES ('ghost', 'scheduler', 1, 'ghost#1')`)
    if (locked) await pool.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`wharf-member:${schema}:ghost#1`])
    return { schema, later, end: () => pool.end() }
  }

  it('refuses an action at once when the scheduler row is fresh but its session is gone', async () => {
    const { schema, later, end } = await ghostScheduler(false)
    try {
      const refused = await inProcess('cancel', later.uuid, '--postgres', db.url(), '--schema', schema)
      expect([refused.code, refused.err]).toEqual([1, expect.stringContaining('ClusterError: no scheduler in the cluster of schema')])
    } finally {
      await end()
    }
  })

  it("refuses the dashboard's actions at once too (503, NO_SCHEDULER), while its reads answer; once an app schedules, they go through", async () => {
    const { schema, later, end } = await ghostScheduler(false)
    const client = await ClusterClient.join(db.url(), schema)
    try {
      const { url } = await client.serveDashboard({ port: 0 })
      const api = new URL('api', url).href
      expect((await call(`${api}/jobs/${later.uuid}`)).body.job.state).toBe('pending')
      const refused = await post(`${api}/actions/cancel`, { uuids: [later.uuid] })
      expect(refused).toMatchObject({ status: 503, body: { error: { code: 'NO_SCHEDULER', message: expect.stringContaining('no scheduler in the cluster of schema') } } })
      await open(schema, 'app-2')
      await expect.poll(() => client.store.cluster().leader, { timeout: 5_000 }).toBe('app-2')
      expect(await post(`${api}/actions/cancel`, { uuids: [later.uuid] })).toMatchObject({ status: 200, body: { results: [{ uuid: later.uuid, ok: true }] } })
    } finally {
      await client.close()
      await end()
    }
  })

  it('says what an unanswered action waits for, and ends once a scheduler applies it', async () => {
    const { schema, later, end } = await ghostScheduler(true)
    const notes: string[] = []
    const client = await ClusterClient.join(db.url(), schema, { note: (line) => notes.push(line), noteAfterMs: 0 })
    try {
      const acting = client.act('cancel', [later.uuid])
      await expect.poll(() => notes.length).toBe(1)
      expect(notes[0]).toMatch(/^wharf cancel: no answer after 0 s; waiting for the scheduler, node "ghost" \(its last heartbeat [\d.]+ s ago\)\. The call waits in the inbox of schema "s\d+"/)
      const next = await open(schema, 'app-2') // takes the lease, and applies the inbox
      expect(await acting).toEqual([{ uuid: later.uuid, ok: true }])
      expect(await next.job(later.uuid)).toMatchObject({ state: 'cancelled' })
      expect(notes).toHaveLength(1)
    } finally {
      await client.close()
      await end()
    }
  })
})
