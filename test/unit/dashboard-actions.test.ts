// Proves the API's actions over a real node:http server: requeue, cancel and set done on many
// uuids with a result each (one refusal answers 409 and stops nothing else), pause and resume,
// remove (all or nothing: one refusal answers 409 for every uuid) and purge;
// and that every refused action (wrong method, content type, JSON, body, origin, read-only, too
// large) answers its JSON 4xx and leaves every job and channel as it was.
import { describe, expect, it } from 'vitest'
import { dashboard } from '../../src/dashboard.js'
import { call, post, rawCall, seedJobs, serve, statesOf } from './dashboard-helpers.js'

async function setup(options: { readOnly?: boolean } = {}) {
  const seeded = await seedJobs()
  const { url, port } = await serve(dashboard(seeded.wharf, options))
  return { ...seeded, api: `${url}/api`, port }
}

describe('job actions', () => {
  it('cancels many jobs, answering a result per uuid; an unknown one is refused (409) and the others still act', async () => {
    const { api, wharf, pending, all } = await setup()
    const before = await statesOf(wharf, all)
    const uuids = [pending[0]!.uuid, '01NOSUCHJOB', pending[2]!.uuid]
    const { status, body } = await post(`${api}/actions/cancel`, { uuids })
    expect(status).toBe(409)
    expect(body.results).toEqual([
      { uuid: pending[0]!.uuid, ok: true },
      { uuid: '01NOSUCHJOB', ok: false, error: { name: 'UnknownJobError', code: 'UNKNOWN_JOB', message: 'no job with uuid "01NOSUCHJOB"' } },
      { uuid: pending[2]!.uuid, ok: true },
    ])
    expect(await statesOf(wharf, all)).toEqual({ ...before, [pending[0]!.uuid]: 'cancelled', [pending[2]!.uuid]: 'cancelled' })
  })

  it('acts once on a uuid given twice, and answers each of its places with that result (200), not a refusal of the second', async () => {
    const { api, wharf, failed, pending } = await setup()
    const uuids = [pending[0]!.uuid, failed.uuid, pending[0]!.uuid]
    const { status, body } = await post(`${api}/actions/cancel`, { uuids })
    expect([status, body.results]).toEqual([200, uuids.map((uuid) => ({ uuid, ok: true }))])
    expect(await statesOf(wharf, [pending[0]!, failed])).toEqual({ [pending[0]!.uuid]: 'cancelled', [failed.uuid]: 'cancelled' })
    const again = await post(`${api}/actions/requeue`, { uuids: [pending[1]!.uuid, pending[1]!.uuid] })
    expect(again.status).toBe(409) // refused for its state, in both places: still one result each
    expect(again.body.results.map((r: { ok: boolean; error?: { code: string } }) => [r.ok, r.error?.code])).toEqual([[false, 'JOB_STATE_CONFLICT'], [false, 'JOB_STATE_CONFLICT']])
  })

  it('requeues a failed job and sets a pending one done, answering 200 when every uuid acted', async () => {
    const { api, wharf, failed, pending } = await setup()
    expect(await post(`${api}/actions/requeue`, { uuids: [failed.uuid] })).toMatchObject({ status: 200, body: { results: [{ uuid: failed.uuid, ok: true }] } })
    expect(await post(`${api}/actions/done`, { uuids: [pending[1]!.uuid] })).toMatchObject({ status: 200 })
    expect(await statesOf(wharf, [failed, pending[1]!])).toEqual({ [failed.uuid]: 'pending', [pending[1]!.uuid]: 'done' })
  })

  it('leaves a job the action does not apply to as it is, and says so: cancel of a done job, requeue of a pending or waiting one, set done of a done one', async () => {
    const { api, wharf, done, pending, graph, all } = await setup()
    await wharf.cancel(pending[2]!.uuid)
    const before = await statesOf(wharf, all)
    const cases = [
      ['cancel', done[0]!.uuid, 'done', 'cancel'],
      ['cancel', pending[2]!.uuid, 'cancelled', 'cancel'],
      ['requeue', pending[0]!.uuid, 'pending', 'requeue'],
      ['requeue', graph[1]!.uuid, 'wait dependencies', 'requeue'],
      ['done', done[1]!.uuid, 'done', 'set done'],
    ] as const
    for (const [action, uuid, state, words] of cases) {
      const { status, body } = await post(`${api}/actions/${action}`, { uuids: [uuid] })
      expect(status, `${action} ${state}`).toBe(409)
      expect(body.results).toEqual([{ uuid, ok: false, error: { name: 'JobStateConflictError', code: 'JOB_STATE_CONFLICT', message: expect.stringContaining(`job ${uuid} is ${state}: ${words} acts only on jobs that are`) } }])
      expect(body.results[0].error.message).toContain('it was left as it is')
    }
    expect(await statesOf(wharf, all)).toEqual(before)
    // A done job's record is untouched: cancelling it would have stamped cancelledAt.
    expect((await wharf.job(done[0]!.uuid))!.cancelledAt).toBeNull()
  })

  it('answers 503 WharfClosedError once the Wharf is closed, as every route does, not a 409 of refusals', async () => {
    const { api, wharf, pending, failed } = await setup()
    await wharf.close()
    for (const [action, uuid] of [['cancel', pending[0]!.uuid], ['requeue', failed.uuid], ['done', pending[1]!.uuid]] as const) {
      expect(await post(`${api}/actions/${action}`, { uuids: [uuid] })).toMatchObject({ status: 503, body: { error: { name: 'WharfClosedError', code: 'WHARF_CLOSED' } } })
    }
  })

  it('pauses and resumes a channel; an unknown channel is a 404, a malformed one a 400', async () => {
    const { api, wharf } = await setup()
    const paused = (): boolean | undefined => wharf.stats().channels.find((c) => c.name === 'root.mail')?.paused
    expect(await post(`${api}/channels/pause`, { channel: 'root.mail' })).toMatchObject({ status: 200, body: { ok: true } })
    expect(paused()).toBe(true)
    expect(await post(`${api}/channels/resume`, { channel: 'mail' })).toMatchObject({ status: 200, body: { ok: true } })
    expect(paused()).toBe(false)
    expect(await post(`${api}/channels/pause`, { channel: 'root.nowhere' })).toMatchObject({ status: 404, body: { error: { name: 'UnknownChannelError' } } })
    expect(await post(`${api}/channels/pause`, { channel: 'root.a b' })).toMatchObject({ status: 400, body: { error: { name: 'InvalidChannelConfigError' } } })
    expect(await post(`${api}/channels/pause`, { name: 'root.mail' })).toMatchObject({ status: 400, body: { error: { name: 'InvalidPropertyError' } } })
    expect(wharf.stats().channels.map((c) => c.paused)).toEqual([false, false, false, false])
  })
})

describe('remove and purge', () => {
  it('removes finished and failed jobs (200, removed and a result each); a live job refuses the whole call (409, nothing removed)', async () => {
    const { api, wharf, done, failed, pending, all } = await setup()
    const before = await statesOf(wharf, all)
    const refused = await post(`${api}/actions/remove`, { uuids: [done[0]!.uuid, pending[0]!.uuid] })
    expect(refused.status).toBe(409)
    expect(refused.body.removed).toBe(0)
    expect(refused.body.error).toMatchObject({ name: 'JobStateConflictError', code: 'JOB_STATE_CONFLICT' })
    expect(refused.body.error.message).toContain(`job ${pending[0]!.uuid}: it is pending`)
    expect(refused.body.results).toEqual([done[0]!, pending[0]!].map((j) => ({ uuid: j.uuid, ok: false, error: refused.body.error })))
    expect((await post(`${api}/actions/remove`, { uuids: ['01NOSUCHJOB'] })).body.error).toMatchObject({ name: 'UnknownJobError' })
    expect(await statesOf(wharf, all)).toEqual(before)

    const removed = await post(`${api}/actions/remove`, { uuids: [done[0]!.uuid, failed.uuid] })
    expect(removed).toMatchObject({ status: 200, body: { removed: 2, results: [{ uuid: done[0]!.uuid, ok: true }, { uuid: failed.uuid, ok: true }] } })
    expect(await statesOf(wharf, all)).toEqual({ ...before, [done[0]!.uuid]: undefined, [failed.uuid]: undefined })
  })

  it('refuses the graph rule with 409 InvalidGraphError', async () => {
    const { api, wharf, partner } = await setup()
    const [parent, child] = [partner.browse([1]).delayable().boom(), partner.browse([2]).delayable().sync(2)]
    await parent.onDone(child).delay()
    await wharf.start()
    await wharf.idle()
    const answer = await post(`${api}/actions/remove`, { uuids: [parent.job!.uuid] })
    expect(answer).toMatchObject({ status: 409, body: { removed: 0, error: { name: 'InvalidGraphError', code: 'INVALID_GRAPH' } } })
    expect((await wharf.job(parent.job!.uuid))?.state).toBe('failed')
  })

  it('purges a state (before: ISO 8601), answering how many it removed; bad bodies are 400', async () => {
    const { api, wharf, done, all } = await setup()
    expect(await post(`${api}/actions/purge`, { state: 'done', before: '2000-01-01' })).toMatchObject({ status: 200, body: { removed: 0 } })
    expect(await post(`${api}/actions/purge`, { state: 'done', before: '2999-01-01T00:00:00Z' })).toMatchObject({ status: 200, body: { removed: 3 } })
    expect(await post(`${api}/actions/purge`, { state: 'failed' })).toMatchObject({ status: 200, body: { removed: 1 } })
    const states = await statesOf(wharf, all)
    for (const body of [{ state: 'pending' }, { state: 'done', before: 'yesterday' }, { state: 'done', before: '2026-05-01T12:00' }, { state: 'done', before: 1 }, { state: 'done', all: true }, {}]) {
      const answer = await post(`${api}/actions/purge`, body)
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(answer.body.error.code).toBe('INVALID_PROPERTY')
    }
    expect(await statesOf(wharf, all)).toEqual(states)
    expect(done.map((j) => states[j.uuid])).toEqual([undefined, undefined, undefined])
  })

  // Date rolls a day past the end of its month into the next: "2026-02-30" purged up to March 2.
  it('refuses a before that names no day of the calendar (400), rather than purging to a later one', async () => {
    const { api, wharf, all } = await setup()
    const states = await statesOf(wharf, all)
    for (const before of ['2026-02-30', '2026-02-29', '2026-04-31T10:00:00Z', '2026-06-31T00:00:00+02:00']) {
      const answer = await post(`${api}/actions/purge`, { state: 'done', before })
      expect(answer.status, before).toBe(400)
      expect(answer.body.error.message).toContain(`got "${before}"`)
    }
    expect(await statesOf(wharf, all)).toEqual(states)
    expect(await post(`${api}/actions/purge`, { state: 'done', before: '2028-02-29' })).toMatchObject({ status: 200 }) // a leap day
  })
})

describe('refused actions change nothing', () => {
  const cases: [string, (ctx: { api: string; port: number; uuid: string }) => Promise<{ status: number; body: any; headers?: unknown }>, number, string][] = [
    ['a GET on an action route', ({ api }) => call(`${api}/actions/cancel`), 405, 'METHOD_NOT_ALLOWED'],
    ['a form-encoded body', ({ api, uuid }) => call(`${api}/actions/cancel`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `uuids=${uuid}` }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['text/plain (a cross-site form can send it)', ({ api, uuid }) => call(`${api}/actions/cancel`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ uuids: [uuid] }) }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['no content type', ({ port, uuid }) => rawCall(port, { method: 'POST', path: '/api/actions/cancel', body: JSON.stringify({ uuids: [uuid] }) }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['bad JSON', ({ api }) => call(`${api}/actions/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"uuids": [' }), 400, 'BAD_JSON'],
    ['a body that is not an object', ({ api, uuid }) => post(`${api}/actions/cancel`, [uuid]), 400, 'INVALID_PROPERTY'],
    ['an unknown body key', ({ api, uuid }) => post(`${api}/actions/cancel`, { uuids: [uuid], force: true }), 400, 'INVALID_PROPERTY'],
    ['no uuids', ({ api }) => post(`${api}/actions/cancel`, { uuids: [] }), 400, 'INVALID_PROPERTY'],
    ['too many uuids', ({ api, uuid }) => post(`${api}/actions/cancel`, { uuids: Array(1001).fill(uuid) }), 400, 'INVALID_PROPERTY'],
    ['one malformed uuid among good ones', ({ api, uuid }) => post(`${api}/actions/cancel`, { uuids: [uuid, 'a b'] }), 400, 'INVALID_PROPERTY'],
    ['a uuid that is not a string', ({ api, uuid }) => post(`${api}/actions/cancel`, { uuids: [uuid, 42] }), 400, 'INVALID_PROPERTY'],
    ['a query key', ({ api, uuid }) => post(`${api}/actions/cancel?all=1`, { uuids: [uuid] }), 400, 'INVALID_PROPERTY'],
    ['a body over 1 MB', ({ api, uuid }) => post(`${api}/actions/cancel`, { uuids: [uuid], pad: 'x'.repeat(1024 * 1024) }), 413, 'BODY_TOO_LARGE'],
    ['an Origin of another site', ({ port, uuid }) => rawCall(port, { method: 'POST', path: '/api/actions/cancel', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: JSON.stringify({ uuids: [uuid] }) }), 403, 'CROSS_ORIGIN'],
    ['an Origin of another port', ({ port, uuid }) => rawCall(port, { method: 'POST', path: '/api/actions/cancel', headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port + 1}` }, body: JSON.stringify({ uuids: [uuid] }) }), 403, 'CROSS_ORIGIN'],
    ['Origin null', ({ port, uuid }) => rawCall(port, { method: 'POST', path: '/api/actions/cancel', headers: { 'content-type': 'application/json', origin: 'null' }, body: JSON.stringify({ uuids: [uuid] }) }), 403, 'CROSS_ORIGIN'],
    ['Sec-Fetch-Site: cross-site', ({ port, uuid }) => rawCall(port, { method: 'POST', path: '/api/actions/cancel', headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, body: JSON.stringify({ uuids: [uuid] }) }), 403, 'CROSS_SITE'],
  ]

  it.each(cases)('%s', async (_name, request, status, code) => {
    const { api, port, wharf, pending, all } = await setup()
    const before = await statesOf(wharf, all)
    const answer = await request({ api, port, uuid: pending[0]!.uuid })
    expect(answer.status).toBe(status)
    expect(answer.body.error.code).toBe(code)
    expect(answer.body.error.message).toEqual(expect.any(String))
    expect(await statesOf(wharf, all)).toEqual(before)
  })

  it('says what is wrong with a body as a body, not as options', async () => {
    const { api, pending } = await setup()
    const uuid = pending[0]!.uuid
    expect((await post(`${api}/actions/cancel`, [uuid])).body.error.message).toBe(`POST /api/actions/cancel: the body must be a JSON object, got ["${uuid}"]`)
    expect((await post(`${api}/actions/cancel`, { uuids: [uuid], force: true })).body.error.message).toBe('POST /api/actions/cancel: unknown key "force" in the body; keys: uuids')
    expect((await post(`${api}/channels/pause`, { name: 'root' })).body.error.message).toBe('POST /api/channels/pause: unknown key "name" in the body; keys: channel')
  })

  it('a GET on an action route says which method to use (Allow: POST)', async () => {
    const { api } = await setup()
    const { headers, body } = await call(`${api}/channels/pause`)
    expect(headers.get('allow')).toBe('POST')
    expect(body.error).toMatchObject({ name: 'MethodNotAllowed', code: 'METHOD_NOT_ALLOWED' })
  })

  it('an Origin equal to the Host is accepted', async () => {
    const { port, wharf, pending } = await setup()
    const answer = await rawCall(port, { method: 'POST', path: '/api/actions/cancel', headers: { 'content-type': 'application/json; charset=utf-8', origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' }, body: JSON.stringify({ uuids: [pending[0]!.uuid] }) })
    expect(answer.status).toBe(200)
    expect((await wharf.job(pending[0]!.uuid))?.state).toBe('cancelled')
  })

  it('read-only: every action answers 403 READ_ONLY, jobs and channels stay; reads still answer', async () => {
    const { api, wharf, pending, failed, all } = await setup({ readOnly: true })
    const before = await statesOf(wharf, all)
    for (const [path, body] of [
      ['actions/cancel', { uuids: [pending[0]!.uuid] }],
      ['actions/requeue', { uuids: [failed.uuid] }],
      ['actions/done', { uuids: [pending[1]!.uuid] }],
      ['channels/pause', { channel: 'root.mail' }],
      ['actions/remove', { uuids: [failed.uuid] }],
      ['actions/purge', { state: 'failed' }],
    ] as const) {
      expect(await post(`${api}/${path}`, body)).toMatchObject({ status: 403, body: { error: { name: 'Forbidden', code: 'READ_ONLY' } } })
    }
    expect(await statesOf(wharf, all)).toEqual(before)
    expect(wharf.stats().channels.some((c) => c.paused)).toBe(false)
    expect((await call(`${api}/info`)).body).toMatchObject({ readOnly: true })
    expect((await call(`${api}/jobs`)).status).toBe(200)
  })
})
