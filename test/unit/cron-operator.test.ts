// Proves the operator surface of crons: `wharf crons` lists them from a store (--path) and from a
// running app (--url), as a table and as the API's JSON; the dashboard API answers GET /api/crons
// with wharf.crons() and pauses / resumes one (POST /api/crons/pause|resume), refusing an unknown
// name (404) and a bad body (400).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FakeClock, Wharf } from '../../src/index.js'
import { tempDirs, wharf, wharfJson } from './cli-helpers.js'
import { call, post } from './dashboard-helpers.js'

const tempDir = tempDirs('wharf-cron-operator-')
const START_MS = Date.parse('2026-03-01T12:00:00Z')

async function openApp(path: string): Promise<Wharf> {
  const app = await Wharf.open({ path, clock: new FakeClock(START_MS) })
  const reports = app.model('reports', { async build(_what: string) {} })
  await app.cron('nightly', '0 2 * * *', reports.delayable().build('nightly'), { tz: 'Europe/Brussels' })
  await app.cron('weekly', '0 6 * * 1', reports.delayable().build('weekly'), { tz: 'UTC', catchUp: 'none' })
  return app
}

let store: string
beforeAll(async () => {
  store = join(await tempDir(), 'store')
  const app = await openApp(store)
  await app.pauseCron('weekly')
  await app.close()
})

describe('wharf crons --path', () => {
  it('lists the crons of a store as a table, and as JSON', async () => {
    const run = await wharf('crons', '--path', store)
    expect(run.code).toBe(0)
    expect(run.out).toMatch(/^NAME +SCHEDULE +TZ +CATCH UP +NEXT FIRE +LAST FIRE +PAUSED +FUNCTION$/m)
    expect(run.out).toMatch(/^nightly +0 2 \* \* \* +Europe\/Brussels +one +2026-03-02T01:00:00Z +- +reports\.build$/m)
    expect(run.out).toMatch(/^weekly +0 6 \* \* 1 +UTC +none +- +- +paused +reports\.build$/m)
    const doc = await wharfJson<{ crons: unknown[] }>(0, 'crons', '--path', store)
    expect(doc.crons).toEqual([
      { name: 'nightly', schedule: '0 2 * * *', tz: 'Europe/Brussels', catchUp: 'one', nextFireAt: Date.parse('2026-03-02T01:00:00Z'), lastFireAt: null, paused: false, function: 'reports.build', description: 'reports.build', identityKey: null },
      { name: 'weekly', schedule: '0 6 * * 1', tz: 'UTC', catchUp: 'none', nextFireAt: null, lastFireAt: null, paused: true, function: 'reports.build', description: 'reports.build', identityKey: null },
    ])
  })
})

describe('crons over the dashboard API', () => {
  let app: Wharf
  let url: string
  beforeAll(async () => {
    app = await openApp(join(await tempDir(), 'store'))
    url = (await app.serveDashboard({ port: 0 })).url
  })
  afterAll(async () => app.close())

  it('GET /api/crons is wharf.crons(), and wharf crons --url shows it', async () => {
    const crons = JSON.parse(JSON.stringify(await app.crons()))
    expect(crons.map((c: { name: string }) => c.name)).toEqual(['nightly', 'weekly'])
    expect((await call(`${url}api/crons`)).body).toEqual({ crons })
    expect(await wharfJson(0, 'crons', '--url', url)).toEqual({ crons })
  })

  it('pauses and resumes a cron, and refuses an unknown name or a bad body', async () => {
    expect(await post(`${url}api/crons/pause`, { name: 'nightly' })).toMatchObject({ status: 200, body: { ok: true } })
    expect((await app.crons())[0]).toMatchObject({ name: 'nightly', paused: true, nextFireAt: null })
    expect(await post(`${url}api/crons/resume`, { name: 'nightly' })).toMatchObject({ status: 200, body: { ok: true } })
    expect((await app.crons())[0]).toMatchObject({ name: 'nightly', paused: false, nextFireAt: Date.parse('2026-03-02T01:00:00Z') })
    const unknown = await post(`${url}api/crons/pause`, { name: 'nope' })
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'UNKNOWN_CRON'])
    const bad = await post(`${url}api/crons/resume`, { cron: 'nightly' })
    expect(bad.status).toBe(400)
  })
})
