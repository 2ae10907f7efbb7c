// Keys outside every range Wharf writes. LevelDB does not verify its table checksums on reads
// (classic-level cannot ask it to), so a damaged table block can decode with a garbled key: a
// finished job's view key 'h\0j\0…' with one flipped bit becomes 'h\0J\0…', outside the range
// history reads, and the job is gone from every page without an error. A garbled key inside a
// range is caught by the checksums of what it holds (records and views name their own seq or
// uuid); one that left its range is found here, by one seek into each gap between the ranges —
// ten seeks per open, whatever the size of the store. (A key garbled into another range of the
// right kind, e.g. a view key into the index range, is caught where that range is read.)

import { COMPLETE_KEY, COUNT_PREFIX, end, INDEX_PREFIX, VIEW_PREFIX } from './level-history.js'
import { STORE_ID_KEY } from './end-mark.js'
import { TIME_PREFIX } from './finish-groups.js'
import { LogCorruptionError } from '../engine/errors.js'
import { FIRST_KEY, FLOOR_KEY, LAST_KEY, SNAPSHOT_KEY, type Db } from './level-recovery.js'

type Range = { gt?: string; gte?: string; lt?: string }

/** The gaps between Wharf's key ranges, in key order: before the first, between each two, after the last. */
function gaps(): Range[] {
  // [first key, where the gap after it starts]: a prefix range ends before end(prefix), inclusive
  // of nothing past it; a span of whole keys ends at its last key.
  const ranges: Array<[string, Range]> = [
    [FIRST_KEY, { gt: LAST_KEY }],
    [COMPLETE_KEY, { gt: COMPLETE_KEY }],
    [INDEX_PREFIX, { gte: end(INDEX_PREFIX) }],
    [VIEW_PREFIX, { gte: end(VIEW_PREFIX) }],
    [COUNT_PREFIX, { gte: end(COUNT_PREFIX) }],
    [TIME_PREFIX, { gte: end(TIME_PREFIX) }],
    [FLOOR_KEY, { gt: FLOOR_KEY }],
    [STORE_ID_KEY, { gt: STORE_ID_KEY }],
    [SNAPSHOT_KEY, { gt: SNAPSHOT_KEY }],
  ]
  const out: Range[] = [{ lt: ranges[0]![0] }]
  ranges.forEach(([, after], i) => {
    const next = ranges[i + 1]?.[0]
    out.push(next === undefined ? after : { ...after, lt: next })
  })
  return out
}

const GAPS = gaps()

/** The first key outside Wharf's ranges, or null. */
export async function findStrayKey(db: Db): Promise<string | null> {
  for (const gap of GAPS) {
    const found = await db.keys({ ...gap, limit: 1 }).all()
    if (found.length > 0) return found[0]!
  }
  return null
}

/** Every key outside Wharf's ranges ('truncate' deletes them). */
export async function allStrayKeys(db: Db): Promise<string[]> {
  const keys: string[] = []
  for (const gap of GAPS) for await (const key of db.keys(gap)) keys.push(key)
  return keys
}

/** With 'throw', a stray key is a LogCorruptionError; 'truncate' deletes them all, with a warning. */
export async function checkStrayKeys(db: Db, path: string, onCorruption: 'throw' | 'truncate', warn: (message: string) => void): Promise<void> {
  const stray = await findStrayKey(db)
  if (stray === null) return
  const what = `the Wharf store ${JSON.stringify(path)} is damaged: LevelDB holds key ${JSON.stringify(stray)}, outside every range Wharf writes (a garbled key of a damaged table; what it held is missing where it belongs)`
  if (onCorruption === 'throw') throw new LogCorruptionError(`${what}; open with onCorruption: 'truncate' to delete such keys and check what they held`, 0)
  const keys = await allStrayKeys(db)
  await db.batch(keys.map((key) => ({ type: 'del' as const, key })), { sync: true })
  warn(`${what}; deleted ${keys.length} such key(s) (onCorruption: 'truncate')`)
}
