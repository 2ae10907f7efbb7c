// vitest globalSetup: the TypeScript of src/ and test/ transpiled once per run, file by file, into
// a directory of the repository (.test-build/<pid>), handed to the test files as
// inject('testBuild'). The tests that run Wharf in processes of their own (the CLI, the crash and
// chaos members, the corruption child) start those from it with plain `node`: under
// `node --import tsx` each such process spent ~0.8 s of CPU loading the loader and transforming its
// imports, and the suite starts a few hundred of them. Inside the repository so that package.json
// ("type": "module") and node_modules apply to it as to the sources. Every file keeps its path, so
// `new URL('./x.js', import.meta.url)` finds its neighbour there too.
import { readdir, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    testBuild: string
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

async function sources(dir: string): Promise<string[]> {
  const files: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const name = entry.name
    if (entry.isFile() && name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts')) files.push(join(entry.parentPath, name))
  }
  return files
}

async function transpile(): Promise<string> {
  const out = join(ROOT, '.test-build', String(process.pid))
  await rm(out, { recursive: true, force: true })
  const entryPoints = [...(await sources(join(ROOT, 'src'))), ...(await sources(join(ROOT, 'test')))]
  await build({ entryPoints, outdir: out, outbase: ROOT, format: 'esm', platform: 'node', target: 'node20', bundle: false, logLevel: 'warning' })
  return out
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Every project of the run loads this file in the same process: they share one build.
  const shared = globalThis as { wharfBuild?: { dir: Promise<string>; users: number } }
  shared.wharfBuild ??= { dir: transpile(), users: 0 }
  const entry = shared.wharfBuild
  entry.users++
  project.provide('testBuild', await entry.dir)
  return async () => {
    if (--entry.users > 0) return
    delete shared.wharfBuild
    await rm(await entry.dir, { recursive: true, force: true })
    await rmdir(join(ROOT, '.test-build')).catch(() => undefined) // another run's build may still be there
  }
}

