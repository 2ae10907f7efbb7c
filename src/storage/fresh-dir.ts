// Where a backup or a restore may write, and how it appears there. The target must be new or an
// empty directory (refused, naming the path, before anything is written). Everything is written
// into a temporary sibling, synced, and only then renamed to the target: a crash half-way leaves a
// `<target>.tmp-…` directory, never something at the target that looks whole.

import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readlink, realpath, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { InvalidPropertyError, StorageError } from '../engine/errors.js'
import { syncDirectory } from './end-mark-file.js'

/** A path argument must be a non-empty string. `what` names it in the error. */
export function checkPathArg(path: unknown, what: string): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidPropertyError(`${what} must be a directory path (a non-empty string), got ${typeof path === 'string' ? '""' : String(path)}`)
  }
}

/** Refuse a target that exists and is not an empty directory. `what` names the role in errors. */
export async function checkFreshTarget(path: unknown, what: string): Promise<string> {
  checkPathArg(path, what)
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw new StorageError(`${what} ${JSON.stringify(path)} cannot be read (${error.code ?? error.message})`, { cause: error })
  })
  if (found === null) {
    // A symbolic link to nothing is not a new directory: the final rename could not replace it.
    const link = await readlink(path).catch(() => null)
    if (link !== null) throw new StorageError(`${what} ${JSON.stringify(path)} is a symbolic link to ${JSON.stringify(resolve(dirname(path), link))}, which does not exist; create that directory, or give another`)
    return path
  }
  if (!found.isDirectory()) throw new StorageError(`${what} ${JSON.stringify(path)} exists and is not a directory; give a new or empty directory`)
  const entries = await readdir(path)
  if (entries.length > 0) {
    throw new StorageError(`${what} ${JSON.stringify(path)} is not empty (${entries.length} entries, e.g. ${JSON.stringify(entries[0])}); give a new or empty directory, nothing was written`)
  }
  return path
}

/**
 * Refuse a target inside (or at) `other`: a copy must not be written into what it copies. Where
 * the paths lead, not how they are written: through a symbolic link to `other` (or `other`
 * given as one), a target outside it by name lies inside it on disk.
 */
export async function checkOutside(target: string, other: string, what: string): Promise<void> {
  const outer = await physical(other)
  const inner = await physical(target)
  if (inner === outer || inner.startsWith(outer + sep)) {
    throw new InvalidPropertyError(`${what} ${JSON.stringify(target)} is inside ${JSON.stringify(other)}, which it copies; give a directory outside it`)
  }
}

/** `path` absolute, with the symbolic links of its longest existing part resolved (the rest does not exist yet). */
async function physical(path: string): Promise<string> {
  const rest: string[] = []
  for (let at = resolve(path); ; at = dirname(at)) {
    const real = await realpath(at).catch(() => null)
    if (real !== null) return join(real, ...rest)
    if (dirname(at) === at) return resolve(path)
    rest.unshift(basename(at))
  }
}

/**
 * Fill a temporary sibling of `path` with `fill`, sync it, and rename it to `path` (which must
 * still be new or empty). On any failure the temporary directory is removed and `path` untouched.
 * `what` names the role as checkFreshTarget's does ('backup(): the backup directory'): a file
 * system that refuses the writes (EACCES, EROFS, ENOSPC…) is a StorageError naming `path`.
 */
export async function publishDirectory<T>(path: string, what: string, fill: (temp: string) => Promise<T>): Promise<T> {
  // An empty directory given through a symbolic link (a backups mount): the rename below replaces
  // a directory, not a link (ENOTDIR), so the copy is made beside, and put at, where it leads.
  const at = await realpath(path).catch(() => path)
  const parent = dirname(at)
  const temp = join(parent, `${basename(at)}.tmp-${randomBytes(6).toString('hex')}`)
  try {
    await makeParents(parent)
    await mkdir(temp)
  } catch (error) {
    throw refused('cannot create', what, path, error)
  }
  try {
    const result = await fill(temp)
    await syncDirectory(temp)
    // POSIX rename replaces an empty directory and fails on a non-empty one: if something was
    // written at `path` meanwhile, this refuses rather than mixing two stores.
    await rename(temp, at).catch((error: NodeJS.ErrnoException) => {
      throw new StorageError(`cannot move the finished copy into ${JSON.stringify(path)} (${error.code ?? error.message}); was something written there meanwhile?`, { cause: error })
    })
    await syncDirectory(parent)
    return result
  } catch (error) {
    await rm(temp, { recursive: true, force: true })
    throw refused('cannot write', what, path, error)
  }
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir loops forever where a file system
 * answers ENOENT for a directory whose parent exists (/proc does), spinning instead of failing.
 */
async function makeParents(dir: string): Promise<void> {
  const missing: string[] = []
  for (let at = resolve(dir); !(await stat(at).then((s) => s.isDirectory(), () => false)); at = dirname(at)) {
    missing.push(at)
    if (dirname(at) === at) break
  }
  for (const at of missing.reverse()) {
    await mkdir(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
    })
  }
}

/** A system error of the file system (it has a syscall) as a StorageError; anything else as it is. */
function refused(doing: string, what: string, path: string, error: unknown): unknown {
  const system = error as NodeJS.ErrnoException | null
  if (typeof system?.syscall !== 'string' || typeof system.code !== 'string') return error
  const at = what.indexOf(': ')
  return new StorageError(`${what.slice(0, at)}: ${doing} ${what.slice(at + 2)} ${JSON.stringify(path)} (${system.code}); nothing was written`, { cause: error })
}
