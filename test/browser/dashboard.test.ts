// The dashboard page in a real browser (Debian's Chromium driven by playwright-core) over an
// in-memory Wharf served by dashboard(): each test acts as an operator would — by accessible
// names — and checks the outcome in the page and in the Wharf. Waits are Playwright's
// auto-waiting locators, never sleeps. One browser for the file, a fresh context per test.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chain, FailedJobError, group, RetryableJobError, Wharf } from '../../src/index.js'
import { FakeClock } from '../../src/testing.js'
import { LocalClient } from '../../src/cli/local-client.js'
import { openFixture, XSS_DESCRIPTION, type Fixture } from './fixture.js'
import { serve, type Served } from './serve.js'

let browser: Browser
let fx: Fixture
let served: Served
let context: BrowserContext | null = null
const problems: string[] = []
const closing: Array<() => Promise<void>> = []

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  fx = await openFixture()
  served = await serve(fx.wharf)
})

afterEach(async () => {
  await context?.close()
  context = null
  expect(problems.splice(0)).toEqual([])
})

afterAll(async () => {
  for (const close of closing.reverse()) await close()
  await served?.close()
  await fx?.close()
  await browser?.close()
})

/** A new page at url; a page error or a dialog (alert) fails the test. */
async function open(url: string): Promise<Page> {
  context ??= await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`)
    void dialog.dismiss()
  })
  await page.goto(url)
  return page
}

async function serveAlso(wharf: Wharf, options: Parameters<typeof serve>[1]): Promise<Served> {
  const other = await serve(wharf, options)
  closing.push(other.close)
  return other
}

const jobsTable = (page: Page) => page.getByRole('table', { name: 'Jobs' })
const jobRow = (page: Page, uuid: string) => jobsTable(page).getByRole('row').filter({ hasText: uuid })
const shownUuids = (page: Page) => jobsTable(page).locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-uuid')))
const channelRow = (page: Page, name: string) =>
  page.getByRole('table', { name: 'Channels' }).getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) })

describe('the Jobs view', () => {
  it('filters by state, and the filter is a link that survives a reload', async () => {
    const page = await open(served.url)
    await jobRow(page, fx.pending[0]!).waitFor()
    await page.getByRole('combobox', { name: 'State' }).selectOption('failed')
    await jobRow(page, fx.pending[0]!).waitFor({ state: 'detached' })
    const failed = (await fx.wharf.jobs({ state: 'failed', order: 'desc' })).map((job) => job.uuid)
    expect(await shownUuids(page)).toEqual(failed)
    expect(page.url()).toBe(`${served.url}?state=failed`)

    await page.reload()
    await jobRow(page, failed[0]!).waitFor()
    expect(await page.getByRole('combobox', { name: 'State' }).inputValue()).toBe('failed')
    expect(await shownUuids(page)).toEqual(failed)
  })

  it('filters by channel and function, with the options from the API', async () => {
    const page = await open(served.url)
    await page.getByRole('combobox', { name: 'Channel' }).selectOption('root.export')
    await jobRow(page, fx.pending[0]!).waitFor({ state: 'detached' })
    const exports = (await fx.wharf.jobs({ channel: 'root.export', order: 'desc' })).map((job) => job.uuid)
    expect(exports).toHaveLength(2)
    expect(await shownUuids(page)).toEqual(exports)

    await page.getByRole('combobox', { name: 'Channel' }).selectOption('')
    await page.getByRole('combobox', { name: 'Function' }).selectOption('report.publish')
    await jobRow(page, exports[0]!).waitFor({ state: 'detached' })
    expect(await shownUuids(page)).toEqual((await fx.wharf.jobs({ model: 'report', method: 'publish' })).map((job) => job.uuid))
  })

  it('searches descriptions on the page, and a whole uuid anywhere', async () => {
    const page = await open(served.url)
    const search = page.getByRole('searchbox', { name: 'Search' })
    await search.fill('MAIL TO PARTNER 2')
    await jobRow(page, fx.pending[0]!).waitFor({ state: 'detached' })
    expect(await shownUuids(page)).toEqual([fx.failed[1]])

    await search.fill(fx.graphJob)
    await jobRow(page, fx.graphJob).waitFor()
    expect(await shownUuids(page)).toEqual([fx.graphJob])
  })

  it('shows as Finished when the job reached its state: a done job cancelled a day later, the cancel', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ clock })
    closing.push(() => wharf.close())
    const job = await wharf.model('report', { build: () => 'built' }).withDelay({ description: 'Daily report' }).build()
    await wharf.start()
    await wharf.drain()
    await wharf.stop()
    await clock.advance(86_400_000)
    await wharf.cancel(job.uuid)
    const { state, doneAt, cancelledAt } = (await wharf.job(job.uuid))!
    expect([state, cancelledAt! - doneAt!]).toEqual(['cancelled', 86_400_000]) // both times kept
    const page = await open((await serveAlso(wharf, {})).url)
    const finished = jobRow(page, job.uuid).locator('td').last().locator('time')
    expect(await finished.getAttribute('datetime')).toBe(new Date(cancelledAt!).toISOString())
  })

  it('shows the tries of a job that retries forever (maxRetries 0) as made of ∞, as the CLI does, not of 0', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const report = wharf.model('report', { build: () => 'built' })
    const forever = await report.withDelay({ eta: 3600, maxRetries: 0 }).build()
    const bounded = await report.withDelay({ eta: 3600, maxRetries: 3 }).build()
    const page = await open((await serveAlso(wharf, {})).url)
    const tries = (uuid: string) => jobRow(page, uuid).locator('td').nth(7)
    await jobRow(page, forever.uuid).waitFor()
    expect([await tries(forever.uuid).innerText(), await tries(bounded.uuid).innerText()]).toEqual(['0/∞', '0/3'])
  })

  it("loads each job's outline, not the app's data it does not show (args, result, traceback), at each refresh", async () => {
    context ??= await browser.newContext()
    const pages: Promise<{ jobs: Record<string, unknown>[] }>[] = []
    context.on('response', (response) => void (new URL(response.url()).pathname.endsWith('/api/jobs') && pages.push(response.json())))
    const page = await open(`${served.url}?state=failed`)
    await jobRow(page, fx.failed[0]!).waitFor()
    const jobs = (await Promise.all(pages)).flatMap((body) => body.jobs)
    expect(jobs.length).toBeGreaterThan(0)
    expect(jobs.filter((job) => 'args' in job || 'result' in job || 'excInfo' in job || 'context' in job)).toEqual([])
  })

  it('renders a description made of markup as text', async () => {
    const page = await open(served.url)
    await jobRow(page, fx.xss).getByRole('cell', { name: XSS_DESCRIPTION, exact: true }).waitFor()
    expect(await page.locator('img').count()).toBe(0)

    await jobRow(page, fx.xss).getByRole('link', { name: fx.xss }).click()
    await page.getByRole('heading', { name: `Job: ${XSS_DESCRIPTION}` }).waitFor()
    expect(await page.locator('img').count()).toBe(0)
  })
})

describe("a job's page", () => {
  it("shows a failed job's exception and every field", async () => {
    const uuid = fx.failed[2]!
    const page = await open(`${served.url}?state=failed`)
    await jobRow(page, uuid).getByRole('link', { name: uuid }).click()
    await page.getByRole('heading', { name: 'Job: Welcome mail to partner 3' }).waitFor()
    expect(page.url()).toBe(`${served.url}job/${uuid}`)

    const job = (await fx.wharf.job(uuid))!
    const exception = page.getByRole('region', { name: 'Exception' })
    expect(await exception.innerText()).toContain('FailedJobError: SMTP 550: mailbox of partner 3 unavailable (welcome)')
    expect(await exception.locator('pre').textContent()).toBe(job.excInfo)
    expect(await page.locator('dl.fields dt').allTextContents()).toEqual(Object.keys(job))
    expect(await page.getByRole('region', { name: 'Explanation' }).innerText()).toContain('Finished: failed at')
    expect(await page.getByRole('link', { name: 'Related: Partner 3' }).getAttribute('href')).toBe('https://crm.example.com/partners/3')

    await page.reload() // a deep link
    await page.getByRole('heading', { name: 'Job: Welcome mail to partner 3' }).waitFor()
  })

  it("shows a running job's progress as a progress bar named Progress, with its message", async () => {
    const page = await open(`${served.url}job/${fx.running}`)
    const bar = page.getByRole('progressbar', { name: 'Progress' })
    await bar.waitFor()
    expect(await bar.evaluate((el) => (el as unknown as { value: number }).value)).toBe(0.4)
    expect((await page.locator('p.progress').innerText()).trim()).toBe('40% — Synced 40 of 100 partners')
    expect(await page.locator('dl.fields dt:text-is("progress") + dd').innerText()).toBe('40% — Synced 40 of 100 partners')
    expect(await page.locator('dl.fields dt:text-is("node") + dd').innerText()).toBe('none')
  })

  it('draws its graph, one node per job, coloured by state, linked to each job', async () => {
    const job = (await fx.wharf.job(fx.graphJob))!
    const graph = await fx.wharf.graph(job.graphUuid!)
    const page = await open(`${served.url}job/${fx.graphJob}`)
    const svg = page.getByRole('group', { name: /^Dependency graph/ })
    await svg.locator('g.node').first().waitFor()
    expect(await svg.locator('g.node').count()).toBe(graph.jobs.length)
    expect(await svg.locator('g.node.state-done').count()).toBe(graph.jobs.length)
    expect(await svg.locator('.edge').count()).toBe(graph.edges.length)
    expect((await svg.locator('g.node text.label').allTextContents()).sort()).toEqual(graph.jobs.map((j) => j.description).sort())

    await svg.getByRole('link', { name: 'report.publish, done' }).click()
    await page.getByRole('heading', { name: 'Job: report.publish' }).waitFor()
  })
})

describe('a large graph', () => {
  it('loads only the size of a graph too large to draw, not each of its jobs, and says how large it is', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const report = wharf.model('report', { build: () => 'built' })
    const steps = Array.from({ length: 501 }, (_, i) => report.delayable({ eta: 3600, description: `Part ${i}` }).build())
    await chain(steps[0]!, group(...steps.slice(1))).delay()
    const url = (await serveAlso(wharf, {})).url
    context ??= await browser.newContext()
    const graphAnswers: Promise<unknown>[] = []
    context.on('response', (response) => void (response.url().includes('/api/graphs/') && graphAnswers.push(response.json())))
    const page = await open(`${url}job/${steps[0]!.job!.uuid}`)
    await page.getByText('This graph has 501 jobs: too many to draw (at most 500).').waitFor()
    expect(graphAnswers.length).toBeGreaterThan(0)
    for (const answer of await Promise.all(graphAnswers)) expect(answer).toEqual({ jobs: [], edges: [], size: 501 })
  })
})

describe('long text', () => {
  it('wraps an unbroken message and description instead of widening the page past the window', async () => {
    // An error carrying a URL, a token or base64 is one "word" of hundreds of characters.
    const word = 'https://files.example.com/'.concat('a1B2c3D4'.repeat(120))
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const job = await wharf.model('upload', { send() { throw new FailedJobError(`upload refused: ${word}`) } }).withDelay({ description: `Upload ${word}` }).send()
    await wharf.start()
    await wharf.drain()
    const other = await serveAlso(wharf, {})
    const overflow = (page: Page) =>
      page.locator('html').evaluate((el) => (el as unknown as { scrollWidth: number }).scrollWidth - (el as unknown as { clientWidth: number }).clientWidth)
    const page = await open(`${other.url}job/${job.uuid}`)
    await page.getByRole('region', { name: 'Exception' }).locator('pre').waitFor()
    expect(await overflow(page)).toBe(0)
    await page.getByRole('navigation').getByRole('link', { name: 'Jobs', exact: true }).click()
    await jobRow(page, job.uuid).waitFor()
    expect(await overflow(page)).toBe(0)
  })
})

describe('non-ASCII text', () => {
  it("shortens a graph node's label between characters, never inside an emoji's surrogate pair", async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const report = wharf.model('report', { build: () => 'built' })
    const chart = report.delayable({ eta: 3600, description: `Monthly ${'📊'.repeat(30)}` }).build()
    await chart.onDone(report.delayable({ description: 'Publish' }).build()).delay()
    const page = await open(`${(await serveAlso(wharf, {})).url}job/${chart.job!.uuid}`)
    const label = page.getByRole('group', { name: /^Dependency graph/ }).locator('g.node.current text.label')
    await label.waitFor()
    expect(await label.textContent()).toBe(`Monthly ${'📊'.repeat(15)}…`) // 23 characters and the ellipsis
  })
})

describe("a stopped Wharf's job page", () => {
  it('says in words that the Wharf is stopped, not as JSON', async () => {
    const wharf = await Wharf.open() // never started, as under `wharf dashboard --path`
    closing.push(() => wharf.close())
    const job = await wharf.model('report', { build: () => 'built' }).withDelay({ description: 'Daily report' }).build()
    expect((await wharf.explain(job.uuid)).reasons.map((r) => r.kind)).toEqual(['stopped'])
    const page = await open(`${(await serveAlso(wharf, {})).url}job/${job.uuid}`)
    const explanation = page.getByRole('region', { name: 'Explanation' })
    await explanation.getByRole('listitem').first().waitFor()
    expect(await explanation.getByRole('listitem').allInnerTexts()).toEqual(['This Wharf is not dispatching (not started, or stopped): no job starts until it is started.'])
  })
})

describe("a waiting job's page", () => {
  it('says which parents failed or were cancelled, and that it waits until someone acts, with links to them', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const imports = wharf.model('import', {
      load: (): never => {
        throw new FailedJobError('bad file')
      },
      hold: () => 'held',
      report: () => 'reported',
    })
    const broken = imports.delayable({ description: 'Load' }).load()
    const dropped = imports.delayable({ eta: 3600, description: 'Hold' }).hold()
    const report = imports.delayable({ description: 'Report' }).report()
    await chain(group(broken, dropped), report).delay()
    await wharf.start()
    await wharf.settled()
    await wharf.cancel(dropped.job!.uuid)
    const page = await open(`${(await serveAlso(wharf, {})).url}job/${report.job!.uuid}`)
    const explanation = page.getByRole('region', { name: 'Explanation' })
    await explanation.getByRole('listitem').first().waitFor()
    const [b, d] = [broken.job!.uuid, dropped.job!.uuid]
    expect(await explanation.getByRole('listitem').allInnerTexts()).toEqual([
      `Waits for 2 parent jobs: ${b}, ${d}. Failed (it waits until they are requeued or set done): ${b}. Cancelled (it waits until they are requeued or set done): ${d}.`,
    ])
    expect(await explanation.getByRole('link', { name: b }).count()).toBe(2)
  })
})

describe("a job's page while it waits to retry", () => {
  it('names the try that waits, the one after those made', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1))
    const wharf = await Wharf.open({ clock })
    closing.push(() => wharf.close({ timeoutMs: 0 }))
    const sync = wharf.model('partner', {
      sync: (): never => {
        throw new RetryableJobError('busy', { seconds: 60 })
      },
    })
    await wharf.start()
    const job = await sync.withDelay().sync()
    await wharf.settled()
    expect(await wharf.explain(job.uuid)).toMatchObject({ reasons: [{ kind: 'retry-wait', retry: 1 }] })
    const page = await open(`${(await serveAlso(wharf, {})).url}job/${job.uuid}`)
    const explanation = page.getByRole('region', { name: 'Explanation' })
    await explanation.getByRole('listitem').first().waitFor()
    expect(await explanation.getByRole('listitem').allInnerTexts()).toEqual([expect.stringMatching(/^Try 2 \(retry 1\) waits until /)])
  })
})

/** A fixture of its own (removing changes it) served, its two done jobs ticked and Remove
 * pressed: the confirmation asks about both. */
async function removalOfTwoDone() {
  const own = await openFixture()
  closing.push(own.close)
  const other = await serveAlso(own.wharf, {})
  const [a, b] = own.done as [string, string]
  const page = await open(`${other.url}?state=done`)
  await page.getByRole('checkbox', { name: `Select ${a}` }).check()
  await page.getByRole('checkbox', { name: `Select ${b}` }).check()
  await page.getByRole('button', { name: 'Remove', exact: true }).click()
  const confirm = page.getByRole('group', { name: 'Confirm removal' })
  await confirm.getByText('Remove 2 jobs for good?').waitFor()
  return { own, page, confirm, a, b }
}

describe('actions', () => {
  it('requeues two selected failed jobs', async () => {
    const [a, b] = [fx.failed[0]!, fx.failed[1]!]
    const page = await open(`${served.url}?state=failed`)
    await page.getByRole('checkbox', { name: `Select ${a}` }).check()
    await page.getByRole('checkbox', { name: `Select ${b}` }).check()
    await page.getByRole('button', { name: 'Requeue' }).click()
    await page.getByText('Requeued 2 jobs.').waitFor()
    // All applied: the sentence alone, no refusal list (nor a stray "null" where it would be).
    expect(await page.getByRole('status').filter({ hasText: 'Requeued' }).innerText()).toBe('Requeued 2 jobs.')
    for (const uuid of [a, b]) expect((await fx.wharf.job(uuid))!.state).not.toBe('failed')
    await jobRow(page, a).waitFor({ state: 'detached' }) // no longer failed: out of the filter
  })

  it('lists a refusal by uuid, and applies the rest', async () => {
    const page = await open(served.url)
    await page.getByRole('checkbox', { name: `Select ${fx.keyHeld}` }).check()
    await page.getByRole('checkbox', { name: `Select ${fx.failed[2]}` }).check()
    await page.getByRole('button', { name: 'Requeue' }).click()
    await page.getByText('Requeued 1 job; 1 refused:').waitFor()
    const refusal = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: fx.keyHeld }) })
    expect(await refusal.innerText()).toContain('identity key "export:50"')
    expect((await fx.wharf.job(fx.keyHeld))!.state).toBe('done')
    expect((await fx.wharf.job(fx.failed[2]!))!.state).not.toBe('failed')
  })

  it('selects every row shown with one checkbox', async () => {
    const page = await open(`${served.url}?state=done`)
    await jobRow(page, fx.graphJob).waitFor()
    const done = await shownUuids(page)
    await page.getByRole('checkbox', { name: 'Select all' }).check()
    await page.getByText(`${done.length} jobs shown, ${done.length} selected.`).waitFor()
    for (const uuid of done) expect(await page.getByRole('checkbox', { name: `Select ${uuid}` }).isChecked()).toBe(true)
    // Requeue acts on done jobs; Set done is not offered for them (done jobs only are ticked).
    expect(await page.getByRole('button', { name: 'Requeue' }).isEnabled()).toBe(true)
    await page.getByRole('checkbox', { name: `Select ${fx.graphJob}` }).uncheck()
    expect(await page.getByRole('checkbox', { name: 'Select all' }).isChecked()).toBe(false)
    await page.getByRole('checkbox', { name: 'Select all' }).check()
    await page.getByRole('checkbox', { name: 'Select all' }).uncheck()
    await page.getByText(`${done.length} jobs shown.`).waitFor()
    expect(await page.getByRole('button', { name: 'Requeue' }).isDisabled()).toBe(true)
  })

  it("cancels a job from its page", async () => {
    const uuid = fx.pending[0]!
    const page = await open(`${served.url}job/${uuid}`)
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.getByText('Cancelled 1 job.').waitFor()
    expect((await fx.wharf.job(uuid))!.state).toBe('cancelled')
    await page.locator('.job-head').getByText('cancelled', { exact: true }).waitFor()
  })

  it("offers on a job's page only the actions valid for the job's state", async () => {
    // requeue() skips a job waiting for its parents (as queue_job does), and a pending one only
    // waits already; cancel() of a cancelled job and setDone() of a done one change nothing; and
    // queue_job's Cancel leaves a done job alone (its work happened): no button for them.
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const step = wharf.model('step', { run: () => 'ran' })
    const done = await step.withDelay({ description: 'Done' }).run()
    await wharf.start()
    await wharf.drain()
    const parent = step.delayable({ eta: 3600, description: 'Parent' }).run()
    const child = step.delayable({ description: 'Child' }).run()
    await parent.onDone(child).delay()
    const cancelled = await step.withDelay({ eta: 3600, description: 'Cancelled' }).run()
    await wharf.cancel(cancelled.uuid)
    const url = (await serveAlso(wharf, {})).url
    const expected: Array<[string, string, Record<string, boolean>]> = [
      [child.job!.uuid, 'wait_dependencies', { Requeue: false, Cancel: true, 'Set done': true }],
      [cancelled.uuid, 'cancelled', { Requeue: true, Cancel: false, 'Set done': true }],
      [done.uuid, 'done', { Requeue: true, Cancel: false, 'Set done': false }],
      [parent.job!.uuid, 'pending', { Requeue: false, Cancel: true, 'Set done': true }],
    ]
    for (const [uuid, state, enabled] of expected) {
      expect((await wharf.job(uuid))!.state).toBe(state)
      const page = await open(`${url}job/${uuid}`)
      const actions = page.getByRole('group', { name: 'Actions on this job' })
      await page.getByRole('heading', { name: /^Job: / }).waitFor()
      const shown: Record<string, boolean> = {}
      for (const name of Object.keys(enabled)) shown[name] = await actions.getByRole('button', { name }).isEnabled()
      expect(shown, state).toEqual(enabled)
    }
  })

  it('removes the selected finished jobs once confirmed; "Keep them" removes nothing', async () => {
    const { own, page, confirm, a, b } = await removalOfTwoDone()
    await confirm.getByRole('button', { name: 'Keep them' }).click()
    await confirm.waitFor({ state: 'detached' })
    expect((await own.wharf.job(a))?.state).toBe('done')

    await page.getByRole('button', { name: 'Remove', exact: true }).click()
    await confirm.getByRole('button', { name: 'Confirm remove' }).click()
    await page.getByText('Removed 2 jobs.').waitFor()
    for (const uuid of [a, b]) expect(await own.wharf.job(uuid)).toBeUndefined()
    await jobRow(page, a).waitFor({ state: 'detached' })
  })

  it('asks again when the selection changes under a removal waiting for its confirmation', async () => {
    const { own, page, confirm, a, b } = await removalOfTwoDone()
    await page.getByRole('checkbox', { name: `Select ${b}` }).uncheck()
    await confirm.waitFor({ state: 'detached' }) // no confirming what is no longer ticked
    await page.getByRole('button', { name: 'Remove', exact: true }).click()
    await confirm.getByText('Remove 1 job for good?').waitFor()
    await confirm.getByRole('button', { name: 'Confirm remove' }).click()
    await page.getByText('Removed 1 job.').waitFor()
    expect([await own.wharf.job(a), (await own.wharf.job(b))?.state]).toEqual([undefined, 'done'])
  })

  it('says why a removal was refused, and removes nothing', async () => {
    const own = await openFixture()
    closing.push(own.close)
    const other = await serveAlso(own.wharf, {})
    const page = await open(other.url)
    await page.getByRole('checkbox', { name: `Select ${own.done[0]}` }).check()
    await page.getByRole('checkbox', { name: `Select ${own.pending[0]}` }).check()
    await page.getByRole('button', { name: 'Remove', exact: true }).click()
    await page.getByRole('button', { name: 'Confirm remove' }).click()
    await page.getByText(`Removed nothing: cannot remove job ${own.pending[0]}: it is pending`).waitFor()
    expect((await own.wharf.job(own.done[0]!))?.state).toBe('done')
    expect((await own.wharf.job(own.pending[0]!))?.state).toBe('pending')
  })

  it('lists the crons, and pauses and resumes one', async () => {
    const paused = async () => (await fx.wharf.crons())[0]!.paused
    const page = await open(`${served.url}crons`)
    const row = page.getByRole('table', { name: 'Crons' }).getByRole('row').filter({ hasText: 'quarterly-report' })
    await row.getByRole('cell', { name: '0 6 1 1,4,7,10 *', exact: true }).waitFor()
    await row.getByRole('button', { name: 'Pause quarterly-report' }).click()
    await row.getByRole('button', { name: 'Resume quarterly-report' }).waitFor()
    expect(await paused()).toBe(true)
    await row.getByRole('button', { name: 'Resume quarterly-report' }).click()
    await row.getByRole('button', { name: 'Pause quarterly-report' }).waitFor()
    expect(await paused()).toBe(false)
  })

  it('pauses and resumes a channel', async () => {
    const paused = () => fx.wharf.stats().channels.find((c) => c.name === 'root.mail')!.paused
    const page = await open(`${served.url}channels`)
    await channelRow(page, 'root.mail').getByRole('button', { name: 'Pause' }).click()
    await channelRow(page, 'root.mail').getByRole('button', { name: 'Resume' }).waitFor()
    expect(paused()).toBe(true)
    await channelRow(page, 'root.mail').getByRole('button', { name: 'Resume' }).click()
    await channelRow(page, 'root.mail').getByRole('button', { name: 'Pause' }).waitFor()
    expect(paused()).toBe(false)
  })
})

describe('the keyboard', () => {
  it('stays on a Pause button pressed with Enter, now Resume, for a channel and for a cron', async () => {
    const wharf = await Wharf.open({ channels: 'root:1,root.mail:1' })
    closing.push(() => wharf.close())
    await wharf.cron('yearly', '0 6 1 1 *', wharf.model('report', { build: () => 'built' }).delayable().build())
    const page = await open(`${(await serveAlso(wharf, {})).url}channels`)
    await channelRow(page, 'root.mail').getByRole('button', { name: 'Pause' }).press('Enter')
    await channelRow(page, 'root.mail').getByRole('button', { name: 'Resume' }).waitFor()
    expect(await page.locator(':focus').textContent()).toBe('Resume')

    await page.getByRole('navigation').getByRole('link', { name: 'Crons' }).click()
    await page.getByRole('button', { name: 'Pause yearly' }).press('Enter')
    await page.getByRole('button', { name: 'Resume yearly' }).waitFor()
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Resume yearly')
  })
})

describe('the keyboard on a job page', () => {
  it('stays on Cancel pressed with Enter, now off since the job is cancelled', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const job = await wharf.model('report', { build: () => 'built' }).withDelay({ eta: 3600, description: 'Daily report' }).build()
    const page = await open(`${(await serveAlso(wharf, {})).url}job/${job.uuid}`)
    const cancel = page.getByRole('group', { name: 'Actions on this job' }).getByRole('button', { name: 'Cancel' })
    await cancel.press('Enter')
    await page.getByText('Cancelled 1 job.').waitFor()
    await page.locator('.job-head').getByText('cancelled', { exact: true }).waitFor()
    expect(await cancel.isEnabled()).toBe(false)
    expect(await page.locator(':focus').textContent()).toBe('Cancel')
  })
})

describe('batches', () => {
  it('lists batches with their progress, and links to the jobs of one', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const rows = wharf.model('import.row', { load: (row: number) => row })
    const other = await rows.withDelay().load(0)
    const batch = await wharf.batch('import 2026-11', [rows.delayable().load(1), rows.delayable().load(2), rows.delayable({ eta: 3600 }).load(3)])
    await wharf.start()
    await wharf.settled()
    await wharf.idle()
    const mine = await wharf.jobs({ batchUuid: batch.uuid })
    const served = await serveAlso(wharf, {})
    const page = await open(`${served.url}batches`)
    const row = page.getByRole('table', { name: 'Batches' }).getByRole('row').filter({ hasText: 'import 2026-11' })
    await row.getByText('started', { exact: true }).waitFor()
    expect(await row.getByRole('progressbar', { name: 'Progress of import 2026-11' }).getAttribute('value')).toBe('2')
    await row.getByText('2/3').waitFor()
    await row.getByRole('link', { name: 'Jobs of batch import 2026-11' }).click()
    await page.getByText(`Jobs of batch ${batch.uuid}`).waitFor()
    await jobRow(page, mine[0]!.uuid).waitFor()
    expect((await shownUuids(page)).sort()).toEqual(mine.map((j) => j.uuid).sort())
    await page.getByRole('button', { name: 'All jobs' }).click()
    await jobRow(page, other.uuid).waitFor()
    expect(page.url()).toBe(served.url)
  })
})

/** A served Wharf with a failed job and another, pending, whose changes are none of its business. */
async function failedAndPending() {
  const wharf = await Wharf.open()
  closing.push(() => wharf.close())
  const mail = wharf.model('mail', { send() { throw new FailedJobError('SMTP 550') }, later: () => 'sent' })
  const failed = await mail.withDelay({ description: 'Failed mail' }).send()
  await wharf.start()
  await wharf.drain()
  const other = await mail.withDelay({ eta: 3600, description: 'Other mail' }).later()
  return { wharf, failed, other, url: (await serveAlso(wharf, {})).url }
}

describe('batches, more than a page of them', () => {
  it('pages to older batches and back, none skipped or shown twice', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const rows = wharf.model('import.row', { load: (row: number) => row })
    const names: string[] = []
    for (let i = 0; i < 60; i++) names.push((await wharf.batch(`import ${i}`, [rows.delayable({ eta: 3600 }).load(i)])).name)
    const page = await open(`${(await serveAlso(wharf, {})).url}batches`)
    const table = page.getByRole('table', { name: 'Batches' })
    const shownNames = () => table.locator('tbody tr td:first-child').allTextContents()
    await table.getByRole('cell', { name: 'import 59', exact: true }).waitFor()
    expect(await shownNames()).toEqual(names.slice(10).reverse())
    await page.getByRole('button', { name: 'Older' }).click()
    await table.getByRole('cell', { name: 'import 0', exact: true }).waitFor()
    expect(await shownNames()).toEqual(names.slice(0, 10).reverse())
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true)
    await page.getByRole('button', { name: 'Newer' }).click()
    await table.getByRole('cell', { name: 'import 59', exact: true }).waitFor()
    expect(await shownNames()).toEqual(names.slice(10).reverse())
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true)
  })
})

describe('live updates', () => {
  it('shows a job change state without a reload', async () => {
    const page = await open(served.url)
    await jobRow(page, fx.running).getByText('started', { exact: true }).waitFor()
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor() // connected, and caught up
    await page.evaluate(() => ((globalThis as { sameDocument?: boolean }).sameDocument = true))
    fx.release()
    await jobRow(page, fx.running).getByText('done', { exact: true }).waitFor()
    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true)
  })

  it("keeps the keyboard focus on a graph's node and on the Related link while a job's page is redrawn", async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const partner = wharf.model('partner', { sync: () => 'synced', open: () => ({ url: 'https://crm.example.com/1', label: 'Partner 1' }) })
    wharf.configure('partner.sync', { relatedAction: { funcName: 'open' } })
    const first = partner.browse([1]).delayable({ eta: 3600, description: 'First sync' }).sync()
    const second = partner.browse([1]).delayable({ eta: 3600, description: 'Second sync' }).sync()
    const third = partner.browse([1]).delayable({ eta: 3600, description: 'Third sync' }).sync()
    await first.onDone(second).onDone(third).delay()
    const page = await open(`${(await serveAlso(wharf, {})).url}job/${first.job!.uuid}`)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    const graph = page.getByRole('group', { name: /^Dependency graph/ })
    await graph.getByRole('link', { name: 'Second sync, wait_dependencies' }).focus()
    await wharf.cancel(third.job!.uuid)
    await graph.locator('g.node.state-cancelled').waitFor()
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Second sync, wait_dependencies')

    await page.getByRole('link', { name: 'Related: Partner 1' }).focus()
    await wharf.cancel(second.job!.uuid)
    await graph.locator('g.node.state-cancelled').nth(1).waitFor()
    expect(await page.locator(':focus').textContent()).toBe('Related: Partner 1')
  })

  it('keeps the focus on the very link it was on when the same job is linked twice on the page', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const partner = wharf.model('partner', { sync: () => 'synced' })
    const [parent, child, sibling] = ['Parent', 'Child', 'Sibling'].map((description) => partner.delayable({ eta: 3600, description }).sync())
    await parent!.onDone(child!, sibling!).delay()
    const page = await open(`${(await serveAlso(wharf, {})).url}job/${child!.job!.uuid}`)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    const links = page.getByRole('link', { name: parent!.job!.uuid, exact: true })
    expect(await links.count()).toBe(2) // in the explanation, and in the fields (dependsOn)
    await page.locator('dl.fields').getByRole('link', { name: parent!.job!.uuid }).focus()
    await wharf.cancel(sibling!.job!.uuid)
    await page.getByRole('group', { name: /^Dependency graph/ }).locator('g.node.state-cancelled').waitFor()
    expect(await page.locator('dl.fields :focus').count()).toBe(1)
  })

  it("leaves a job's page as it is when another job changes: the operator's text selection in the traceback stays", async () => {
    const { wharf, failed, other, url } = await failedAndPending()
    const page = await open(`${url}job/${failed.uuid}`)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    // Counts the tracebacks a redraw takes away; selects the traceback's text, as to copy it.
    await page.locator('pre.traceback').evaluate((pre) => {
      const g = globalThis as unknown as { removed: number; MutationObserver: new (f: (r: Array<{ removedNodes: unknown[] }>) => void) => { observe(n: unknown, o: object): void } }
      g.removed = 0
      new g.MutationObserver((records) => {
        for (const r of records) for (const n of Array.from(r.removedNodes) as Array<{ querySelector?: (s: string) => unknown }>) if (n.querySelector?.('pre.traceback')) g.removed++
      }).observe((pre as unknown as { closest(s: string): unknown }).closest('.job'), { childList: true })
    })
    const explained = page.waitForResponse((res) => res.url().endsWith(`/api/jobs/${failed.uuid}/explain`))
    await wharf.cancel(other.uuid) // not this job: its page has nothing new to show
    await explained
    await wharf.setDone(failed.uuid) // this job: its page is redrawn, once
    await page.locator('.job-head').getByText('done', { exact: true }).waitFor()
    expect(await page.evaluate(() => (globalThis as unknown as { removed: number }).removed)).toBe(1)
  })

  it("leaves the Jobs table as it is when no job shown changed: the operator's text selection in it stays", async () => {
    const { wharf, failed, other, url } = await failedAndPending()
    const page = await open(`${url}?state=failed`)
    await jobRow(page, failed.uuid).waitFor()
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    // Counts the redraws of the rows (each replaces the tbody's children).
    await jobsTable(page).locator('tbody').evaluate((tbody) => {
      const g = globalThis as unknown as { redraws: number; MutationObserver: new (f: () => void) => { observe(n: unknown, o: object): void } }
      g.redraws = 0
      new g.MutationObserver(() => g.redraws++).observe(tbody, { childList: true })
    })
    const listed = page.waitForResponse((res) => res.url().includes('/api/jobs?'))
    await wharf.cancel(other.uuid) // not a failed job: nothing new in this table
    await listed
    await wharf.setDone(failed.uuid) // leaves the filter: the table is redrawn, once
    await jobRow(page, failed.uuid).waitFor({ state: 'detached' })
    expect(await page.evaluate(() => (globalThis as unknown as { redraws: number }).redraws)).toBe(1)
  })

  it('leaves the Crons, Functions and Batches tables as they are when what they show did not change', async () => {
    const { wharf, url } = await failedAndPending()
    await wharf.cron('yearly', '0 6 1 1 *', wharf.model('report', { build: () => 'built' }).delayable().build())
    await wharf.batch('nightly', [wharf.model('nightly', { run: () => 'ran' }).delayable({ eta: 3600 }).run()])
    const page = await open(`${url}crons`)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    for (const [view, path, name] of [['Crons', 'crons', 'yearly'], ['Functions', 'functions', 'mail.send'], ['Batches', 'batches', 'nightly']] as const) {
      await page.getByRole('navigation').getByRole('link', { name: view }).click()
      const cell = page.getByRole('table', { name: view }).getByRole('cell', { name, exact: true })
      // Marked: a redraw would put an unmarked cell in its place.
      await cell.evaluate((el, mark) => (el as unknown as { setAttribute(k: string, v: string): void }).setAttribute('data-seen', mark), view)
      // Two refreshes for channel events: they run one at a time, so the second read means the first has drawn.
      for (const change of [() => wharf.pauseChannel('root'), () => wharf.resumeChannel('root')]) {
        const read = page.waitForResponse((res) => new URL(res.url()).pathname.endsWith(`/api/${path}`))
        await change()
        await read
      }
      expect(await cell.getAttribute('data-seen'), view).toBe(view)
    }
  })

  it('says the page is no longer live once the event stream is refused, rather than reconnecting', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const page = await open((await serveAlso(wharf, {})).url)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    await wharf.close() // the stream ends; the app still answers, 503, so EventSource gives up
    await page.getByRole('status').filter({ hasText: /^Not live/ }).waitFor()
  })

  it("keeps the keyboard focus on a job's link while the rows are redrawn", async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const later = wharf.model('later', { run: () => 'ran' })
    const [a, b] = [await later.withDelay({ eta: 3600 }).run(), await later.withDelay({ eta: 3600 }).run()]
    const page = await open((await serveAlso(wharf, {})).url)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    await jobRow(page, a.uuid).getByRole('link', { name: a.uuid }).focus()
    await wharf.cancel(b.uuid)
    await jobRow(page, b.uuid).getByText('cancelled', { exact: true }).waitFor()
    expect(await page.locator(':focus').textContent()).toBe(a.uuid)

    const batch = await wharf.batch('nightly', [later.delayable({ eta: 3600 }).run(), later.delayable({ eta: 3600 }).run()])
    await page.getByRole('navigation').getByRole('link', { name: 'Batches' }).click()
    const row = page.getByRole('table', { name: 'Batches' }).getByRole('row').filter({ hasText: 'nightly' })
    await row.getByRole('link', { name: 'Jobs of batch nightly' }).focus()
    await wharf.cancel((await wharf.jobs({ batchUuid: batch.uuid }))[0]!.uuid)
    await row.getByRole('cell', { name: '1', exact: true }).waitFor() // its cancelled count
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe('Jobs of batch nightly')
  })
})

describe('serving', () => {
  it('answers a deep link with a malformed escape as no such page, without a script error', async () => {
    const page = await open(`${served.url}job/%E0%A4%A`)
    await page.getByText('No such page.').waitFor()
    await page.getByRole('link', { name: 'Back to the jobs' }).click()
    await jobRow(page, fx.graphJob).waitFor()
  })

  it('works under a base path, deep links included', async () => {
    const mounted = await serveAlso(fx.wharf, { basePath: '/ops/jobs' })
    expect(mounted.url).toMatch(/\/ops\/jobs\/$/)
    const page = await open(`${mounted.url}channels`)
    await channelRow(page, 'root.mail').waitFor()
    await page.getByRole('navigation').getByRole('link', { name: 'Jobs', exact: true }).click()
    await jobRow(page, fx.graphJob).getByRole('link', { name: fx.graphJob }).click()
    await page.getByRole('heading', { name: 'Job: report.build' }).waitFor()
    expect(page.url()).toBe(`${mounted.url}job/${fx.graphJob}`)
    await page.reload()
    await page.getByRole('heading', { name: 'Job: report.build' }).waitFor()
  })

  it('asks for the token, then works with it, live updates included', async () => {
    const guarded = await serveAlso(fx.wharf, { token: 's3cret-token' })
    const page = await open(`${guarded.url}channels`)
    await page.getByLabel('Token').fill('not-the-token')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('alert').filter({ hasText: /token/ }).waitFor()
    await page.getByLabel('Token').fill('s3cret-token')
    await page.getByRole('button', { name: 'Log in' }).click()
    await channelRow(page, 'root.mail').waitFor() // still at the deep link
    await page.getByRole('navigation').getByRole('link', { name: 'Jobs', exact: true }).click()
    await jobRow(page, fx.pending[1]!).getByText('pending', { exact: true }).waitFor()
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    await fx.wharf.cancel(fx.pending[1]!)
    await jobRow(page, fx.pending[1]!).getByText('cancelled', { exact: true }).waitFor()
  })

  it('hides every action when read-only', async () => {
    const readOnly = await serveAlso(fx.wharf, { readOnly: true })
    const page = await open(readOnly.url)
    await jobRow(page, fx.graphJob).waitFor()
    expect(await page.getByRole('button', { name: /Requeue|Cancel|Set done|Remove/ }).count()).toBe(0)
    expect(await page.getByRole('checkbox').count()).toBe(0)
    await page.getByRole('navigation').getByRole('link', { name: 'Channels' }).click()
    await channelRow(page, 'root.mail').waitFor()
    expect(await page.getByRole('button', { name: /Pause|Resume/ }).count()).toBe(0)
    await page.goto(`${readOnly.url}job/${fx.failed[0]}`)
    await page.getByRole('heading', { name: /^Job: / }).waitFor()
    expect(await page.getByRole('button').count()).toBe(0)
  })
})

/** Two full pages of pending jobs (uuids oldest first), the page on the second (Older once). */
async function onSecondOfTwoPages() {
  const wharf = await Wharf.open()
  closing.push(() => wharf.close())
  const bulk = wharf.model('bulk', { item: (i: number) => i })
  const uuids: string[] = []
  for (let i = 0; i < 100; i++) uuids.push((await bulk.withDelay({ eta: 3600 }).item(i)).uuid)
  const other = await serveAlso(wharf, {})
  const page = await open(other.url)
  await jobRow(page, uuids[99]!).waitFor()
  await page.getByRole('button', { name: 'Older' }).click()
  await jobRow(page, uuids[0]!).waitFor()
  return { wharf, bulk, uuids, other, page }
}

/** `count` pending jobs, 'Item 0' to 'Item 119' by default (uuids oldest first), served. */
async function servedItems(count = 120) {
  const wharf = await Wharf.open()
  closing.push(() => wharf.close())
  const bulk = wharf.model('bulk', { item: (i: number) => i })
  const uuids: string[] = []
  for (let i = 0; i < count; i++) uuids.push((await bulk.withDelay({ eta: 3600, description: `Item ${i}` }).item(i)).uuid)
  return { wharf, bulk, uuids, url: (await serveAlso(wharf, {})).url }
}

describe('paging', () => {
  it('offers no empty page: Older is off on the last full page, and a page emptied meanwhile keeps Newer', async () => {
    const { wharf, uuids, page } = await onSecondOfTwoPages()
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true) // nothing is older
    await page.getByRole('combobox', { name: 'State' }).selectOption('pending')
    await page.getByRole('button', { name: 'Older' }).click()
    await jobRow(page, uuids[0]!).waitFor()
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    for (const uuid of uuids.slice(0, 50)) await wharf.cancel(uuid) // this page's jobs leave the filter
    await page.getByText('No jobs match.').waitFor()
    await page.getByRole('button', { name: 'Newer' }).click()
    await jobRow(page, uuids[99]!).waitFor()
  })

  it('is back on the first page, live, when Newer reaches the newest jobs', async () => {
    const { bulk, uuids, other, page } = await onSecondOfTwoPages()
    await page.getByRole('button', { name: 'Newer' }).click()
    await jobRow(page, uuids[99]!).waitFor()
    expect(page.url()).toBe(other.url)
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    const added = await bulk.withDelay({ eta: 3600 }).item(100)
    await jobRow(page, added.uuid).waitFor() // a new job shows at the top, as on the first page
  })

  it('shows each job once on the way Newer while jobs arrive: the first page it lands on holds only the jobs newer than the page left', async () => {
    const { bulk, uuids, url } = await servedItems()
    const page = await open(url)
    await jobRow(page, uuids[119]!).waitFor()
    await page.getByRole('button', { name: 'Older' }).click()
    await jobRow(page, uuids[20]!).waitFor() // items 69 to 20
    const added: string[] = []
    for (let i = 120; i < 123; i++) added.push((await bulk.withDelay({ eta: 3600, description: `Item ${i}` }).item(i)).uuid)
    await page.getByRole('button', { name: 'Newer' }).click()
    await jobRow(page, uuids[119]!).waitFor()
    expect(await shownUuids(page)).toEqual(uuids.slice(70, 120).reverse())
    await page.getByRole('button', { name: 'Newer' }).click()
    await jobRow(page, added[2]!).waitFor()
    await jobRow(page, uuids[119]!).waitFor({ state: 'detached' })
    expect(await shownUuids(page)).toEqual([...added].reverse()) // not items 122 to 73: 119 to 73 were on the page left
    expect(page.url()).toBe(url) // the first page, live
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true)
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    const later = await bulk.withDelay({ eta: 3600, description: 'Item 123' }).item(123)
    await jobRow(page, later.uuid).waitFor() // a new job shows at the top
    expect(await shownUuids(page)).toEqual([later.uuid, ...added.reverse()])
    await page.getByRole('button', { name: 'Older' }).click()
    await jobRow(page, uuids[70]!).waitFor()
    expect(await shownUuids(page)).toEqual(uuids.slice(70, 120).reverse())
  })

  it('goes Newer from the page, not from the rows a search keeps: no job of the page shown again', async () => {
    const { uuids, url } = await servedItems()
    const page = await open(url)
    await page.getByRole('button', { name: 'Older' }).click()
    await jobRow(page, uuids[20]!).waitFor() // items 69 to 20
    const search = page.getByRole('searchbox', { name: 'Search' })
    await search.fill('Item 5')
    await jobRow(page, uuids[69]!).waitFor({ state: 'detached' }) // items 59 to 50 kept
    await page.getByRole('button', { name: 'Newer' }).click()
    await search.fill('')
    await jobRow(page, uuids[70]!).waitFor()
    expect(await shownUuids(page)).toEqual(uuids.slice(70, 120).reverse()) // not items 109 to 60
  })

  it('says that a search found nothing on this page, not that no job matches, when older pages hold jobs', async () => {
    const { url } = await servedItems()
    const page = await open(url)
    await page.getByRole('searchbox', { name: 'Search' }).fill('Item 5 ') // items 0 to 69 are on later pages
    await page.getByText('No job on this page matches the search; Older pages may hold some.').waitFor()
  })

  it('goes to older and newer pages, newest first', async () => {
    const { uuids, url } = await servedItems()
    const newestFirst = (from: number, to: number) => uuids.slice(from, to).reverse()
    const page = await open(url)
    await jobRow(page, uuids[119]!).waitFor()
    expect(await shownUuids(page)).toEqual(newestFirst(70, 120))
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true)

    await page.getByRole('button', { name: 'Older' }).click()
    await jobRow(page, uuids[69]!).waitFor()
    expect(await shownUuids(page)).toEqual(newestFirst(20, 70))
    await page.getByRole('button', { name: 'Older' }).click()
    await jobRow(page, uuids[0]!).waitFor()
    expect(await shownUuids(page)).toEqual(newestFirst(0, 20))
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true)

    await page.getByRole('button', { name: 'Newer' }).click()
    await jobRow(page, uuids[69]!).waitFor()
    expect(await shownUuids(page)).toEqual(newestFirst(20, 70))
    await page.reload() // the page is in the URL
    await jobRow(page, uuids[69]!).waitFor()
    expect(await shownUuids(page)).toEqual(newestFirst(20, 70))
  })
})

describe('bulk actions and the state of each job', () => {
  it('offers an action when a ticked job can take it, and lists by uuid, with why, the jobs it left as they were', async () => {
    const wharf = await Wharf.open()
    closing.push(() => wharf.close())
    const step = wharf.model('step', { run: () => 'ran' })
    const done = await step.withDelay({ description: 'Done step' }).run()
    await wharf.start()
    await wharf.drain()
    const pending = await step.withDelay({ eta: 3600, description: 'Later step' }).run()
    const page = await open((await serveAlso(wharf, {})).url)
    const cancel = page.getByRole('group', { name: 'Actions on the selected jobs' }).getByRole('button', { name: 'Cancel' })
    await page.getByRole('checkbox', { name: `Select ${done.uuid}` }).check()
    expect(await cancel.isEnabled()).toBe(false) // a done job is not cancelled
    await page.getByRole('checkbox', { name: `Select ${pending.uuid}` }).check()
    expect(await cancel.isEnabled()).toBe(true)
    await cancel.click()
    await page.getByText('Cancelled 1 job; 1 refused:').waitFor()
    const refusal = page.getByRole('listitem').filter({ has: page.getByRole('link', { name: done.uuid }) })
    expect(await refusal.innerText()).toContain(`job ${done.uuid} is done: cancel acts only on jobs that are`)
    expect(await refusal.innerText()).toContain('it was left as it is')
    const [a, b] = [(await wharf.job(done.uuid))!, (await wharf.job(pending.uuid))!]
    expect([a.state, a.cancelledAt, b.state]).toEqual(['done', null, 'cancelled'])
  })
})

/** 55 pending jobs, 'Item 0' to 'Item 54', served, the first page open and live. */
async function busyQueue() {
  const { wharf, bulk, uuids, url } = await servedItems(55)
  const page = await open(url)
  await jobRow(page, uuids[54]!).waitFor()
  await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
  return { wharf, bulk, uuids, page }
}

describe('ticked rows on a busy queue', () => {
  it('holds the first page still while jobs are ticked: new jobs are counted, not slid in, and the action applies to the ticked ones', async () => {
    const { wharf, bulk, uuids, page } = await busyQueue()
    const before = await shownUuids(page)
    expect(before).toEqual(uuids.slice(5).reverse())
    await page.getByRole('checkbox', { name: `Select ${uuids[50]}` }).check()
    const added = [await bulk.withDelay({ eta: 3600 }).item(55), await bulk.withDelay({ eta: 3600 }).item(56)]
    await page.getByText('2 newer jobs arrived: the rows hold still while jobs are ticked.').waitFor()
    expect(await shownUuids(page)).toEqual(before)
    expect(await page.getByRole('checkbox', { name: `Select ${uuids[50]}` }).isChecked()).toBe(true)
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.getByText('Cancelled 1 job.').waitFor()
    expect((await wharf.job(uuids[50]!))!.state).toBe('cancelled')
    for (const job of added) expect((await wharf.job(job.uuid))!.state).toBe('pending')
    // Nothing ticked any more: the newest jobs come in.
    await jobRow(page, added[1]!.uuid).waitFor()
    expect((await shownUuids(page)).slice(0, 2)).toEqual([added[1]!.uuid, added[0]!.uuid])
  })

  it('keeps a ticked job that leaves the filter in its place, ticked and marked, until unticked', async () => {
    const { wharf, uuids, page } = await busyQueue()
    await page.getByRole('combobox', { name: 'State' }).selectOption('pending')
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
    const box = page.getByRole('checkbox', { name: `Select ${uuids[52]}` })
    await box.check()
    await wharf.setDone(uuids[52]!) // leaves the filter pending
    await jobRow(page, uuids[52]!).getByText('done', { exact: true }).waitFor()
    expect(await jobRow(page, uuids[52]!).innerText()).toContain('ticked, kept: no longer in this list')
    expect(await box.isChecked()).toBe(true)
    await page.getByText('50 jobs shown, 1 selected.').waitFor()
    await box.click() // unticked: the row goes (uncheck() would look for the box it took away)
    await jobRow(page, uuids[52]!).waitFor({ state: 'detached' })
    await page.getByText('50 jobs shown.').waitFor()
  })
})

describe('ticked rows and the search', () => {
  it('keeps a job found by its uuid and ticked once the search is cleared, beside the first page as it is', async () => {
    const { uuids, page } = await busyQueue()
    const search = page.getByRole('searchbox', { name: 'Search' })
    await search.fill(uuids[3]!) // on no page shown first: found by its uuid
    await page.getByRole('checkbox', { name: `Select ${uuids[3]}` }).check()
    await search.fill('')
    await jobRow(page, uuids[54]!).waitFor()
    expect(await shownUuids(page)).toEqual([uuids[3], ...uuids.slice(5).reverse()])
    expect(await jobRow(page, uuids[3]!).innerText()).toContain('ticked, kept: no longer in this list')
    await page.getByText('51 jobs shown, 1 selected.').waitFor()
  })
})

describe('a failed job', () => {
  it('shows when it failed: in the Finished column and on its page', async () => {
    const failedAtMs = Date.UTC(2026, 10, 3, 14, 5, 9)
    const wharf = await Wharf.open({ clock: new FakeClock(failedAtMs) })
    closing.push(() => wharf.close())
    const job = await wharf.model('mail', { send() { throw new FailedJobError('SMTP 550') } }).withDelay({ description: 'Mail' }).send()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.job(job.uuid))!.state).toBe('failed')
    const url = (await serveAlso(wharf, {})).url
    const page = await open(url)
    const finished = jobRow(page, job.uuid).locator('td').last().locator('time')
    expect(await finished.getAttribute('datetime')).toBe(new Date(failedAtMs).toISOString())
    await page.goto(`${url}job/${job.uuid}`)
    const head = page.locator('.job-head')
    await head.getByText('Failed at').waitFor()
    expect(await head.locator('time').getAttribute('datetime')).toBe(new Date(failedAtMs).toISOString())
  })
})

describe('wharf dashboard --path', () => {
  it("lists the store's job functions, in the Function filter and the Functions view (settings '-': the app's)", async () => {
    const path = await mkdtemp(join(tmpdir(), 'wharf-browser-path-'))
    closing.push(() => rm(path, { recursive: true, force: true }))
    const writer = await Wharf.open({ path })
    await writer.model('legacy.export', { run: () => 'ran' }).withDelay({ eta: 3600, description: 'Export' }).run()
    await writer.close()
    const client = await LocalClient.open(path, 'hint')
    closing.push(() => client.close())
    const server = await client.serveDashboard({ port: 0 })
    closing.push(() => server.close())
    const page = await open(server.url)
    const option = page.getByRole('combobox', { name: 'Function' }).getByRole('option', { name: 'legacy.export.run' })
    await option.waitFor({ state: 'attached' })
    await page.getByRole('navigation').getByRole('link', { name: 'Functions' }).click()
    const row = page.getByRole('table', { name: 'Functions' }).getByRole('row').filter({ hasText: 'legacy.export.run' })
    expect(await row.getByRole('cell').allInnerTexts()).toEqual(['legacy.export.run', '-', '-', '-', '-', 'no'])
  })
})
