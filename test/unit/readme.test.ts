// The README's tour runs as written: its ```ts blocks (between the tour markers) are joined into
// one module, imports pointed at this checkout, run, and what they print is checked. The example
// of its Backup and restore section runs the same way, its relative paths in a temporary directory,
// and so do the examples of its explain, result/progress and Removing jobs sections, which must
// print the lines
// their comments show.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'

const root = join(import.meta.dirname, '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const tour = readme.slice(readme.indexOf('<!-- tour:start -->'), readme.indexOf('<!-- tour:end -->'))
const blocks = [...tour.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
const dir = mkdtempSync(join(tmpdir(), 'wharf-readme-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Run `source` as a module with imports pointed at this checkout; what it prints. */
async function runExample(name: string, source: string): Promise<string[]> {
  const file = join(dir, name)
  writeFileSync(
    file,
    `${source
      .replaceAll("from 'wharf-queue/testing'", `from ${JSON.stringify(join(root, 'src/testing.ts'))}`)
      .replaceAll("from 'wharf-queue'", `from ${JSON.stringify(join(root, 'src/index.ts'))}`)}\nexport {}\n`,
  )
  const printed: string[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map(String).join(' '))
  })
  try {
    await import(pathToFileURL(file).href)
  } finally {
    log.mockRestore()
  }
  return printed
}

describe('README tour', () => {
  it('has the tour blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7)
  })

  it('runs as written and prints what its comments say', async () => {
    const printed = await runExample('tour.ts', blocks.join('\n'))
    expect(printed).toEqual([
      'pending 15 root',
      'wait_dependencies 1',
      'done 2',
      'nightly-report false',
      expect.stringMatching(/^\d+ 0 cancelled$/),
      'pending',
      'done 2026-01-01T01:05:00.000Z',
    ])
  })
})

/** The first ts block of the README section under `heading` (up to the next '## '). */
function sectionExample(heading: string): string | undefined {
  const start = readme.indexOf(heading)
  const section = readme.slice(start, readme.indexOf('\n## ', start))
  return /```ts\n([\s\S]*?)```/.exec(section)?.[1]
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

describe('README Batches', () => {
  printsWhatItsCommentsSay('## Batches: `batch`, `batches`', 'batches.ts', /^.*\/\/ → (.*)$/gm, 4)
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
