// Proves the JSON API's reads over a real node:http server: jobs with every filter and cursor
// paging, a job with its related link and function, explain, graphs, stats, the channel tree,
// functions, crons/batches, info; and that bad reads (unknown route or query key, bad uuid) get
// a JSON 4xx.
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { dashboard } from '../../src/dashboard.js'
import { jobDetail, RELATED_ACTION_TIMEOUT_MS } from '../../src/dashboard/api-reads.js'
import { outlineOf } from '../../src/dashboard/job-outline.js'
import { LocalClient } from '../../src/cli/local-client.js'
import { FailedJobError, Wharf } from '../../src/index.js'
import { FakeClock } from '../../src/testing.js'
import { call, openWharf, seedJobs, serve } from './dashboard-helpers.js'

async function setup() {
  const seeded = await seedJobs()
  const { url } = await serve(dashboard(seeded.wharf))
  return { ...seeded, api: `${url}/api` }
}

const uuids = (jobs: { uuid: string }[]): string[] => jobs.map((j) => j.uuid)

describe('GET /api/jobs', () => {
  it('answers every job in creation order, 50 at most by default, with next null on a short page', async () => {
    const { api, all } = await setup()
    const { status, body, headers } = await call(`${api}/jobs`)
    expect(status).toBe(200)
    expect(headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(uuids(body.jobs)).toEqual(uuids(all))
    expect(body.next).toBeNull()
    expect(body.jobs[0]).toMatchObject({ model: 'res.partner', method: 'sync', state: 'done', result: 'synced 1' })
  })

  it('pages through more than two pages with next, ascending and descending', async () => {
    const { api, all } = await setup()
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = []
      const nexts: (string | null)[] = []
      let after: string | null = null
      do {
        const { body }: { body: { jobs: { uuid: string }[]; next: string | null } } = await call(`${api}/jobs?limit=4&order=${order}${after === null ? '' : `&after=${after}`}`)
        seen.push(...uuids(body.jobs))
        nexts.push(body.next)
        after = body.next
      } while (after !== null)
      expect(seen).toEqual(order === 'asc' ? uuids(all) : uuids(all).reverse())
      expect(nexts).toEqual([seen[3], seen[7], null]) // 9 jobs: 4 + 4 + 1
    }
  })

  it('filters on state, channel, function, model, method, graphUuid and identityKey (combined with AND)', async () => {
    const { api, done, failed, pending, graph, wharf, partner } = await setup()
    const keyed = await partner.browse([7]).withDelay({ identityKey: 'partner-7' }).sync(7)
    const q = async (query: string): Promise<string[]> => uuids((await call(`${api}/jobs?${query}`)).body.jobs)
    expect(await q('state=done')).toEqual(uuids(done))
    expect(await q('state=failed')).toEqual([failed.uuid])
    expect(await q('channel=root.mail')).toEqual(uuids(pending))
    expect(await q('channel=mail')).toEqual(uuids(pending))
    expect(await q('function=mail.server.deliver')).toEqual(uuids(pending))
    expect(await q('function=res.partner.boom')).toEqual([failed.uuid])
    expect(await q('model=res.partner&method=sync&state=pending')).toEqual([graph[0]!.uuid, keyed.uuid])
    expect(await q(`graphUuid=${graph[0]!.graphUuid}`)).toEqual(uuids(graph))
    expect(await q('identityKey=partner-7')).toEqual([keyed.uuid])
    expect(await q('state=&channel=')).toHaveLength(10) // empty values are "any", as a form sends them
    expect(await wharf.jobs({ state: 'wait_dependencies' })).toHaveLength(1)
  })

  it.each([
    ['stat=done', 'unknown query key "stat"'],
    ['state=finished', 'unknown state "finished"'],
    ['state=done&state=failed', 'query key "state" given more than once'],
    ['limit=0', 'limit must be an integer from 1 to 1000, got "0"'],
    ['limit=1001', 'got "1001"'],
    ['limit=ten', 'got "ten"'],
    ['order=newest', "order must be 'asc' or 'desc'"],
    ['function=deliver', "function must be '<model>.<method>'"],
    ['function=mail.server.deliver&model=mail.server', 'not both'],
    ['channel=root..x', 'channel'],
    ['after=a%20b', 'not a job uuid: "a b"'],
  ])('refuses %s with 400 InvalidPropertyError naming it', async (query, message) => {
    const { api } = await setup()
    const { status, body } = await call(`${api}/jobs?${query}`)
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ name: 'InvalidPropertyError', code: 'INVALID_PROPERTY' })
    expect(body.error.message).toContain(message)
  })
})

describe('GET /api/jobs/<uuid>', () => {
  it('answers the job, its related link from the function\'s related action, and the function', async () => {
    const { api, done } = await setup()
    const { status, body } = await call(`${api}/jobs/${done[1]!.uuid}`)
    expect(status).toBe(200)
    expect(body.job).toMatchObject({ uuid: done[1]!.uuid, state: 'done', records: [2], result: 'synced 2' })
    expect(body.related).toEqual({ url: '/partners/2?tab=jobs', label: 'Partner 2' })
    expect(body.function).toEqual({
      name: 'res.partner.sync',
      model: 'res.partner',
      method: 'sync',
      registered: true,
      channel: null,
      retryPattern: { 1: 10, 3: [20, 40] },
      relatedAction: { enable: true, funcName: 'openPartner', kwargs: { tab: 'jobs' } },
      timeoutMs: null,
    })
  })

  it('answers related null without a related action, and the error of a broken one beside the job', async () => {
    const { api, wharf, pending, failed } = await setup()
    expect((await call(`${api}/jobs/${pending[0]!.uuid}`)).body).toMatchObject({ related: null, function: { name: 'mail.server.deliver', channel: 'root.mail', timeoutMs: 5000 } })
    wharf.configure('res.partner.boom', { relatedAction: { funcName: 'missing' } })
    const { status, body } = await call(`${api}/jobs/${failed.uuid}`)
    expect(status).toBe(200)
    expect(body.related).toBeNull()
    expect(body.relatedError).toMatchObject({ name: 'InvalidJobFunctionError', code: 'INVALID_JOB_FUNCTION' })
    expect(body.relatedError.message).toContain('model res.partner has no method missing')
  })

  it('answers the job without its link when the related action does not answer in time', async () => {
    const { wharf } = await openWharf()
    const hang = wharf.model('mail.queue', { hang: () => new Promise(() => {}), sync: () => 1 })
    wharf.configure('mail.queue.sync', { relatedAction: { funcName: 'hang' } })
    const job = await hang.withDelay().sync()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const detail = jobDetail(wharf, job.uuid)
      await vi.advanceTimersByTimeAsync(RELATED_ACTION_TIMEOUT_MS)
      expect(await detail).toMatchObject({ job: { uuid: job.uuid }, related: null, relatedError: { code: 'RELATED_ACTION_TIMEOUT' } })
    } finally {
      vi.useRealTimers()
    }
  })

  it('answers 404 UnknownJobError for an unknown uuid, 400 for a malformed one', async () => {
    const { api } = await setup()
    const unknown = await call(`${api}/jobs/01NOSUCHJOB`)
    expect(unknown).toMatchObject({ status: 404, body: { error: { name: 'UnknownJobError', code: 'UNKNOWN_JOB' } } })
    for (const bad of ['a%20b', '%E0%A4%A', 'x'.repeat(201)]) {
      const { status, body } = await call(`${api}/jobs/${bad}`)
      expect(status).toBe(400)
      expect(body.error.name).toBe('InvalidPropertyError')
    }
  })

  it('GET /api/jobs/<uuid>/explain answers wharf.explain(): why a job waits, or that it finished; 404 for an unknown job', async () => {
    const { api, wharf, graph, done } = await setup()
    const waiting = await call(`${api}/jobs/${graph[1]!.uuid}/explain`)
    expect(waiting.status).toBe(200)
    expect(waiting.body).toEqual(JSON.parse(JSON.stringify(await wharf.explain(graph[1]!.uuid))))
    expect(waiting.body).toMatchObject({ state: 'wait_dependencies', reasons: [{ kind: 'parents', waitingFor: [graph[0]!.uuid] }] })
    expect((await call(`${api}/jobs/${done[0]!.uuid}/explain`)).body).toEqual({ state: 'done', reasons: [{ kind: 'finished', state: 'done', atMs: done[0]!.createdAt }] })
    expect(await call(`${api}/jobs/01NOSUCHJOB/explain`)).toMatchObject({ status: 404, body: { error: { name: 'UnknownJobError' } } })
  })
})

describe('GET /api/jobs?view=outline', () => {
  it("answers each job without the app's data (args, context, result, exception): what the Jobs table shows", async () => {
    const { api, done, failed } = await setup()
    const { status, body } = await call(`${api}/jobs?view=outline&state=failed`)
    expect(status).toBe(200)
    expect(body.jobs).toEqual([outlineOf((await (await call(`${api}/jobs/${failed.uuid}`)).body).job)])
    expect(Object.keys(body.jobs[0]).sort()).toEqual(['batchUuid', 'cancelledAt', 'channel', 'createdAt', 'description', 'doneAt', 'eta', 'graphUuid', 'maxRetries', 'method', 'model', 'priority', 'retry', 'state', 'uuid'])
    expect(Object.keys(body.failedAt)).toEqual([failed.uuid]) // as without view
    const page = (await call(`${api}/jobs?view=outline&state=done&limit=2`)).body
    expect([uuids(page.jobs), page.next]).toEqual([uuids(done.slice(0, 2)), done[1]!.uuid])
    expect((await call(`${api}/jobs?view=full&state=done&limit=1`)).body.jobs[0]).toMatchObject({ result: 'synced 1', args: [1] })
    expect(await call(`${api}/jobs?view=slim`)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PROPERTY', message: expect.stringContaining('slim') } } })
  })
})

describe('the other reads', () => {
  it('GET /api/graphs/<uuid> answers the jobs and edges; an unknown graph is a 404', async () => {
    const { api, graph } = await setup()
    const { status, body } = await call(`${api}/graphs/${graph[0]!.graphUuid}`)
    expect(status).toBe(200)
    expect(uuids(body.jobs)).toEqual(uuids(graph))
    expect(body.edges).toEqual([[graph[0]!.uuid, graph[1]!.uuid]])
    expect(await call(`${api}/graphs/01NOSUCHGRAPH`)).toMatchObject({ status: 404, body: { error: { name: 'NotFound', code: 'UNKNOWN_GRAPH' } } })
  })

  it('GET /api/graphs/<uuid>?view=outline&max=N answers what a drawing needs, and only the size of a graph of more than N jobs', async () => {
    const { api, graph } = await setup()
    const at = `${api}/graphs/${graph[0]!.graphUuid}`
    const outline = await call(`${at}?view=outline&max=2`)
    expect(outline.status).toBe(200)
    expect(outline.body).toEqual({
      jobs: graph.map(outlineOf),
      edges: [[graph[0]!.uuid, graph[1]!.uuid]],
      size: 2,
    })
    expect((await call(`${at}?view=outline&max=1`)).body).toEqual({ jobs: [], edges: [], size: 2 })
    expect((await call(`${at}?max=1`)).body).toEqual({ jobs: [], edges: [], size: 2 })
    expect((await call(at)).body).toMatchObject({ size: 2, jobs: [{ uuid: graph[0]!.uuid, result: null, args: [5] }, { uuid: graph[1]!.uuid }] })
    for (const bad of ['view=slim', 'max=0', 'max=-1', 'max=two', 'limit=2']) {
      expect(await call(`${at}?${bad}`)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PROPERTY', message: expect.stringContaining(bad.split('=')[bad.startsWith('limit') ? 0 : 1]!) } } })
    }
  })

  it('GET /api/stats answers wharf.stats()', async () => {
    const { api, wharf } = await setup()
    const { body } = await call(`${api}/stats`)
    expect(body).toEqual(JSON.parse(JSON.stringify(wharf.stats())))
    expect(body.states).toMatchObject({ done: 3, failed: 1, pending: 4, wait_dependencies: 1 })
  })

  it('GET /api/channels answers the tree, parents before children, with each parent named', async () => {
    const { api, wharf } = await setup()
    await wharf.pauseChannel('root.export')
    const { body } = await call(`${api}/channels`)
    expect(body.channels.map((c: { name: string; parent: string | null }) => [c.name, c.parent])).toEqual([
      ['root', null],
      ['root.export', 'root'],
      ['root.mail', 'root'],
      ['root.mail.bulk', 'root.mail'],
    ])
    expect(body.channels[1]).toMatchObject({ capacity: 1, paused: true, running: 0, sequential: false, throttleSeconds: 0 })
    expect(body.channels[2]).toMatchObject({ name: 'root.mail', capacity: 1, pending: 3, enqueued: 0, started: 0, failed: 0 })
  })

  it('GET /api/functions answers every function registered or configured, by name', async () => {
    const { api, wharf } = await setup()
    wharf.configure('billing.invoice.send', { channel: 'root.export' })
    const { body } = await call(`${api}/functions`)
    expect(body.functions.map((f: { name: string; registered: boolean }) => [f.name, f.registered])).toEqual([
      ['billing.invoice.send', false],
      ['mail.server.deliver', true],
      ['res.partner.boom', true],
      ['res.partner.openPartner', true],
      ['res.partner.sync', true],
    ])
    expect(body.functions[0]).toEqual({
      name: 'billing.invoice.send',
      model: 'billing.invoice',
      method: 'send',
      registered: false,
      channel: 'root.export',
      retryPattern: null,
      relatedAction: { enable: true },
      timeoutMs: null,
    })
  })

  it('GET /api/functions adds, after those, the functions the store holds jobs of: settings by default in the app, none under `wharf dashboard --path`', async () => {
    const path = await mkdtemp(join(tmpdir(), 'wharf-dash-functions-'))
    try {
      const writer = await Wharf.open({ path })
      await writer.model('legacy.export', { run: () => 'ran' }).withDelay({ eta: 3600 }).run()
      await writer.close()

      // An app that no longer defines legacy.export: its jobs wait for a handler.
      const app = await Wharf.open({ path })
      const mail = app.model('mail', { send: () => 'sent' })
      const { url } = await serve(dashboard(app))
      const names = async (at: string) => (await call(`${at}/api/functions`)).body.functions.map((f: { name: string; registered: boolean }) => [f.name, f.registered])
      expect(await names(url)).toEqual([['mail.send', true], ['legacy.export.run', false]])
      expect((await call(`${url}/api/functions`)).body.functions[1]).toEqual({
        name: 'legacy.export.run', model: 'legacy.export', method: 'run', registered: false, channel: null, retryPattern: null, relatedAction: { enable: true }, timeoutMs: null,
      })
      // A job stored after the first read: its function comes from the event, not a new read.
      await app.model('audit', { log: () => 'logged' }).withDelay({ eta: 3600 }).log()
      await mail.withDelay({ eta: 3600 }).send()
      expect(await names(url)).toEqual([['audit.log', true], ['mail.send', true], ['legacy.export.run', false]])
      await app.close()

      // `wharf dashboard --path`: no model is registered; every function is the store's, without
      // settings (the app's, not stored).
      const client = await LocalClient.open(path, 'hint')
      try {
        const server = await client.serveDashboard({ port: 0 })
        const { body } = await call(`${server.url}api/functions`)
        expect(body.functions).toEqual(['audit.log', 'legacy.export.run', 'mail.send'].map((name) => {
          const dot = name.lastIndexOf('.')
          return { name, model: name.slice(0, dot), method: name.slice(dot + 1), registered: false }
        }))
        await server.close()
      } finally {
        await client.close()
      }
    } finally {
      await rm(path, { recursive: true, force: true })
    }
  })

  it('GET /api/jobs and /api/jobs/:uuid say when a failed job failed (failedAt, beside the JobView, which has no such field)', async () => {
    const failedAtMs = Date.UTC(2026, 10, 3, 14, 5, 9)
    const wharf = await Wharf.open({ clock: new FakeClock(failedAtMs) })
    try {
      const model = wharf.model('mail', { send() { throw new FailedJobError('SMTP 550') }, later: () => 'sent' })
      const failed = await model.withDelay().send()
      const pending = await model.withDelay({ eta: 3600 }).later()
      await wharf.start()
      await wharf.drain()
      const { url } = await serve(dashboard(wharf))
      const page = (await call(`${url}/api/jobs`)).body
      expect(page.failedAt).toEqual({ [failed.uuid]: failedAtMs })
      expect(page.jobs.map((j: { uuid: string }) => j.uuid)).toEqual([failed.uuid, pending.uuid])
      expect(page.jobs[0]).not.toHaveProperty('failedAt')
      expect((await call(`${url}/api/jobs/${failed.uuid}`)).body.failedAt).toBe(failedAtMs)
      expect((await call(`${url}/api/jobs/${pending.uuid}`)).body.failedAt).toBeNull()
    } finally {
      await wharf.close()
    }
  })

  it('GET /api/batches pages batches with their counts, /api/batches/:uuid answers one, and /api/jobs?batchUuid= its jobs', async () => {
    const { api, wharf, partner, mail } = await setup()
    const b1 = await wharf.batch('first', [partner.browse([1]).delayable().sync(1), partner.browse([2]).delayable().boom()])
    const b2 = await wharf.batch('second', [mail.delayable().deliver('d@x')])
    await wharf.start()
    await wharf.drain()
    const all = (await call(`${api}/batches`)).body
    expect(all.batches.map((b: { name: string; state: string; total: number; done: number; failed: number }) => [b.name, b.state, b.total, b.done, b.failed])).toEqual([
      ['first', 'failed', 2, 1, 1],
      ['second', 'done', 1, 1, 0],
    ])
    expect(all.next).toBeNull()
    const page = (await call(`${api}/batches?limit=1&order=desc`)).body
    expect([page.batches[0].uuid, page.next]).toEqual([b2.uuid, b2.uuid])
    expect((await call(`${api}/batches?state=failed`)).body.batches.map((b: { uuid: string }) => b.uuid)).toEqual([b1.uuid])
    expect((await call(`${api}/batches/${b1.uuid}`)).body).toMatchObject({ uuid: b1.uuid, name: 'first', state: 'failed' })
    expect((await call(`${api}/batches/01NOSUCH`)).status).toBe(404)
    expect(uuids((await call(`${api}/jobs?batchUuid=${b1.uuid}`)).body.jobs)).toEqual(uuids(await wharf.jobs({ batchUuid: b1.uuid })))
    expect((await call(`${api}/jobs?batchUuid=${b1.uuid}`)).body.jobs).toHaveLength(2)
    const bad = await call(`${api}/batches?state=finished`)
    expect([bad.status, bad.body.error.name]).toEqual([400, 'InvalidPropertyError'])
    expect((await call(`${api}/batches?sort=name`)).status).toBe(400)
  })

  it('GET /api/crons and /api/batches answer empty lists; /api/info the mode and version', async () => {
    const { api } = await setup()
    expect((await call(`${api}/crons`)).body).toEqual({ crons: [] })
    expect((await call(`${api}/batches`)).body).toEqual({ batches: [], next: null })
    const version = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).version
    expect((await call(`${api}/info`)).body).toEqual({ readOnly: false, tokenRequired: false, version })
  })

  it('answers HEAD on a read as its GET without the body, the event stream included; Allow names it', async () => {
    const { api } = await setup()
    for (const path of ['/info', '/stats', '/jobs?state=done', '/events']) {
      const [get, head] = [await fetch(`${api}${path}`), await fetch(`${api}${path}`, { method: 'HEAD' })]
      expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([200, get.headers.get('content-type'), ''])
      await get.body?.cancel()
    }
    expect((await fetch(`${api}/jobs?limit=0`, { method: 'HEAD' })).status).toBe(400)
    expect((await call(`${api}/info`, { method: 'DELETE' })).headers.get('allow')).toBe('GET, HEAD')
    expect((await call(`${api}/info`)).status).toBe(200) // the connection a HEAD used still serves
  })

  it('answers an unknown API route, or a query on a route that takes none, with a JSON 4xx', async () => {
    const { api } = await setup()
    for (const path of ['/nope', '/jobs/', '', '/jobs/x/y/z', '/stats/x']) {
      expect(await call(`${api}${path}`)).toMatchObject({ status: 404, body: { error: { name: 'NotFound', code: 'UNKNOWN_ROUTE' } } })
    }
    const { status, body } = await call(`${api}/stats?verbose=1`)
    expect(status).toBe(400)
    expect(body.error.message).toContain('unknown query key "verbose"; this route takes no query')
  })
})
