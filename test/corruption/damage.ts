// The damage the corruption suite applies to a closed store's files (not a test itself): each
// kind is a fault a disk, a crash or a careless copy can cause, placed by a seeded random source.
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'

export const DAMAGE_KINDS = ['truncate-log', 'flip-log', 'flip-ldb', 'delete-current', 'delete-manifest', 'lose-snapshot'] as const
export type DamageKind = (typeof DAMAGE_KINDS)[number]

/** LevelDB's files of one type, largest number (newest) last. */
async function filesOf(path: string, suffix: string): Promise<string[]> {
  const names = (await readdir(path)).filter((n) => n.endsWith(suffix))
  return names.sort().map((n) => join(path, n))
}

async function newest(path: string, suffix: string): Promise<string> {
  const found = await filesOf(path, suffix)
  if (found.length === 0) throw new Error(`no ${suffix} file in ${path} to damage`)
  return found.at(-1)!
}

/** Flip one bit pattern (0x20) at `offset` of `file`. */
async function flipByte(file: string, offset: number): Promise<void> {
  const bytes = await readFile(file)
  bytes[offset]! ^= 0x20
  await writeFile(file, bytes)
}

/**
 * Damage the closed store at `path`; `rand` places it. Returns what was done, for messages:
 * a failing seed must say which file and offset.
 */
export async function damage(path: string, kind: DamageKind, rand: () => number): Promise<string> {
  switch (kind) {
    case 'truncate-log': {
      const file = await newest(path, '.log')
      const size = (await stat(file)).size
      const keep = Math.floor(rand() * size)
      await truncate(file, keep)
      return `${file} cut to ${keep} of ${size} bytes`
    }
    case 'flip-log':
    case 'flip-ldb': {
      const files = await filesOf(path, kind === 'flip-log' ? '.log' : '.ldb')
      const file = kind === 'flip-log' ? files.at(-1) : files[Math.floor(rand() * files.length)]
      if (file === undefined) throw new Error(`no file to damage for ${kind} in ${path}`)
      const size = (await stat(file)).size
      const offset = Math.floor(rand() * size)
      await flipByte(file, offset)
      return `${file} byte ${offset} of ${size} flipped`
    }
    case 'delete-current':
      await rm(join(path, 'CURRENT'))
      return `${join(path, 'CURRENT')} deleted`
    case 'delete-manifest': {
      const file = await newest(path, '')
      const manifests = (await readdir(path)).filter((n) => n.startsWith('MANIFEST-'))
      for (const name of manifests) await rm(join(path, name))
      return `${manifests.join(', ')} deleted (newest file ${file})`
    }
    case 'lose-snapshot': {
      const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
      await db.open()
      await db.del('s')
      await db.close()
      return `key "s" deleted`
    }
  }
}
