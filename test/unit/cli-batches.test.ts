// Proves `wharf batches` and `wharf jobs --batch` over a store on disk (--path), run as real
// processes: the table with each batch's progress, the JSON page, the jobs of one batch, the
// batch uuid in `wharf show`, and a bad --state as bad usage (exit 2).
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { FakeClock, Wharf, type BatchView, type JobView } from '../../src/index.js'
import { sequentialIds } from '../../src/testing.js'
import { CHANNELS, partnerModel, START_MS, tempDirs, wharf, wharfJson } from './cli-helpers.js'

const tempDir = tempDirs('wharf-cli-batches-')
let store: string

beforeAll(async () => {
  store = join(await tempDir(), 'store')
  const w = await Wharf.open({ path: store, channels: CHANNELS, clock: new FakeClock(START_MS), newId: sequentialIds('b-') })
  const partner = partnerModel(w)
  await w.batch('import 2026-11', [partner.browse([1]).delayable().sync('ok'), partner.browse([2]).delayable().sync('fail')])
  await w.batch('later', [partner.browse([3]).delayable({ eta: 3600 }).sync('ok')])
  await w.start()
  await w.idle()
  await w.close()
})

describe('wharf batches --path', () => {
  it('prints each batch with its progress, and --json the page', async () => {
    const run = await wharf('batches', '--path', store)
    expect(run.code).toBe(0)
    const [header, ...rows] = run.out.trimEnd().split('\n')
    expect(header).toMatch(/^UUID +STATE +FINISHED +DONE +FAILED +CANCELLED +CREATED +DONE AT +NAME$/)
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatch(/^b-000001 +failed +1\/2 +1 +1 +0 +2020-01-01T00:00:00Z +- +import 2026-11$/)
    expect(rows[1]).toMatch(/^b-000004 +pending +0\/1 +0 +0 +0 /)
    const page = await wharfJson<{ batches: BatchView[]; next: string | null }>(0, 'batches', '--path', store, '--state', 'failed')
    expect(page.batches.map((b) => [b.uuid, b.total, b.failed])).toEqual([['b-000001', 2, 1]])
    expect(page.next).toBeNull()
  })

  it('lists the jobs of one batch with wharf jobs --batch, and wharf show names the batch', async () => {
    const page = await wharfJson<{ jobs: JobView[] }>(0, 'jobs', '--path', store, '--batch', 'b-000001')
    expect(page.jobs.map((j) => [j.uuid, j.state, j.batchUuid])).toEqual([
      ['b-000002', 'done', 'b-000001'],
      ['b-000003', 'failed', 'b-000001'],
    ])
    const show = await wharf('show', 'b-000005', '--path', store)
    expect(show.out).toMatch(/^batchUuid: +b-000004$/m)
  })

  it('refuses a state that is not a batch state as bad usage', async () => {
    const run = await wharf('batches', '--path', store, '--state', 'cancelled')
    expect(run.code).toBe(2)
    expect(run.err).toMatch(/--state "cancelled" is not a batch state; states: pending, started, done, failed/)
  })
})
