// 'truncate' recovery of history (level-history.ts): a finished job's view that cannot be read
// (its checksum or JSON is damaged) is dropped with every index key that names it, index keys that
// name a job with no view are dropped, and the per-combo counts are recounted from the composite
// index — all in one synced batch. The dropped jobs are named in the warning: each is a finished
// job whose final view is lost (its events may be long compacted), which 'truncate' accepts
// explicitly, as it accepts a lost tail of the log. Nothing else holds a finished job's view, so
// this is the only recovery there is; a store with nothing damaged is left untouched.

import type { Db, Op } from './level-recovery.js'
import { COMBO_INDEX, COUNT_PREFIX, end, INDEX_PREFIX, unesc, VIEW_PREFIX } from './level-history.js'
import { decodeView, ViewDecodeError } from './view-codec.js'

/** Jobs named in a warning, at most. */
const NAMED_MAX = 20

/** What is wrong with history in a store: nothing when every list is empty and `ops` too. */
export interface HistoryDamage {
  /** Finished jobs whose view cannot be read (escaped uuids, as in the keys). */
  damaged: string[]
  /** Finished jobs an index names that have no view and no damaged one (escaped uuids). */
  orphans: string[]
  /** Index keys naming a job without a readable view. */
  dangling: number
  /** Counts that differ from the composite index, or that count a combo it does not hold. */
  recounted: number
  /** Readable views. */
  views: number
  /** The writes that repair it all: deletes of damaged views and dangling keys, counts rewritten. */
  ops: Op[]
}

/** Read every view, index key and count of history in `db`, and plan its repair; writes nothing. */
export async function findHistoryDamage(db: Db): Promise<HistoryDamage> {
  const views = new Set<string>()
  const damaged: string[] = []
  for await (const [key, value] of db.iterator({ gte: VIEW_PREFIX, lt: end(VIEW_PREFIX) })) {
    const uuid = key.slice(VIEW_PREFIX.length)
    try {
      decodeView(value, unesc(uuid))
      views.add(uuid)
    } catch (error) {
      if (!(error instanceof ViewDecodeError)) throw error
      damaged.push(uuid)
    }
  }
  const ops: Op[] = damaged.map((uuid) => ({ type: 'del', key: VIEW_PREFIX + uuid }))
  let dangling = 0
  const orphans = new Set<string>()
  const counted = new Map<string, [number, number]>()
  for await (const key of db.keys({ gte: INDEX_PREFIX, lt: end(INDEX_PREFIX) })) {
    const uuid = key.slice(key.lastIndexOf('\x00') + 1)
    if (!views.has(uuid)) {
      ops.push({ type: 'del', key })
      dangling++
      if (!damaged.includes(uuid)) orphans.add(uuid)
    } else if (key.startsWith(COMBO_INDEX)) countCombo(counted, key)
  }
  const recounted = await recount(db, counted, ops)
  return { damaged, orphans: [...orphans], dangling, recounted, views: views.size, ops }
}

/** Repair history in `db`; returns what was done (for the warning), or null when nothing was damaged. */
export async function repairHistory(db: Db): Promise<string | null> {
  const { damaged, orphans, dangling, recounted, ops } = await findHistoryDamage(db)
  if (ops.length === 0) return null
  await db.batch(ops, { sync: true })
  const lost = damaged.length === 0 ? 'no view was damaged' : `${damaged.length} finished job(s) whose view was damaged are lost from history (${named(damaged)})`
  const missing = orphans.length === 0 ? '' : ` (${orphans.length} finished job(s) named by an index have no view: lost from history: ${named(orphans)})`
  return `history repaired: ${lost}; ${dangling} index key(s) naming a job without a view dropped${missing}; ${recounted} count(s) rewritten`
}

function named(uuids: string[]): string {
  return uuids.slice(0, NAMED_MAX).map(unesc).join(', ') + (uuids.length > NAMED_MAX ? ', …' : '')
}

/** A composite key: COMBO_INDEX channel \0 state \0 model \0 method \0 uuid (fields escaped). */
function countCombo(counted: Map<string, [number, number]>, key: string): void {
  const [channel, state, model, method] = key.slice(COMBO_INDEX.length).split('\x00')
  const combo = `${channel}\x00${model}\x00${method}`
  const counts = counted.get(combo) ?? [0, 0]
  if (state === 'done') counts[0]++
  else if (state === 'cancelled') counts[1]++
  counted.set(combo, counts)
}

/** Stage a put for every stored count that differs from the index, a del for every extra one. */
async function recount(db: Db, counted: Map<string, [number, number]>, ops: Op[]): Promise<number> {
  let rewritten = 0
  const stored = new Map<string, string>()
  for await (const [key, value] of db.iterator({ gte: COUNT_PREFIX, lt: end(COUNT_PREFIX) })) stored.set(key.slice(COUNT_PREFIX.length), Buffer.from(value).toString('utf8'))
  for (const combo of stored.keys()) {
    if (counted.has(combo)) continue
    ops.push({ type: 'del', key: COUNT_PREFIX + combo })
    rewritten++
  }
  for (const [combo, counts] of counted) {
    const text = JSON.stringify(counts)
    if (stored.get(combo) === text) continue
    ops.push({ type: 'put', key: COUNT_PREFIX + combo, value: Buffer.from(text) })
    rewritten++
  }
  return rewritten
}

/** 'truncate': repair history in `db`, warning with what was dropped. */
export async function auditHistory(db: Db, path: string, warn: (message: string) => void): Promise<void> {
  const repaired = await repairHistory(db)
  if (repaired !== null) warn(`corrupt history in ${JSON.stringify(path)}; ${repaired} (onCorruption: 'truncate')`)
}
