// Proves what `npm pack` would publish, from a clean build (its `prepare` script removes dist and
// compiles): the entry points, their types, the `wharf` bin, LICENSE and README — and no tests,
// no simulator, no benches, no TypeScript sources, no source maps (they would point at sources
// the package does not ship). Then runs the compiled bin, as an installed package would, and the
// compiled history scrub, whose child process must run from dist without the sources or tsx.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { runNode } from '../../src/storage/level-child.js'
import { ROOT } from './cli-helpers.js'

type Packed = { name: string; files: { path: string }[] }

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  main: string
  types: string
  bin: Record<string, string>
  exports: Record<string, { types: string; default: string }>
}
let files: string[]

/** `npm pack --dry-run --json`: builds (prepare), lists, writes no tarball. */
function npmPackDryRun(): Promise<Packed> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`npm pack exited ${code}: ${err.slice(-2000)}`))
      // Lifecycle scripts may print before the document: it starts at the first line that opens it.
      const start = out.search(/^\[/m)
      resolve((JSON.parse(out.slice(start)) as Packed[])[0]!)
    })
  })
}

beforeAll(async () => {
  const packed = await npmPackDryRun()
  expect(packed.name).toBe('wharf-queue')
  files = packed.files.map((f) => f.path)
}, 300_000)

describe('npm pack', () => {
  it('ships the entry points with their types, the bin, LICENSE, README and package.json', () => {
    const entries = Object.values(pkg.exports).flatMap((e) => [e.types, e.default])
    const wanted = ['LICENSE', 'README.md', 'package.json', pkg.main, pkg.types, ...Object.values(pkg.bin), ...entries].map((p) => p.replace(/^\.\//, ''))
    expect(wanted).toEqual(expect.arrayContaining(['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli.js', 'dist/src/testing.d.ts', 'dist/src/dashboard.d.ts']))
    expect(wanted.filter((p) => !files.includes(p))).toEqual([])
    // Every module ships its declarations.
    const js = files.filter((p) => p.endsWith('.js'))
    expect(js.length).toBeGreaterThan(50)
    expect(js.filter((p) => !files.includes(p.replace(/\.js$/, '.d.ts')))).toEqual([])
  })

  it('ships no tests, simulator, benches, demo, TypeScript sources or source maps', () => {
    const segments = (p: string): string[] => p.split('/')
    expect(files.filter((p) => segments(p).some((s) => s === 'test' || s === 'sim' || s === 'bench' || s === 'mutants' || s === 'fixtures'))).toEqual([])
    expect(files.filter((p) => /simulat|demo\./.test(p))).toEqual([])
    expect(files.filter((p) => p.startsWith('src/') || (p.endsWith('.ts') && !p.endsWith('.d.ts')))).toEqual([])
    expect(files.filter((p) => p.endsWith('.map'))).toEqual([])
  })

  it('points no shipped module at a source map', async () => {
    const mapped: string[] = []
    for (const p of files.filter((f) => f.endsWith('.js'))) if ((await readFile(join(ROOT, p), 'utf8')).includes('sourceMappingURL')) mapped.push(p)
    expect(mapped).toEqual([])
  })

  it('the compiled bin runs: a node shebang, then the CLI', async () => {
    const bin = join(ROOT, pkg.bin.wharf!)
    expect((await readFile(bin, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node')
    expect(await runNode([bin, '--version'])).toMatchObject({ code: 0, out: `${pkg.version}\n` })
    const help = await runNode([bin, 'help'])
    expect([help.code, help.out]).toEqual([0, expect.stringContaining('  verify ')])
  })

  it('the compiled history scrub runs its compiled child process', async () => {
    expect(files).toContain('dist/src/storage/history-scrub-child.js')
    const dir = await mkdtemp(join(tmpdir(), 'wharf-package-scrub-'))
    const program = `
      const { Wharf } = await import(${JSON.stringify(pathToFileURL(join(ROOT, pkg.main)).href)})
      const path = ${JSON.stringify(join(dir, 'jobs'))}
      const first = await Wharf.open({ path })
      const m = first.model('package.scrub', { run: () => 'ran' })
      for (let i = 0; i < 3; i++) await m.withDelay().run()
      await first.start()
      await first.idle()
      await first.close()
      const second = await Wharf.open({ path })
      console.log(JSON.stringify(await second.integrity()))
      await second.close()`
    try {
      const run = await runNode(['--input-type=module', '-e', program], dir)
      expect(run.err).toBe('')
      expect(JSON.parse(run.out)).toEqual({ status: 'ok', problems: [], views: 3 })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('runs a threaded model from the build: its worker entry ships, a plain .mjs module loads', async () => {
    expect(files).toContain('dist/src/engine/runtime/thread-entry.js')
    const dir = await mkdtemp(join(tmpdir(), 'wharf-pack-threads-'))
    try {
      const index = join(ROOT, pkg.main)
      await writeFile(join(dir, 'jobs.mjs'), `import { RetryableJobError } from ${JSON.stringify(index)}
export function square(n) { return n * n }
export function later() { throw new RetryableJobError('later', { seconds: 0 }) }\n`)
      await writeFile(join(dir, 'main.mjs'), `import { Wharf } from ${JSON.stringify(index)}
const wharf = await Wharf.open()
const m = await wharf.model('m', { module: new URL('./jobs.mjs', import.meta.url), threads: 1 })
const job = await m.withDelay({ maxRetries: 2 }).later()
await wharf.start()
await wharf.drain()
const view = await wharf.job(job.uuid)
console.log(JSON.stringify([wharf.functionList().map((f) => f.name), await m.square(7), view.retry, view.excMessage]))
await wharf.close()\n`)
      const run = await runNode([join(dir, 'main.mjs')])
      expect([run.code, run.err]).toEqual([0, ''])
      expect(JSON.parse(run.out)).toEqual([['m.later', 'm.square'], 49, 2, 'Max. retries (2) reached: later'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
