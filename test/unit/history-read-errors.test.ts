// Proves a read of history after open names what LevelDB failed with: its corruption as a
// LogCorruptionError (as before), any other error of its own (a table this process may not read:
// EACCES, EIO) as a StorageError naming the store and LevelDB's words, where it escaped raw (an
// Error with code LEVEL_IO_ERROR and no word of the store). Wharf's own errors pass as they are.
import { describe, expect, it } from 'vitest'
import { LogCorruptionError, StorageError } from '../../src/index.js'
import { ComboCatalog } from '../../src/storage/combo-catalog.js'
import { LevelHistoryReads } from '../../src/storage/level-history-reads.js'
import type { Db } from '../../src/storage/level-recovery.js'
import { failure } from './helpers.js'

/** Reads over a db whose every get fails with `error`. */
function readsFailingWith(error: unknown): LevelHistoryReads {
  const db = { get: async () => Promise.reject(error) } as unknown as Db
  const catalog = new ComboCatalog()
  return new LevelHistoryReads(() => db, '/stores/jobs', catalog, catalog)
}

/** An error as classic-level makes one: LevelDB's words in its cause. */
function levelError(code: string, message: string, cause: string): Error {
  return Object.assign(new Error(message, { cause: new Error(cause) }), { code })
}

describe('a read of history that LevelDB fails', () => {
  it('names an I/O error as a StorageError, with the store and what LevelDB said', async () => {
    const error = await failure(() => readsFailingWith(levelError('LEVEL_IO_ERROR', 'IO error', 'IO error: /stores/jobs/000012.ldb: Permission denied')).get('01J'))
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toBe('reading history in "/stores/jobs" failed: LevelDB reports IO error: IO error: /stores/jobs/000012.ldb: Permission denied')
  })

  it('names corruption as a LogCorruptionError, as before, with what LevelDB said', async () => {
    const error = await failure(() => readsFailingWith(levelError('LEVEL_CORRUPTION', 'Corruption', 'block checksum mismatch')).get('01J'))
    expect(error).toBeInstanceOf(LogCorruptionError)
    expect((error as Error).message).toContain('corrupt history in "/stores/jobs": LevelDB reports Corruption: block checksum mismatch')
  })

  it("lets an error that is not LevelDB's pass as it is", async () => {
    const own = new TypeError('not a level error')
    expect(await failure(() => readsFailingWith(own).get('01J'))).toBe(own)
  })
})
