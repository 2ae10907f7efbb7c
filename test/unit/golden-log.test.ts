// Old logs keep replaying: each committed golden log (written by a released format version, see
// test/fixtures/make-golden-log.ts) is opened by this version, read through the codec and its
// upcasters, and must give exactly the recorded events and jobs. A difference is a format or
// determinism break.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FakeClock, LevelLog, Wharf } from '../../src/index.js'

const fixtures = join(import.meta.dirname, '../fixtures')
const goldens = readdirSync(fixtures).filter((name) => name.startsWith('golden-v'))
const work = mkdtempSync(join(tmpdir(), 'wharf-golden-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const normalize = (value: unknown): unknown => JSON.parse(JSON.stringify(value))
/** JobView fields added after a fixture was recorded, as its jobs read now: a fixture is never
 * rewritten, so its expected jobs lack them. */
const ADDED_SINCE = { progress: null, node: null, batchUuid: null }
const expectedJobs = (golden: string): unknown[] =>
  (JSON.parse(readFileSync(join(fixtures, golden, 'expected-jobs.json'), 'utf8')) as object[]).map((job) => ({ ...ADDED_SINCE, ...job }))

/** The batches each golden log replays to (none before golden-v1-batches). */
const BATCHES: Record<string, unknown[]> = {
  'golden-v1-batches': [['golden batch', 'done', 2, 2, 0, true]],
  'golden-v1-rows': [['golden batch', 'done', 2, 2, 0, true]],
}

describe('golden logs', () => {
  it('has at least the v1 golden log, and the ones with progress, with crons, with batches and of the last JSON rows', () => {
    expect(goldens).toContain('golden-v1')
    expect(goldens).toContain('golden-v1-progress')
    expect(goldens).toContain('golden-v1-cron')
    expect(goldens).toContain('golden-v1-batches')
    expect(goldens).toContain('golden-v1-rows')
  })

  for (const golden of goldens) {
    it(`${golden} replays to the recorded events and jobs`, async () => {
      // Work on a copy: opening a LevelDB directory writes to it.
      const path = join(work, golden)
      cpSync(join(fixtures, golden, 'log'), path, { recursive: true })
      const log = new LevelLog(path)
      await log.open()
      const events: unknown[] = []
      for await (const batch of log.read(0)) events.push(...batch)
      await log.close()
      expect(normalize(events)).toEqual(JSON.parse(readFileSync(join(fixtures, golden, 'expected-events.json'), 'utf8')))

      const wharf = await Wharf.open({ path, clock: new FakeClock(Date.UTC(2026, 10, 2)), channels: 'root:2,root.mail:1:sequential,root.export:1:throttle=5' })
      const jobs = (await wharf.jobs()).map((j) => ({ ...j, dependsOn: [...j.dependsOn].sort(), dependents: [...j.dependents].sort() }))
      expect(normalize(jobs)).toEqual(expectedJobs(golden))
      // Dates and '$'-keys come back as they went in, not as strings or tags.
      const first = (await wharf.jobs())[0]!
      expect((first.args[1] as { when: unknown }).when).toBeInstanceOf(Date)
      expect(Object.keys(first.args[1] as object)).toEqual(['$date', '$$x', 'when'])
      expect(wharf.openReport).toMatchObject({ requeued: 0, foundDead: 0 })
      // Batches replay to their counts, which equal a recount over their jobs.
      const batches = await wharf.batches()
      expect(batches.map((b) => [b.name, b.state, b.total, b.done, b.failed, b.onDoneStored])).toEqual(BATCHES[golden] ?? [])
      for (const b of batches) expect((await wharf.jobs({ batchUuid: b.uuid })).length).toBe(b.total)
      await wharf.close()
    })
  }
})
