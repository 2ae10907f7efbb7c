// Proves who the dashboard answers: with a token, every /api/ request needs it (Bearer,
// X-Wharf-Token, or the cookie POST /login sets) while the page does not; without one, only
// requests from this machine to a loopback Host are answered (DNS rebinding, a spoofed Host). Refusals are JSON and change nothing.
import { describe, expect, it } from 'vitest'
import { dashboard } from '../../src/dashboard.js'
import { call, post, rawCall, seedJobs, serve, statesOf } from './dashboard-helpers.js'

const TOKEN = 's3cret-token'

async function setup(options: { token?: string } = { token: TOKEN }) {
  const seeded = await seedJobs()
  const { url, port } = await serve(dashboard(seeded.wharf, options))
  return { ...seeded, url, api: `${url}/api`, port }
}

function loginForm(url: string, token: string, headers: Record<string, string> = {}) {
  return call(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ token }).toString() })
}

describe('with a token', () => {
  it('refuses /api/ without the token (401 TOKEN_MISSING) or with a wrong one (401 TOKEN_WRONG)', async () => {
    const { api } = await setup()
    for (const path of ['/jobs', '/stats', '/info', '/events', '/nope']) {
      const missing = await call(`${api}${path}`)
      expect(missing).toMatchObject({ status: 401, body: { error: { name: 'Unauthorized', code: 'TOKEN_MISSING' } } })
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="wharf"')
    }
    const wrong: Record<string, string>[] = [{ authorization: 'Bearer wrong' }, { authorization: 'Bearer' }, { 'x-wharf-token': `${TOKEN}x` }, { cookie: 'wharf_token=wrong' }]
    for (const headers of wrong) {
      expect(await call(`${api}/jobs`, { headers })).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_WRONG' } } })
    }
    // Another scheme's credentials are not the token, even when they spell it.
    expect(await call(`${api}/jobs`, { headers: { authorization: `Basic ${TOKEN}` } })).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_MISSING' } } })
  })

  it("takes the token from the cookie or X-Wharf-Token beside a proxy's Basic credentials", async () => {
    // A browser behind a proxy's Basic authentication sends that Authorization on every request.
    const { api } = await setup()
    const basic = `Basic ${Buffer.from('ops:proxy-password').toString('base64')}`
    const ours: Record<string, string>[] = [{ cookie: `wharf_token=${TOKEN}` }, { 'x-wharf-token': TOKEN }]
    for (const headers of ours) {
      expect(await call(`${api}/info`, { headers: { authorization: basic, ...headers } })).toMatchObject({ status: 200, body: { tokenRequired: true } })
    }
    expect(await call(`${api}/info`, { headers: { authorization: basic, cookie: 'wharf_token=wrong' } })).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_WRONG' } } })
  })

  it('answers with the token as Bearer, as X-Wharf-Token, or as the cookie', async () => {
    const { api } = await setup()
    const right: Record<string, string>[] = [{ authorization: `Bearer ${TOKEN}` }, { 'x-wharf-token': TOKEN }, { cookie: `other=1; wharf_token=${TOKEN}` }]
    for (const headers of right) {
      const { status, body } = await call(`${api}/info`, { headers })
      expect(status).toBe(200)
      expect(body).toMatchObject({ tokenRequired: true, readOnly: false })
    }
  })

  it('refuses an action without the token, and the jobs stay', async () => {
    const { api, wharf, pending, all } = await setup()
    const before = await statesOf(wharf, all)
    expect(await post(`${api}/actions/cancel`, { uuids: [pending[0]!.uuid] })).toMatchObject({ status: 401 })
    expect(await post(`${api}/actions/cancel`, { uuids: [pending[0]!.uuid] }, { 'x-wharf-token': 'nope' })).toMatchObject({ status: 401 })
    expect(await statesOf(wharf, all)).toEqual(before)
    expect(await post(`${api}/actions/cancel`, { uuids: [pending[0]!.uuid] }, { authorization: `Bearer ${TOKEN}` })).toMatchObject({ status: 200 })
    expect((await wharf.job(pending[0]!.uuid))?.state).toBe('cancelled')
  })

  it('POST /login sets an HttpOnly, SameSite=Strict cookie and redirects (303) to the page; the cookie then opens the API', async () => {
    const { url, api } = await setup()
    const { status, headers } = await loginForm(url, TOKEN)
    expect(status).toBe(303)
    expect(headers.get('location')).toBe('/')
    const cookie = headers.get('set-cookie')!
    expect(cookie).toBe(`wharf_token=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`)
    expect((await call(`${api}/jobs`, { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200)
  })

  it('refuses a login with a wrong token, as JSON, or from another site, and sets no cookie', async () => {
    const { url, port } = await setup()
    const wrong = await loginForm(url, 'guess')
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_WRONG' } } })
    const json = await post(`${url}/login`, { token: TOKEN })
    expect(json).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } })
    const crossSite = await rawCall(port, { method: 'POST', path: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' }, body: `token=${TOKEN}` })
    expect(crossSite).toMatchObject({ status: 403, body: { error: { code: 'CROSS_ORIGIN' } } })
    expect(await call(`${url}/login`)).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } })
    for (const answer of [wrong, json]) expect(answer.headers.get('set-cookie')).toBeNull()
    expect(crossSite.headers['set-cookie']).toBeUndefined()
  })

  it('serves the page without the token, and answers any Host (the token guards the API)', async () => {
    const { url, port } = await setup()
    expect((await call(`${url}/`)).status).toBe(200)
    const remote = await rawCall(port, { path: '/api/stats', headers: { host: 'jobs.example.com', authorization: `Bearer ${TOKEN}` } })
    expect(remote.status).toBe(200)
  })
})

describe('without a token', () => {
  it('refuses a Host that is not a loopback name (403 HOST_NOT_LOOPBACK), for the API and the page, and changes nothing', async () => {
    const { port, wharf, pending, all } = await setup({})
    const before = await statesOf(wharf, all)
    for (const host of ['evil.example', `evil.example:${port}`, '10.0.0.1', '127.0.0.1.evil.example', 'localhost.evil.example']) {
      for (const [method, path] of [['GET', '/api/jobs'], ['GET', '/'], ['POST', '/api/actions/cancel']] as const) {
        const answer = await rawCall(port, { method, path, headers: { host, 'content-type': 'application/json' }, body: method === 'POST' ? JSON.stringify({ uuids: [pending[0]!.uuid] }) : undefined })
        expect(answer.status, `${method} ${path} Host ${host}`).toBe(403)
        expect(answer.body.error).toMatchObject({ name: 'Forbidden', code: 'HOST_NOT_LOOPBACK' })
      }
    }
    expect(await statesOf(wharf, all)).toEqual(before)
  })

  it('refuses a request from another machine (403 PEER_NOT_LOOPBACK) even when it names a loopback Host, and changes nothing', async () => {
    // Served on 0.0.0.0 without a token, anyone on the network could write `Host: localhost`:
    // the Host check stops a browser's DNS rebinding, not a client that sets its own headers.
    const seeded = await seedJobs()
    const handler = dashboard(seeded.wharf, {})
    const { port } = await serve((req, res) => {
      Object.defineProperty(req.socket, 'remoteAddress', { value: '192.0.2.7', configurable: true })
      handler(req, res)
    })
    const before = await statesOf(seeded.wharf, seeded.all)
    for (const [method, path] of [['GET', '/api/jobs'], ['POST', '/api/actions/cancel']] as const) {
      const answer = await rawCall(port, { method, path, headers: { host: `localhost:${port}`, 'content-type': 'application/json' }, body: method === 'POST' ? JSON.stringify({ uuids: [seeded.pending[0]!.uuid] }) : undefined })
      expect(answer.status, `${method} ${path}`).toBe(403)
      expect(answer.body.error).toMatchObject({ name: 'Forbidden', code: 'PEER_NOT_LOOPBACK' })
    }
    expect(await statesOf(seeded.wharf, seeded.all)).toEqual(before)
  })

  it('answers loopback names and addresses', async () => {
    const { port } = await setup({})
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`, `127.1.2.3:${port}`, 'LOCALHOST']) {
      expect((await rawCall(port, { path: '/api/info', headers: { host } })).status, host).toBe(200)
    }
  })

  it('answers POST /login with 400 NO_TOKEN: there is nothing to log in to', async () => {
    const { url } = await setup({})
    const answer = await loginForm(url, 'anything')
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'NO_TOKEN' } } })
    expect(answer.headers.get('set-cookie')).toBeNull()
  })
})
