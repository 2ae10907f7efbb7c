// The README's "Dashboard and HTTP API" stays true to the routes: each of its curl examples
// reaches a route with the method it uses, and every API route has an example.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dashboard } from '../../src/dashboard.js'
import { apiRoutes } from '../../src/dashboard/api.js'
import { call, openWharf, serve } from './dashboard-helpers.js'

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
const section = readme.slice(readme.indexOf('## Dashboard and HTTP API'), readme.indexOf('## Durability'))
const shell = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
const curls = shell
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((line) => line.startsWith('curl '))
  .map((line) => {
    const path = /http:\/\/127\.0\.0\.1:7777(\/[^\s'"]*)/.exec(line)![1]!
    const data = /-d '([^']*)'|-d "([^"]*)"/.exec(line)
    return { line, path, post: data !== null || line.includes('-X POST'), body: data?.[1] ?? data?.[2] }
  })

describe('README Dashboard and HTTP API', () => {
  it('has a curl example for every API route', () => {
    const documented = new Set(curls.map((c) => `${c.post ? 'POST' : 'GET'} ${c.path.split('?')[0]!.replace(/\/01[0-9A-Z]+/, '/:uuid')}`))
    expect(apiRoutes().filter((route) => !documented.has(route))).toEqual([])
  })

  it('each example reaches a route with its method and an acceptable request', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf))
    // Refusals of the request itself; an unknown job (the examples' uuids) is fine.
    const refusals = ['UNKNOWN_ROUTE', 'METHOD_NOT_ALLOWED', 'UNSUPPORTED_MEDIA_TYPE', 'INVALID_PROPERTY', 'BAD_JSON']
    expect(curls.length).toBeGreaterThan(15)
    for (const c of curls) {
      if (c.path === '/api/events') {
        const stream = new AbortController()
        const res = await fetch(`${url}${c.path}`, { signal: stream.signal })
        expect(res.headers.get('content-type'), c.line).toBe('text/event-stream; charset=utf-8')
        stream.abort()
        continue
      }
      const type = c.body?.startsWith('{') === true ? 'application/json' : 'application/x-www-form-urlencoded'
      const answer = await call(`${url}${c.path}`, c.post ? { method: 'POST', headers: { 'content-type': type }, body: c.body } : {})
      const code: unknown = typeof answer.body === 'object' ? answer.body.error?.code : undefined
      expect(refusals.includes(code as string), `${c.line} -> ${answer.status} ${String(code)}`).toBe(false)
    }
  })
})
