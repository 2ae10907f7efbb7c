// Proves the README's operator sections stay true: the Graceful shutdown recipe runs as written
// in a process of its own — a SIGTERM while a handler runs lets it finish, closes the store and
// exits 0, leaving no job to recover — and the Command line section names every command the CLI
// has (and no other).
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/cli/commands.js'
import { Wharf } from '../../src/index.js'
import { ROOT, tempDirs } from './cli-helpers.js'

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const tempDir = tempDirs('wharf-readme-ops-')

function section(title: string): string {
  const start = readme.indexOf(`## ${title}\n`)
  expect(start).toBeGreaterThan(0)
  return readme.slice(start, readme.indexOf('\n## ', start + 1))
}

describe('README Graceful shutdown', () => {
  it('runs as written: SIGTERM lets the running handler finish, closes the store, exits 0', async () => {
    const recipe = /```ts\n([\s\S]*?)```/.exec(section('Graceful shutdown'))?.[1]
    expect(recipe).toBeDefined()
    const dir = await tempDir()
    const path = join(dir, 'jobs')
    const app = await Wharf.open({ path })
    const reports = app.model('reports', { build: async (_month: string) => '' })
    const job = await reports.withDelay().build('2026-05')
    await app.close()

    const file = join(dir, 'shutdown.mts')
    writeFileSync(file, recipe!.replaceAll("from 'wharf-queue'", `from ${JSON.stringify(join(ROOT, 'src/index.ts'))}`).replaceAll("'./data/jobs'", JSON.stringify(path)))
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
        if (out.includes('building 2026-05\n')) resolve()
      })
      child.on('close', () => reject(new Error(`the recipe ended before its handler ran: ${out} ${err}`)))
    })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(out).toBe('building 2026-05\nclosed\n')

    const reopened = await Wharf.open({ path })
    try {
      expect(reopened.openReport.requeued).toBe(0)
      expect(await reopened.job(job.uuid)).toMatchObject({ state: 'done', result: '2026-05: 5 pages' })
    } finally {
      await reopened.close()
    }
  })
})

describe('README Command line', () => {
  it('names every command of the CLI, and no other', () => {
    const text = section('Command line')
    const named = new Set([...text.matchAll(/`wharf ([a-z]+)[ `]/g)].map((m) => m[1]!))
    named.delete('help') // `wharf help <command>`
    expect([...named].sort()).toEqual([...COMMANDS.keys()].sort())
  })
})
