// Proves where the dashboard can live: at a server's root, under a base path in a plain
// node:http server (other paths go to `next`), under a framework's mount (Express's req.baseUrl,
// Connect's req.originalUrl), and on its own server (wharf.serveDashboard, closed with the
// Wharf); that it serves the page and its assets with a strict CSP; and that bad options throw.
import { get, type IncomingMessage, type ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { dashboard, serveDashboard } from '../../src/dashboard.js'
import { InvalidPropertyError, WharfClosedError } from '../../src/index.js'
import { APP_CSS } from '../../src/dashboard/page/app-css.js'
import { APP_JS } from '../../src/dashboard/page/app-js.js'
import { failure } from './helpers.js'
import { call, openWharf, post, serve } from './dashboard-helpers.js'

describe('the page and its assets', () => {
  it('serves one document for every page path, with a CSP default-src \'self\' and nosniff', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf))
    for (const path of ['/', '/job/01ABC', '/channels', '/functions', '/crons', '/batches']) {
      const { status, headers, body } = await call(`${url}${path}`)
      expect(status, path).toBe(200)
      expect(headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(headers.get('content-security-policy')).toBe("default-src 'self'")
      expect(headers.get('x-content-type-options')).toBe('nosniff')
      expect(headers.get('access-control-allow-origin')).toBeNull()
      expect(body).toContain('<base href="/">')
      expect(body).not.toMatch(/<script(?![^>]*\bsrc=)/) // no inline script
    }
  })

  it('serves /assets/app.js and /assets/app.css from the page modules; an unknown asset is a 404', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf))
    expect(await call(`${url}/assets/app.js`)).toMatchObject({ status: 200, body: APP_JS })
    expect((await call(`${url}/assets/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await call(`${url}/assets/app.css`)).toMatchObject({ status: 200, body: APP_CSS })
    expect(await call(`${url}/assets/evil.js`)).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_ASSET' } } })
    expect(await post(`${url}/channels`, {})).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } })
  })

  it('sends the assets gzipped (~15 kB for both) to a client that takes gzip, plain to one that does not', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf))
    const raw = (path: string, acceptEncoding: string | null) =>
      new Promise<{ encoding: string | undefined; vary: string | undefined; bytes: Buffer }>((resolve, reject) => {
        get(`${url}${path}`, { headers: acceptEncoding === null ? {} : { 'accept-encoding': acceptEncoding } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], vary: res.headers.vary, bytes: Buffer.concat(chunks) }))
        }).on('error', reject)
      })
    const js = await raw('/assets/app.js', 'gzip, deflate, br')
    const css = await raw('/assets/app.css', 'br;q=1, gzip;q=0.5')
    expect([js.encoding, css.encoding, js.vary]).toEqual(['gzip', 'gzip', 'accept-encoding'])
    expect(gunzipSync(js.bytes).toString('utf8')).toBe(APP_JS)
    expect(gunzipSync(css.bytes).toString('utf8')).toBe(APP_CSS)
    expect(js.bytes.length + css.bytes.length).toBeLessThan(16 * 1024)
    for (const refused of [null, 'identity', 'gzip;q=0', 'br']) {
      const plain = await raw('/assets/app.js', refused)
      expect(plain.encoding, String(refused)).toBeUndefined()
      expect(plain.bytes.toString('utf8')).toBe(APP_JS)
    }
  })

  it('tells the page it is read-only', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf, { readOnly: true }))
    expect((await call(`${url}/`)).body).toContain('data-read-only="true"')
  })
})

describe('mounted under a base path', () => {
  it('in a plain node:http server: answers everything under /ops/jobs, hands other paths to next', async () => {
    const { wharf, partner } = await openWharf()
    const job = await partner.browse([3]).withDelay().sync(3)
    const handler = dashboard(wharf, { basePath: '/ops/jobs', token: 'tok' })
    const { url } = await serve((req, res) => handler(req, res, () => res.end('the app')))
    const auth = { authorization: 'Bearer tok' }
    expect((await call(`${url}/ops/jobs/api/jobs`, { headers: auth })).body.jobs).toHaveLength(1)
    expect((await call(`${url}/ops/jobs/api/jobs/${job.uuid}`, { headers: auth })).body.job.uuid).toBe(job.uuid)
    expect(await post(`${url}/ops/jobs/api/actions/cancel`, { uuids: [job.uuid] }, auth)).toMatchObject({ status: 200 })
    for (const path of ['/ops/jobs', '/ops/jobs/', '/ops/jobs/channels']) {
      expect((await call(`${url}${path}`)).body, path).toContain('<base href="/ops/jobs/">')
    }
    expect((await call(`${url}/ops/jobs/assets/app.css`)).body).toBe(APP_CSS)
    for (const path of ['/', '/ops', '/ops/jobsx', '/api/jobs']) expect((await call(`${url}${path}`)).body, path).toBe('the app')
    const login = await call(`${url}/ops/jobs/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=tok' })
    expect(login.headers.get('location')).toBe('/ops/jobs/')
    expect(login.headers.get('set-cookie')).toBe('wharf_token=tok; Path=/ops/jobs/; HttpOnly; SameSite=Strict')
  })

  it('without next, answers a path outside its base path with a JSON 404', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf, { basePath: '/ops/' }))
    expect(await call(`${url}/elsewhere`)).toMatchObject({ status: 404, body: { error: { code: 'NOT_MOUNTED_HERE' } } })
    expect((await call(`${url}/ops/api/crons`)).body).toEqual({ crons: [] })
  })

  it("under a framework's mount: Express's req.baseUrl, Connect's req.originalUrl", async () => {
    const { wharf } = await openWharf()
    const handler = dashboard(wharf)
    // What Express's app.use('/admin/queue', handler) and Connect's do to the request.
    const { url } = await serve((req: IncomingMessage & { baseUrl?: string; originalUrl?: string }, res: ServerResponse) => {
      const express = req.url!.startsWith('/admin/queue')
      const mount = express ? '/admin/queue' : '/connect'
      req.originalUrl = req.url
      if (express) req.baseUrl = mount
      req.url = req.url!.slice(mount.length) || '/'
      handler(req, res)
    })
    expect((await call(`${url}/admin/queue/job/01ABC`)).body).toContain('<base href="/admin/queue/">')
    expect((await call(`${url}/admin/queue/api/stats`)).status).toBe(200)
    expect((await call(`${url}/connect/functions`)).body).toContain('<base href="/connect/">')
    expect((await call(`${url}/connect`)).body).toContain('<base href="/connect/">')
    expect((await call(`${url}/connect/api/functions`)).body.functions).toHaveLength(4)
  })
})

describe('wharf.serveDashboard()', () => {
  it('serves on 127.0.0.1 (port 0: a free one), and closes with close()', async () => {
    const { wharf } = await openWharf()
    const server = await wharf.serveDashboard({ port: 0 })
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`)
    expect((await call(`${server.url}api/stats`)).status).toBe(200)
    await server.close()
    await server.close() // twice is fine
    await expect(fetch(`${server.url}api/stats`)).rejects.toThrow()
    expect((await wharf.jobs()).length).toBe(0) // the Wharf is still open
  })

  it('listens on another interface with a token, and on loopback names and addresses without one', async () => {
    const { wharf } = await openWharf()
    for (const options of [{ host: '0.0.0.0', token: 'tok' }, { host: 'localhost' }, { host: '127.0.0.2' }, { host: '::1' }]) {
      const server = await wharf.serveDashboard({ port: 0, ...options })
      await server.close()
    }
  })

  it('is closed, its event streams ended, when the Wharf closes', async () => {
    const { wharf } = await openWharf()
    const server = await serveDashboard(wharf, { port: 0, token: 'tok', readOnly: true })
    expect((await call(`${server.url}api/info`, { headers: { 'x-wharf-token': 'tok' } })).body).toMatchObject({ readOnly: true, tokenRequired: true })
    const events = await fetch(`${server.url}api/events`, { headers: { 'x-wharf-token': 'tok' } })
    const reader = events.body!.getReader()
    await reader.read()
    await wharf.close()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    await expect(fetch(`${server.url}api/stats`)).rejects.toThrow()
    expect(await failure(() => wharf.serveDashboard({ port: 0 }))).toBeInstanceOf(WharfClosedError)
  })

  it('refuses bad options by name, before listening', async () => {
    const { wharf } = await openWharf()
    for (const [options, message] of [
      [{ prot: 1 }, 'unknown option "prot"'],
      [{ port: -1 }, 'port must be an integer from 0 to 65535, got -1'],
      [{ port: '80' }, 'got "80"'],
      [{ host: '' }, 'host must be a non-empty string'],
      [{ host: '0.0.0.0' }, 'host "0.0.0.0" serves other machines, which a dashboard without a token does not answer: set a token'],
      [{ host: '::', readOnly: true }, 'host "::" serves other machines'],
      [{ token: '' }, 'token must be 1 to 4096 printable ASCII characters'],
      [{ token: 'a b' }, 'got "a b"'],
      [{ readOnly: 'yes' }, 'readOnly must be a boolean'],
      [{ basePath: '/x' }, 'unknown option "basePath"'],
    ] as const) {
      const error = await failure(() => wharf.serveDashboard(options as never))
      expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message).toContain(message)
    }
    for (const [options, message] of [
      [{ basePath: 'ops' }, "basePath must be a URL path such as '/ops/jobs', got \"ops\""],
      [{ basePath: '/a b' }, 'got "/a b"'],
      [{ readonly: true }, 'unknown option "readonly"'],
    ] as const) {
      expect(() => dashboard(wharf, options as never)).toThrow(message)
    }
  })
})
