// Proves the `wharf` commands over a running app (--url), run as real processes against a real
// dashboard (wharf.serveDashboard() in this process, on a store the app holds): the same
// documents as --path plus what only the app knows (capacities, function settings, the
// scheduler's explanation), refusals and their exit codes (409 → 1, 400 → 2, 401, 403, a dead
// address, something that is not the API); and `wharf dashboard --path`, served until SIGTERM.
import { cp } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Wharf, type JobView } from '../../src/index.js'
import { buildStore, CHANNELS, dashboardProcess, JOBS, partnerModel, tempDirs, wharf, wharfJson } from './cli-helpers.js'

const tempDir = tempDirs('wharf-cli-http-')
let template: string

type Page = { jobs: JobView[]; next: string | null }
const uuids = (page: Page): string[] => page.jobs.map((j) => j.uuid)

beforeAll(async () => {
  template = join(await tempDir(), 'store')
  await buildStore(template)
})

/** A copy of the store held by an app (its model declared, not dispatching) serving its dashboard. */
async function runningApp(options: { token?: string; readOnly?: boolean } = {}) {
  const path = join(await tempDir(), 'store')
  await cp(template, path, { recursive: true })
  // The store's jobs finished in 2020: a default retention would vacuum them at this open.
  const app = await Wharf.open({ path, channels: CHANNELS, removeAfterDays: 100_000 })
  partnerModel(app)
  const server = await app.serveDashboard({ port: 0, ...options })
  return { app, path, url: server.url, close: () => app.close() }
}

describe('wharf over --url, against a running app', () => {
  let app: Awaited<ReturnType<typeof runningApp>>
  beforeAll(async () => {
    app = await runningApp()
  })
  afterAll(async () => app.close())

  it('jobs: the same page as from the store, with paging and filters', async () => {
    const all = await wharfJson<Page>(0, 'jobs', '--url', app.url)
    expect(uuids(all)).toEqual([JOBS.done, JOBS.failed, JOBS.cancelled, JOBS.later, JOBS.parent, JOBS.child, JOBS.mail, JOBS.stuck])
    const page = await wharfJson<Page>(0, 'jobs', '--url', app.url, '--limit', '2', '--after', JOBS.failed, '--function', 'res.partner.sync')
    expect([uuids(page), page.next]).toEqual([[JOBS.cancelled, JOBS.later], JOBS.later])
    const failed = await wharf('jobs', '--url', app.url, '--state', 'failed')
    expect(failed.code).toBe(0)
    expect(failed.out.split('\n').slice(1, 3).map((l) => l.split(/ +/)[0])).toEqual([JOBS.failed, JOBS.parent])
  })

  it("show: the job with the app's function settings", async () => {
    const detail = await wharfJson<{ job: JobView; related: unknown; function: { name: string; registered: boolean } }>(0, 'show', JOBS.child, '--url', app.url)
    expect(detail.job).toMatchObject({ uuid: JOBS.child, state: 'wait_dependencies' })
    expect(detail.function).toMatchObject({ name: 'res.partner.sync', registered: true })
    expect(detail.related).toBeNull()
  })

  it("explain: the app's scheduler says why", async () => {
    expect(await wharf('explain', JOBS.child, '--url', app.url)).toEqual({ code: 0, out: `state: wait_dependencies\n- waits for its parent job(s) to be done: ${JOBS.parent}; failed (it waits until they are requeued or set done): ${JOBS.parent}\n`, err: '' })
    expect(await wharfJson(0, 'explain', JOBS.done, '--url', app.url)).toMatchObject({ state: 'done', reasons: [{ kind: 'finished', state: 'done' }] })
  })

  it('stats: capacities as the app configured them', async () => {
    const run = await wharf('stats', '--url', app.url)
    expect(run.out).toMatch(/^root +2 +0 /m)
    expect(run.out).toMatch(/^root\.mail +1 +0 /m)
    expect(await wharfJson(0, 'crons', '--url', app.url)).toEqual({ crons: [] })
  })

  it('an unknown job: exit 1 with the API error', async () => {
    const run = await wharf('show', 'j-999999', '--url', app.url)
    expect([run.code, run.err]).toEqual([1, 'wharf show: UnknownJobError: no job with uuid "j-999999"\n'])
  })

  it('a value the API refuses (HTTP 400): exit 2 with the usage line', async () => {
    const run = await wharf('jobs', '--url', app.url, '--limit', '5000')
    expect(run.code).toBe(2)
    expect(run.err).toMatch(/^wharf jobs: InvalidPropertyError: GET \/api\/jobs: limit must be an integer from 1 to 1000, got "5000"\nusage: wharf jobs /)
  })

  // --url refused 'a b' (HTTP 400: not a job uuid) while --path paged from it as a plain bound,
  // listing whatever sorts after it: the cursor is a job uuid, checked alike before connecting.
  it('--after that cannot be a job uuid: refused alike with --path and --url, exit 2 naming it', async () => {
    for (const command of ['jobs', 'batches']) {
      const local = await wharf(command, '--path', template, '--after', 'a b')
      expect(local.code, command).toBe(2)
      expect(local.err).toMatch(new RegExp(`^wharf ${command}: --after must be a .*uuid.*, got "a b"\nusage: wharf ${command} `))
      expect(await wharf(command, '--url', app.url, '--after', 'a b')).toEqual(local)
    }
  })
})

describe('actions over --url', () => {
  it('acts on each uuid; a refused one (HTTP 409) makes exit 1 and the others are done', async () => {
    const app = await runningApp()
    try {
      const run = await wharf('requeue', JOBS.failed, 'j-999999', '--url', app.url)
      expect(run.code).toBe(1)
      expect(run.out).toBe(`${JOBS.failed}: requeued\nj-999999: refused: UnknownJobError: no job with uuid "j-999999"\n`)
      expect((await app.app.job(JOBS.failed))?.state).toBe('pending')
      expect(await wharfJson(0, 'cancel', JOBS.later, '--url', app.url)).toEqual({ results: [{ uuid: JOBS.later, ok: true }] })
      expect((await app.app.job(JOBS.later))?.state).toBe('cancelled')
    } finally {
      await app.close()
    }
  })

  it('remove (all or nothing: a 409 refuses the call, exit 1) and purge', async () => {
    const app = await runningApp()
    try {
      const refused = await wharf('remove', JOBS.done, JOBS.later, '--url', app.url)
      expect(refused.code).toBe(1)
      expect(refused.err).toContain(`JobStateConflictError: cannot remove job ${JOBS.later}: it is pending`)
      expect((await app.app.job(JOBS.done))?.state).toBe('done')
      expect((await wharf('remove', JOBS.done, '--url', app.url)).out).toBe('removed 1 job\n')
      expect(await app.app.job(JOBS.done)).toBeUndefined()
      expect(await wharfJson(0, 'purge', '--state', 'failed', '--before', '2030-01-01', '--url', app.url)).toEqual({ removed: 1 })
      expect(await app.app.job(JOBS.failed)).toBeUndefined()
    } finally {
      await app.close()
    }
  })

  it('a read-only dashboard refuses them (HTTP 403): exit 1', async () => {
    const app = await runningApp({ readOnly: true })
    try {
      const run = await wharf('done', JOBS.later, '--url', app.url)
      expect(run.code).toBe(1)
      expect(run.err).toContain('read-only')
      expect((await app.app.job(JOBS.later))?.state).toBe('pending')
    } finally {
      await app.close()
    }
  })
})

describe('the token, and addresses that are not a dashboard', () => {
  it('without the token: exit 1, saying how to give it; with --token or WHARF_TOKEN: answered', async () => {
    const app = await runningApp({ token: 'sekrit-token' })
    try {
      const refused = await wharf('stats', '--url', app.url)
      expect(refused.code).toBe(1)
      expect(refused.err).toContain('--token or WHARF_TOKEN')
      expect((await wharf('stats', '--url', app.url, '--token', 'wrong')).code).toBe(1)
      expect((await wharf('stats', '--url', app.url, '--token', 'sekrit-token')).code).toBe(0)
      process.env.WHARF_TOKEN = 'sekrit-token'
      try {
        expect((await wharf('stats', '--url', app.url)).code).toBe(0)
      } finally {
        delete process.env.WHARF_TOKEN
      }
    } finally {
      await app.close()
    }
  })

  it('nothing listening: exit 1, naming the address', async () => {
    const server = await listening((_req, res) => res.end())
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    await new Promise((resolve) => server.close(resolve))
    const run = await wharf('jobs', '--url', url)
    expect(run.code).toBe(1)
    expect(run.err).toContain(`cannot reach the Wharf dashboard at ${url} (ECONNREFUSED)`)
  })

  // The README promises --json's refusal as { name, code, message }; these two had no code.
  it('--json: nothing listening, and a server that is not the API, are error documents with a code', async () => {
    const api = await listening((_req, res) => res.end('<html>hello</html>'))
    const closed = await listening((_req, res) => res.end())
    const port = (server: Server): number => (server.address() as { port: number }).port
    const nobody = port(closed)
    await new Promise((resolve) => closed.close(resolve))
    try {
      const unreachable = await wharfJson<{ error: object }>(1, 'jobs', '--url', `http://127.0.0.1:${nobody}`)
      expect(unreachable.error).toMatchObject({ name: 'ConnectionError', code: 'UNREACHABLE', message: expect.stringContaining('cannot reach') })
      const notApi = await wharfJson<{ error: object }>(1, 'stats', '--url', `http://127.0.0.1:${port(api)}`)
      expect(notApi.error).toMatchObject({ name: 'ProtocolError', code: 'NOT_WHARF_API' })
    } finally {
      await new Promise((resolve) => api.close(resolve))
    }
  })

  it('a server that is not the API: exit 1', async () => {
    const server = await listening((_req, res) => res.end('<html>hello</html>'))
    try {
      const run = await wharf('stats', '--url', `http://127.0.0.1:${(server.address() as { port: number }).port}`)
      expect(run.code).toBe(1)
      expect(run.err).toContain("with something other than Wharf's JSON API")
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

// Another service's JSON API (the app's own port, say) answered 200 with JSON: each command read
// the fields it expected and died with a TypeError and a stack trace, or, with --json, printed
// what it got and exited 0.
describe('a server that does not answer as Wharf\'s API', () => {
  it('is refused as not the API, exit 1, for every command, and --json prints the error', async () => {
    const server = await listening((_req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end('{"status":"ok"}')
    })
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      for (const args of [['jobs'], ['show', 'j-1'], ['explain', 'j-1'], ['stats'], ['crons'], ['batches'], ['requeue', 'j-1'], ['remove', 'j-1'], ['purge', '--state', 'done']]) {
        const run = await wharf(...args, '--url', url)
        expect([args[0], run.code, run.out]).toEqual([args[0], 1, ''])
        expect(run.err).toContain(`wharf ${args[0]}: ProtocolError: `)
        expect(run.err).toContain("that is not Wharf's JSON API")
      }
      const json = await wharfJson<{ error: object }>(1, 'jobs', '--url', url)
      expect(json.error).toMatchObject({ name: 'ProtocolError', code: 'NOT_WHARF_API', message: expect.stringContaining('{\\"status\\":\\"ok\\"}') })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  // The connection broke after the answer's headers (a proxy or the app going away mid-answer, or
  // the request's timeout while the body came): reading the body threw outside the handling of a
  // failed connection, and the command died with a stack trace.
  it('an answer cut off part-way: exit 1, ConnectionError, one JSON document with --json', async () => {
    const server = await listening((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"jobs":[', () => req.socket.destroy())
    })
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      const run = await wharf('jobs', '--url', url)
      expect([run.code, run.out]).toEqual([1, ''])
      expect(run.err).toMatch(new RegExp(`^wharf jobs: ConnectionError: GET ${url}/api/jobs\\?limit=50: the answer \\(200\\) was cut off \\(.+\\)`))
      const json = await wharfJson<{ error: object }>(1, 'jobs', '--url', url)
      expect(json.error).toMatchObject({ name: 'ConnectionError', code: 'UNREACHABLE' })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('wharf dashboard --path', () => {
  it('serves the stopped store, prints the URL, and on SIGTERM closes it and exits 0', async () => {
    const path = join(await tempDir(), 'store')
    await cp(template, path, { recursive: true })
    const { url, stop } = await dashboardProcess('--path', path)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(uuids(await wharfJson<Page>(0, 'jobs', '--url', url, '--state', 'failed'))).toEqual([JOBS.failed, JOBS.parent])
    expect(await stop()).toBe(0)
    // Closed cleanly: the store is free again.
    const reopened = await Wharf.open({ path })
    await reopened.close()
  })

  // The store is opened under the CLI's own channels ('root:1000000000', CLI_CHANNELS): /api/stats,
  // /api/channels (and so the Channels view) gave root's capacity as 1,000,000,000, as if the app's.
  it("serves no channel configuration: it is the app's, not stored", async () => {
    const path = join(await tempDir(), 'store')
    await cp(template, path, { recursive: true })
    const { url, stop } = await dashboardProcess('--path', path)
    try {
      const stats = (await (await fetch(`${url}api/stats`)).json()) as { channels: Record<string, unknown>[] }
      const tree = (await (await fetch(`${url}api/channels`)).json()) as { channels: Record<string, unknown>[] }
      expect(tree.channels.map((c) => c.name)).toContain('root')
      for (const channel of [...stats.channels, ...tree.channels]) {
        for (const key of ['capacity', 'sequential', 'throttleSeconds']) expect(Object.keys(channel)).not.toContain(key)
        expect(channel).toMatchObject({ running: 0, paused: false })
      }
      // And `wharf stats --url` against it shows no capacity either.
      expect((await wharf('stats', '--url', url)).out).toMatch(/^root +- +0 /m)
    } finally {
      expect(await stop()).toBe(0)
    }
  })
})

describe('wharf dashboard, refused', () => {
  // The listen error was not a Wharf error, so main() rethrew it as a bug: a stack trace, and no
  // JSON document with --json.
  it('a port already in use: exit 1, naming the address and what to do, and the store closed', async () => {
    const path = join(await tempDir(), 'store')
    await cp(template, path, { recursive: true })
    const busy = await listening((_req, res) => res.end())
    try {
      const port = String((busy.address() as { port: number }).port)
      const run = await wharf('dashboard', '--path', path, '--port', port)
      expect([run.code, run.out]).toEqual([1, ''])
      expect(run.err).toBe(`wharf dashboard: ListenError: cannot listen on 127.0.0.1:${port} (EADDRINUSE): the port is in use; give another --port (0: any free port)\n`)
      const doc = await wharfJson<{ error: { code: string } }>(1, 'dashboard', '--path', path, '--port', port)
      expect(doc.error.code).toBe('EADDRINUSE')
      const reopened = await Wharf.open({ path })
      await reopened.close()
    } finally {
      await new Promise((resolve) => busy.close(resolve))
    }
  })
})

async function listening(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}
