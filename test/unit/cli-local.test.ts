// Proves the `wharf` commands over a store on disk (--path), run as real processes: tables for
// people, one JSON document with --json, exit codes 0/1; that a store another process holds is
// refused with a pointer to --url, that a path without a store is refused and not created, and
// that opening changes nothing it should not (no vacuum of old finished jobs), and a bad
// value found only once the store is open (a channel name) is still bad usage.
import { cp, mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { JobView } from '../../src/index.js'
import { Wharf } from '../../src/index.js'
import { buildStore, JOBS, LONG_DESCRIPTION, tempDirs, wharf, wharfJson } from './cli-helpers.js'

const tempDir = tempDirs('wharf-cli-local-')
let template: string

beforeAll(async () => {
  template = join(await tempDir(), 'store')
  await buildStore(template)
})

/** A copy of the template store, for a test that changes it. */
async function copyOfStore(): Promise<string> {
  const path = join(await tempDir(), 'store')
  await cp(template, path, { recursive: true })
  return path
}

type Page = { jobs: JobView[]; next: string | null }
const uuids = (page: Page): string[] => page.jobs.map((j) => j.uuid)

describe('wharf jobs --path', () => {
  it('prints a table of every job, finished ones included, the long description cut', async () => {
    const run = await wharf('jobs', '--path', template)
    expect(run.code).toBe(0)
    const [header, ...rows] = run.out.trimEnd().split('\n')
    expect(header).toMatch(/^UUID +STATE +FUNCTION +CHANNEL +PRIORITY +TRIES +CREATED +DESCRIPTION$/)
    expect(rows).toHaveLength(8)
    expect(rows[0]).toMatch(/^j-000001 +done +res\.partner\.sync +root +10 +1\/5 +2020-01-01T00:00:00Z +Sync partner 1$/)
    // Columns line up: every row has its state where the header has STATE.
    for (const row of rows) expect(row.indexOf(row.split(/ +/)[1]!)).toBe(header!.indexOf('STATE'))
    const later = rows.find((r) => r.startsWith(JOBS.later))!
    expect(later).toContain(LONG_DESCRIPTION.slice(0, 40))
    expect(later).not.toContain(LONG_DESCRIPTION)
    expect(later.endsWith('…')).toBe(true)
    expect(run.err).toBe('')
  })

  it('--json prints one document: the page and the next cursor', async () => {
    const page = await wharfJson<Page>(0, 'jobs', '--path', template)
    expect(uuids(page)).toEqual([JOBS.done, JOBS.failed, JOBS.cancelled, JOBS.later, JOBS.parent, JOBS.child, JOBS.mail, JOBS.stuck])
    expect(page.next).toBeNull()
    const stuck = page.jobs.find((j) => j.uuid === JOBS.stuck)!
    // Opening recovered the job a dead process left started, as the app's next open would.
    expect([stuck.state, stuck.retry]).toEqual(['pending', 1])
  })

  it('pages with --limit and --after, in either order', async () => {
    const first = await wharfJson<Page>(0, 'jobs', '--path', template, '--limit', '3')
    expect(uuids(first)).toEqual([JOBS.done, JOBS.failed, JOBS.cancelled])
    expect(first.next).toBe(JOBS.cancelled)
    const second = await wharfJson<Page>(0, 'jobs', '--path', template, '--limit', '3', '--after', first.next!)
    expect(uuids(second)).toEqual([JOBS.later, JOBS.parent, JOBS.child])
    const newest = await wharfJson<Page>(0, 'jobs', '--path', template, '--limit', '2', '--order', 'desc')
    expect(uuids(newest)).toEqual([JOBS.stuck, JOBS.mail])
    const table = await wharf('jobs', '--path', template, '--limit', '3')
    expect(table.out.trimEnd().split('\n').at(-1)).toBe(`next page: --after ${JOBS.cancelled}`)
  })

  it('filters by state, channel and function', async () => {
    expect(uuids(await wharfJson<Page>(0, 'jobs', '--path', template, '--state', 'failed'))).toEqual([JOBS.failed, JOBS.parent])
    expect(uuids(await wharfJson<Page>(0, 'jobs', '--path', template, '--channel', 'mail'))).toEqual([JOBS.mail])
    expect(uuids(await wharfJson<Page>(0, 'jobs', '--path', template, '--function', 'res.partner.sync', '--state', 'done'))).toEqual([JOBS.done, JOBS.mail])
    const none = await wharf('jobs', '--path', template, '--function', 'res.partner.other')
    expect([none.code, none.out]).toEqual([0, 'no jobs\n'])
    const bad = await wharf('jobs', '--path', template, '--channel', 'root.a b')
    expect([bad.code, bad.out]).toEqual([2, ''])
    expect(bad.err).toMatch(/^wharf jobs: InvalidPropertyError: .*"root\.a b".*\nusage: wharf jobs /)
  })
})

describe('wharf show, stats, crons, explain --path', () => {
  it('show prints every field, then the exception info', async () => {
    const run = await wharf('show', JOBS.failed, '--path', template)
    expect(run.code).toBe(0)
    expect(run.out).toMatch(/^uuid: +j-000002$/m)
    expect(run.out).toMatch(/^state: +failed$/m)
    expect(run.out).toMatch(/^excName: +FailedJobError$/m)
    expect(run.out).toMatch(/^createdAt: +2020-01-01T00:00:00Z$/m)
    expect(run.out).toMatch(/^excInfo:\n {2}FailedJobError: the partner API said no$/m)
  })

  it("says when each failed job failed, as --url does: the page's failedAt, show's failedAt (--json and the table)", async () => {
    const page = await wharfJson<Page & { failedAt: Record<string, number> }>(0, 'jobs', '--path', template, '--state', 'failed')
    expect(uuids(page)).toEqual([JOBS.failed, JOBS.parent])
    expect(Object.keys(page.failedAt)).toEqual([JOBS.failed, JOBS.parent])
    const detail = await wharfJson<{ job: JobView; failedAt: number | null }>(0, 'show', JOBS.failed, '--path', template)
    expect(Object.keys(detail)).toEqual(['job', 'failedAt', 'related', 'function']) // GET /api/jobs/:uuid's document
    expect(detail.failedAt).toBe(page.failedAt[JOBS.failed])
    const at = new Date(detail.failedAt!).toISOString().replace(/\.\d{3}Z$/, 'Z')
    expect((await wharf('show', JOBS.failed, '--path', template)).out.split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^failedAt: +${at}$`)))
    expect((await wharfJson<{ failedAt: number | null }>(0, 'show', JOBS.done, '--path', template)).failedAt).toBeNull()
  })

  it('show --json is the API document; related and function are unknown without the app', async () => {
    const detail = await wharfJson<{ job: JobView; related: unknown; function: unknown }>(0, 'show', JOBS.child, '--path', template)
    expect(detail.job).toMatchObject({ uuid: JOBS.child, state: 'wait_dependencies', graphUuid: JOBS.graph, dependsOn: [JOBS.parent] })
    expect([detail.related, detail.function]).toEqual([null, null])
  })

  it('show of an unknown uuid exits 1, naming it; with --json the error is the document', async () => {
    const run = await wharf('show', 'j-999999', '--path', template)
    expect([run.code, run.out]).toEqual([1, ''])
    expect(run.err).toBe('wharf show: UnknownJobError: no job with uuid "j-999999"\n')
    const doc = await wharfJson<{ error: { name: string; code: string } }>(1, 'show', 'j-999999', '--path', template)
    expect(doc.error).toMatchObject({ name: 'UnknownJobError', code: 'UNKNOWN_JOB' })
  })

  it('stats counts every state, finished jobs of history included, and every channel', async () => {
    const stats = await wharfJson<{ states: Record<string, number>; channels: { name: string; done: number }[] }>(0, 'stats', '--path', template)
    expect(stats.states).toEqual({ wait_dependencies: 1, pending: 2, enqueued: 0, started: 0, done: 2, cancelled: 1, failed: 2 })
    expect(stats.channels.map((c) => [c.name, c.done])).toEqual([['root', 1], ['root.mail', 1]])
    const run = await wharf('stats', '--path', template)
    expect(run.out).toMatch(/^failed +2$/m)
    expect(run.out).toMatch(/^root\.mail +- +0 /m)
  })

  // The store was opened under the CLI's own channels ('root:1000000000', CLI_CHANNELS), and the
  // document gave that capacity, and defaults for sequential and throttle, as if the app's.
  it('stats --json gives no channel configuration: it is the app\'s, not stored', async () => {
    const stats = await wharfJson<{ channels: Record<string, unknown>[] }>(0, 'stats', '--path', template)
    for (const channel of stats.channels) {
      expect(Object.keys(channel)).not.toContain('capacity')
      expect(Object.keys(channel)).not.toContain('sequential')
      expect(Object.keys(channel)).not.toContain('throttleSeconds')
      expect(channel).toMatchObject({ running: 0, paused: false })
    }
  })

  it('crons lists none when the store has none', async () => {
    expect(await wharf('crons', '--path', template)).toEqual({ code: 0, out: 'no crons\n', err: '' })
    expect(await wharfJson(0, 'crons', '--path', template)).toEqual({ crons: [] })
  })

  it('explain says why, noting that with --path nothing dispatches and no handler is loaded', async () => {
    expect(await wharf('explain', JOBS.child, '--path', template)).toEqual({ code: 0, out: `state: wait_dependencies\n- waits for its parent job(s) to be done: ${JOBS.parent}; failed (it waits until they are requeued or set done): ${JOBS.parent}\n`, err: '' })
    const ready = await wharf('explain', JOBS.later, '--path', template)
    expect(ready.out).toBe('state: pending\n- Wharf is not dispatching (not started, or stopped)\n- no handler is registered for res.partner.sync\n')
    expect(ready.err).toMatch(/^note: read from the store with no app running \(--path\)/)
    expect(await wharfJson(0, 'explain', JOBS.failed, '--path', template)).toEqual({ state: 'failed', reasons: [{ kind: 'finished', state: 'failed', atMs: expect.any(Number) }] })
    expect((await wharf('explain', 'j-999999', '--path', template)).code).toBe(1)
  })
})

describe('wharf requeue, cancel, done --path', () => {
  it('acts on every uuid given, reports each, and exits 1 when any was refused', async () => {
    const path = await copyOfStore()
    const run = await wharf('requeue', JOBS.failed, 'j-999999', JOBS.parent, '--path', path)
    expect(run.code).toBe(1)
    expect(run.out.split('\n')).toEqual([`${JOBS.failed}: requeued`, 'j-999999: refused: UnknownJobError: no job with uuid "j-999999"', `${JOBS.parent}: requeued`, ''])
    const pending = await wharfJson<Page>(0, 'jobs', '--path', path, '--state', 'pending')
    expect(uuids(pending)).toEqual([JOBS.failed, JOBS.later, JOBS.parent, JOBS.stuck])
  })

  it('refuses, as --url does, a job in a state the action is not for, and leaves it as it is', async () => {
    const path = await copyOfStore()
    const run = await wharf('cancel', JOBS.done, JOBS.later, '--path', path)
    expect(run.code).toBe(1)
    expect(run.out.split('\n')).toEqual([
      `${JOBS.done}: refused: JobStateConflictError: job ${JOBS.done} is done: cancel acts only on jobs that are wait dependencies, pending, enqueued, started, failed; it was left as it is`,
      `${JOBS.later}: cancelled`,
      '',
    ])
    const states = (await wharfJson<Page>(0, 'jobs', '--path', path)).jobs.map((j) => [j.uuid, j.state])
    expect(states).toContainEqual([JOBS.done, 'done'])
  })

  it('acts once on a uuid given twice (exit 0), each place reported with its result, as --url does', async () => {
    const path = await copyOfStore()
    const run = await wharf('cancel', JOBS.later, JOBS.stuck, JOBS.later, '--path', path)
    expect([run.code, run.out.split('\n')]).toEqual([0, [`${JOBS.later}: cancelled`, `${JOBS.stuck}: cancelled`, `${JOBS.later}: cancelled`, '']])
  })

  it('cancel and done commit, and --json lists the results', async () => {
    const path = await copyOfStore()
    expect(await wharfJson(0, 'cancel', JOBS.later, '--path', path)).toEqual({ results: [{ uuid: JOBS.later, ok: true }] })
    expect((await wharf('done', JOBS.stuck, '--path', path)).out).toBe(`${JOBS.stuck}: set done\n`)
    const states = (await wharfJson<Page>(0, 'jobs', '--path', path)).jobs.map((j) => [j.uuid, j.state])
    expect(states).toContainEqual([JOBS.later, 'cancelled'])
    expect(states).toContainEqual([JOBS.stuck, 'done'])
  })
})

describe('wharf remove, purge --path', () => {
  it('remove deletes finished and failed jobs for good; one job that cannot go refuses the call (exit 1)', async () => {
    const path = await copyOfStore()
    const live = await wharf('remove', JOBS.done, JOBS.later, '--path', path)
    expect(live.code).toBe(1)
    expect(live.err).toContain(`JobStateConflictError: cannot remove job ${JOBS.later}: it is pending`)
    const graph = await wharf('remove', JOBS.parent, '--path', path, '--json')
    expect(graph.code).toBe(1)
    expect(JSON.parse(graph.out)).toMatchObject({ error: { name: 'InvalidGraphError', code: 'INVALID_GRAPH' } })
    expect((await wharf('remove', 'j-999999', '--path', path)).code).toBe(1)
    expect(await wharfJson(0, 'remove', JOBS.done, JOBS.failed, JOBS.cancelled, '--path', path)).toEqual({ removed: 3 })
    expect((await wharf('remove', JOBS.mail, '--path', path)).out).toBe('removed 1 job\n')
    expect(uuids(await wharfJson<Page>(0, 'jobs', '--path', path))).toEqual([JOBS.later, JOBS.parent, JOBS.child, JOBS.stuck])
  })

  it('purge deletes a state (before a time, when given), leaving a failed job its child waits for', async () => {
    const path = await copyOfStore()
    expect((await wharf('purge', '--state', 'failed', '--path', path)).out).toBe('removed 1 job failed\n')
    expect(await wharfJson(0, 'purge', '--state', 'done', '--before', '2019-12-31', '--path', path)).toEqual({ removed: 0 })
    expect((await wharf('purge', '--state', 'done', '--before', '2020-01-02T00:00:00Z', '--path', path)).out).toBe('removed 2 jobs done (entered before 2020-01-02T00:00:00Z)\n')
    const left = (await wharfJson<Page>(0, 'jobs', '--path', path)).jobs.map((j) => j.state)
    expect(left).toEqual(['cancelled', 'pending', 'failed', 'wait_dependencies', 'pending'])
  })

  it('bad usage exits 2 before opening anything', async () => {
    const path = await copyOfStore()
    for (const args of [['purge', '--path', path], ['purge', '--state', 'pending', '--path', path], ['purge', '--state', 'done', '--before', 'yesterday', '--path', path], ['remove', '--path', path]]) {
      const run = await wharf(...args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.err).toContain(`usage: wharf ${args[0]}`)
    }
  })
})

describe('a store the CLI cannot open', () => {
  it('is refused with exit 1 when another process holds it, pointing at --url', async () => {
    const path = await copyOfStore()
    const app = await Wharf.open({ path })
    try {
      const run = await wharf('jobs', '--path', path)
      expect(run.code).toBe(1)
      expect(run.err).toMatch(/^wharf jobs: StorageLockedError: .*in use by another process.*--url/)
    } finally {
      await app.close()
    }
  })

  it('is never created: a missing path, an empty directory and a file are refused with exit 1', async () => {
    const dir = await tempDir()
    const missing = join(dir, 'nothing-here')
    const run = await wharf('stats', '--path', missing)
    expect(run.code).toBe(1)
    expect(run.err).toContain(`no Wharf store at ${JSON.stringify(missing)}: it does not exist`)
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' })
    const empty = join(dir, 'empty')
    await mkdir(empty)
    expect((await wharf('requeue', JOBS.failed, '--path', empty)).err).toContain('the directory is empty')
    expect(await readdir(empty)).toEqual([])
    const file = join(dir, 'file')
    await writeFile(file, 'not a store')
    const onFile = await wharf('jobs', '--path', file)
    expect([onFile.code, onFile.err]).toEqual([1, expect.stringContaining('is not a directory')])
  })

  // The library's advice for Wharf.open's path — "give an empty or new directory, or an existing
  // Wharf store" — came through to commands that refuse an empty or new directory (exit 1).
  it("a path that is not a store: the refusal does not advise the empty directory it would refuse", async () => {
    const dir = await tempDir()
    const file = join(dir, 'file')
    await writeFile(file, 'not a store')
    for (const args of [['jobs', '--path', file], ['verify', '--path', dir], ['backup', '--path', dir, '--to', join(dir, 'b')]]) {
      const run = await wharf(...args)
      expect([args[0], run.code]).toEqual([args[0], 1])
      expect(run.err).not.toContain('empty or new directory')
      expect(run.err).toMatch(/; give the directory of a Wharf store \(the wharf command never creates one\)\n$/)
    }
  })
})
