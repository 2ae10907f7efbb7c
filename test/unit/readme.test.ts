// The README's tour runs as written: its ```ts blocks (between the tour markers) are joined into
// one module, imports pointed at this checkout, run, and what it prints is checked; a ```js block
// of the tour that opens with a file name (`// image-jobs.js — …`) is that file, written beside
// the module first (the worker threads' module). The examples of the Backup and restore section
// (its relative paths in a temporary directory), delayMany, explain, result/progress and Removing
// jobs run the same way and must print the lines their comments show.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'

const root = join(import.meta.dirname, '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const tour = readme.slice(readme.indexOf('<!-- tour:start -->'), readme.indexOf('<!-- tour:end -->'))
const blocks = [...tour.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
/** The files the tour's program uses: [name, source]. */
const files = [...tour.matchAll(/```js\n\/\/ ([\w-]+\.js) [\s\S]*?```/g)].map((m) => [m[1]!, m[0].slice('```js\n'.length, -3)] as const)
const dir = mkdtempSync(join(tmpdir(), 'wharf-readme-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** `source` with its imports of Wharf pointed at this checkout. */
const pointed = (source: string): string =>
  source
    .replaceAll("from 'wharf-queue/testing'", `from ${JSON.stringify(join(root, 'src/testing.ts'))}`)
    .replaceAll("from 'wharf-queue/dashboard'", `from ${JSON.stringify(join(root, 'src/dashboard.ts'))}`)
    .replaceAll("from 'wharf-queue'", `from ${JSON.stringify(join(root, 'src/index.ts'))}`)

/** Run `source` as a module with imports pointed at this checkout; what it prints. */
async function runExample(name: string, source: string): Promise<string[]> {
  const file = join(dir, name)
  writeFileSync(file, `${pointed(source)}\nexport {}\n`)
  const printed: string[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map((arg) => (typeof arg === 'object' && arg !== null ? JSON.stringify(arg) : String(arg))).join(' '))
  })
  try {
    await import(pathToFileURL(file).href)
  } finally {
    log.mockRestore()
  }
  return printed
}

describe('README tour', () => {
  it('has the tour blocks, and the worker threads\' module', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10)
    expect(files.map(([name]) => name)).toEqual(['image-jobs.js'])
  })

  it('runs as written and prints what its comments say', async () => {
    for (const [name, source] of files) writeFileSync(join(dir, name), pointed(source))
    const printed = await runExample('tour.ts', blocks.join('\n'))
    expect(printed).toEqual([
      'pending 15 root',
      'wait_dependencies 1',
      'done 2',
      'nightly-report false',
      'failed 2/3 1',
      'done 3/3 import 2026-11 imported',
      '{"path":"a.png","width":300,"lit":6924}',
      expect.stringMatching(/^\d+ 0 cancelled$/),
      'wharf.job mail.send done',
      'wharf.job.outcomes wharf.job.run.duration wharf.job.wait.duration',
      'wharf: mail.send done',
      'pending',
      'done 2026-01-01T01:05:00.000Z',
    ])
  })
})

/** The ts blocks of the README section under `heading` (up to the next '## '). */
function sectionExamples(heading: string): string[] {
  const start = readme.indexOf(heading)
  if (start < 0) return []
  const section = readme.slice(start, readme.indexOf('\n## ', start))
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

/** The first ts block of the README section under `heading`. */
function sectionExample(heading: string): string | undefined {
  return sectionExamples(heading)[0]
}

describe('README Backup and restore', () => {
  const example = sectionExample('## Backup and restore')

  it('runs as written and prints what its comments say', async () => {
    expect(example).toBeDefined()
    const printed = await runExample('backup.ts', example!.replaceAll("'./", `'${dir}/`))
    expect(printed).toEqual(['true true', '1'])
  })
})

/**
 * The first ```ts block of the README section whose heading starts with `heading` runs, and prints
 * exactly the lines its comments promise (each comment line matching `promise`, its first group).
 */
function printsWhatItsCommentsSay(heading: string, name: string, promise: RegExp, count: number): void {
  const start = readme.indexOf(heading)
  const section = readme.slice(start, readme.indexOf('\n## ', start + heading.length))
  const example = /```ts\n([\s\S]*?)```/.exec(section)?.[1]

  it('runs as written and prints what its comments say', async () => {
    expect(start).toBeGreaterThanOrEqual(0)
    expect(example).toBeDefined()
    const printed = await runExample(name, example!)
    const promised = [...example!.matchAll(promise)].map((m) => m[1])
    expect(promised).toHaveLength(count)
    expect(printed).toEqual(promised)
  })
}

describe('README explain', () => {
  printsWhatItsCommentsSay('## Why is this job not running? `explain`', 'explain.ts', /^\/\/ (\{.*\})$/gm, 3)
})

describe('README result and progress', () => {
  printsWhatItsCommentsSay('## Waiting for a result, reporting progress', 'result-progress.ts', /^\/\/ → (.*)$/gm, 4)
})

describe('README delayMany', () => {
  const example = sectionExample('## Bulk: `delayMany`')

  it('runs as written and prints what its comments say', async () => {
    expect(example).toBeDefined()
    const printed = await runExample('delay-many.ts', example!)
    expect(printed).toEqual(['1000 pending true', 'pending pending wait_dependencies', 'true'])
  })
})

describe('README Removing jobs', () => {
  const start = readme.indexOf('## Removing jobs: `remove`, `purge`')
  const example = /```ts\n([\s\S]*?)```/.exec(readme.slice(start, readme.indexOf('\n## ', start + 1)))?.[1]

  it('runs as written and prints what its comments say', async () => {
    expect(start).toBeGreaterThan(0)
    const printed = await runExample('removing.ts', example!)
    const promised = [...example!.matchAll(/^\/\/ (.*)$/gm)].map((m) => m[1])
    expect(promised).toHaveLength(4)
    expect(printed).toEqual(promised)
  })
})

// These three stood on examples before them (a `wharf` opened elsewhere, an `app`, a `job`): a
// reader who copied one got a ReferenceError. Each now opens what it uses and closes it.
describe('README Durability', () => {
  it('runs as written: the open report, then a clean history scrub', async () => {
    const example = sectionExample('## Durability')
    expect(example).toBeDefined()
    const printed = await runExample('durability.ts', example!.replaceAll("'./", `'${dir}/durability/`))
    expect(printed).toHaveLength(2)
    expect(Object.keys(JSON.parse(printed[0]!))).toEqual(expect.arrayContaining(['snapshotSeq', 'replayedEvents', 'jobs', 'requeued', 'vacuumed', 'openMs']))
    expect(JSON.parse(printed[1]!)).toEqual({ status: 'ok', problems: [], views: 0 })
  })
})

describe('README Dashboard and HTTP API', () => {
  const [serving, related] = sectionExamples('## Dashboard and HTTP API')

  it('serves as written (on free ports), and closes', async () => {
    expect(serving).toBeDefined()
    const printed = await runExample('dashboard.ts', serving!.replace('port: 7777', 'port: 0').replace('.listen(8080)', '.listen(0)'))
    expect(printed).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/)])
  })

  it('gives the related link its comment shows', async () => {
    expect(related).toBeDefined()
    const printed = await runExample('related.ts', related!)
    expect(printed).toEqual(['{"url":"/partners/1?tab=jobs","label":"Partner"}', '2'])
  })
})
