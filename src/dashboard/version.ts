// The package's version, for GET /api/info: read once from the package.json above this file
// (src/dashboard when run from source, dist/src/dashboard once built).

import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'wharf-queue'
/** Folders walked up from this file before giving up. */
const LEVELS_MAX = 5

let version: string | undefined

export function packageVersion(): string {
  version ??= findVersion()
  return version
}

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let level = 0; level <= LEVELS_MAX; level++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version
    } catch {
      // no package.json here, or not readable: look further up
    }
    dir = dirname(dir)
  }
  return 'unknown'
}
