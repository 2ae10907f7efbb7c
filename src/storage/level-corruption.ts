// Which LevelDB errors are damage to the store. LevelDB reports most damage as its corruption
// error (LEVEL_CORRUPTION), but LevelDB 1.20 reads its tables through mmap, and a table file
// shorter than its MANIFEST says (cut short by a full disk, an interrupted copy or restore) fails
// the read past its end as an IO error with EINVAL — "IO error: <dir>/000005.ldb: Invalid
// argument" — where a table read with pread reports "truncated block read" corruption. Same
// damage, so it is named the same way; any other IO error (a full disk on a write) is not.

/** A table read past its end: the message LevelDB 1.20 gives (also the child program's test). */
export const TABLE_CUT_SHORT = /\.(ldb|sst): Invalid argument$/

export function hasCode(error: unknown, code: string): boolean {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null
  return e?.code === code || e?.cause?.code === code
}

function isTableCutShort(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null
  return [e, e?.cause].some((x) => x?.code === 'LEVEL_IO_ERROR' && typeof x.message === 'string' && TABLE_CUT_SHORT.test(x.message))
}

/**
 * What LevelDB said: classic-level fails an open as "Database failed to open", with LevelDB's own
 * words — which file, what is wrong with it ("Corruption: 1 missing files; e.g.: …/000005.ldb") —
 * only in its cause. A message without them names nothing a user can act on.
 */
export function levelMessage(error: unknown): string {
  const e = error as { message?: unknown; cause?: { message?: unknown } } | null
  const own = String(e?.message ?? error)
  return typeof e?.cause?.message === 'string' && e.cause.message !== '' ? `${own}: ${e.cause.message}` : own
}

/** Whether `error` is (or names) an error LevelDB reported (any LEVEL_ code): not one of Wharf's own checks. */
export function isLevelError(error: unknown): boolean {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null
  return [e?.code, e?.cause?.code].some((code) => typeof code === 'string' && code.startsWith('LEVEL_'))
}

/** Whether `error` is (or names) LevelDB's report of a damaged store. */
export function isLevelCorruption(error: unknown): boolean {
  return hasCode(error, 'LEVEL_CORRUPTION') || isTableCutShort(error)
}
