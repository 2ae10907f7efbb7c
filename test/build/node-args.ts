// How a test runs a TypeScript file of the repository in a process of its own: the file's
// transpiled copy from this run's build (global-setup.ts), with plain `node`. Outside a vitest run
// with that setup (no build to inject), through tsx as before.
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inject } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The node arguments that run `source` (an absolute path to a .ts file under the repository). */
export function nodeArgs(source: string): string[] {
  const dir = inject('testBuild')
  if (dir === undefined) return ['--import', 'tsx', source]
  return [join(dir, relative(ROOT, source).replace(/\.ts$/, '.js'))]
}
