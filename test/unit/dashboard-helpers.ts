// Shared by the dashboard's HTTP tests (not a test file itself): an in-memory Wharf with jobs in
// every interesting state, a real node:http server on port 0 around a handler, and requests made
// with fetch — or with node:http where a test needs headers fetch will not send as given (Host).

import { createServer, request, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http'
import { afterEach } from 'vitest'
import { FailedJobError, Wharf, type JobView } from '../../src/index.js'
import { FakeClock } from '../../src/testing.js'
import type { JobContext } from '../../src/index.js'

const wharfs: Wharf[] = []
const servers: Server[] = []

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  for (const wharf of wharfs.splice(0)) await wharf.close()
})

/** A Wharf (memory, FakeClock) with the models the tests use; closed after the test. */
export async function openWharf() {
  const wharf = await Wharf.open({ channels: 'root:2,root.mail:1,root.mail.bulk:1,root.export:1', clock: new FakeClock() })
  wharfs.push(wharf)
  const partner = wharf.model('res.partner', {
    sync(n: number) {
      return `synced ${n}`
    },
    boom() {
      throw new FailedJobError('partner is broken')
    },
    openPartner(this: JobContext, kwargs: { tab: string }) {
      return { url: `/partners/${this.records.join(',')}?tab=${kwargs.tab}`, label: `Partner ${this.records.join(', ')}` }
    },
  })
  const mail = wharf.model('mail.server', {
    deliver(to: string) {
      return `delivered to ${to}`
    },
  })
  wharf.configure('res.partner.sync', { relatedAction: { funcName: 'openPartner', kwargs: { tab: 'jobs' } }, retryPattern: { 1: 10, 3: [20, 40] } })
  wharf.configure('mail.server.deliver', { channel: 'root.mail', timeoutMs: 5000 })
  return { wharf, partner, mail }
}

/**
 * Jobs in known states: 3 done syncs, 1 failed boom, a graph (done → pending after the second
 * part of the run stops), then 3 pending mails. Returned in creation order.
 */
export async function seedJobs() {
  const opened = await openWharf()
  const { wharf, partner, mail } = opened
  const done: JobView[] = []
  for (let i = 1; i <= 3; i++) done.push(await partner.browse([i]).withDelay().sync(i))
  const failed = await partner.browse([9]).withDelay().boom()
  await wharf.start()
  await wharf.drain()
  await wharf.stop()
  const pending: JobView[] = []
  for (const to of ['a@x', 'b@x', 'c@x']) pending.push(await mail.withDelay().deliver(to))
  const first = partner.browse([5]).delayable().sync(5)
  const second = partner.browse([6]).delayable().sync(6)
  await first.onDone(second).delay()
  const graph = [first.job!, second.job!]
  return { ...opened, done, failed, pending, graph, all: [...done, failed, ...pending, ...graph] }
}

/** Serve `handler` on 127.0.0.1, a free port; closed after the test. Resolves with its URL. */
export async function serve(handler: RequestListener): Promise<{ url: string; port: number; server: Server }> {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return { url: `http://127.0.0.1:${port}`, port, server }
}

export interface Answer {
  status: number
  headers: Headers
  /** Parsed JSON when the answer is JSON, else the text. */
  body: any // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual', ...init })
  const text = await res.text()
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json')
  return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : text }
}

/** A POST with a JSON body, as the page sends its actions. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return call(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** A request through node:http: every header exactly as given, Host included. */
export function rawCall(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers, setHost: !(options.headers ?? {}).host }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        const json = (res.headers['content-type'] ?? '').startsWith('application/json')
        resolve({ status: res.statusCode!, headers: res.headers, body: json ? JSON.parse(text) : text })
      })
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** The states of these jobs now, by uuid (what a refused request must leave as it was). */
export async function statesOf(wharf: Wharf, jobs: readonly JobView[]): Promise<Record<string, string | undefined>> {
  const states: Record<string, string | undefined> = {}
  for (const job of jobs) states[job.uuid] = (await wharf.job(job.uuid))?.state
  return states
}
