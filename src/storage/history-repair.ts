// 'truncate' recovery of history (level-history.ts): a finished job's view that cannot be read
// (its checksum or JSON is damaged, or it is filed under a place its fields do not match) is
// dropped with every index key that names it, index keys that name a job with no view are
// dropped, and the per-combo counts are recounted from the views — all in one synced batch. The
// dropped jobs are named in the warning: each is a finished job whose final view is lost (its
// events may be long compacted), which 'truncate' accepts explicitly, as it accepts a lost tail
// of the log. Nothing else holds a finished job's view, so this is the only recovery there is; a
// store with nothing damaged is left untouched.

import type { Db, Op } from './level-recovery.js'
import { COUNT_PREFIX, end, INDEX_PREFIX, unesc, VIEW_PREFIX } from './level-history.js'
import { uuidOfRef } from './finish-groups.js'
import { decodeView, ViewDecodeError } from './view-codec.js'

/** Jobs named in a warning, at most. */
const NAMED_MAX = 20

/** Repair history in `db`; returns what was done (for the warning), or null when nothing was damaged. */
export async function repairHistory(db: Db): Promise<string | null> {
  const refs = new Set<string>()
  const damaged: string[] = []
  const counted = new Map<string, [number, number]>()
  const ops: Op[] = []
  for await (const [key, value] of db.iterator({ gte: VIEW_PREFIX, lt: end(VIEW_PREFIX) })) {
    const ref = key.slice(VIEW_PREFIX.length)
    const uuid = uuidOfRef(ref)
    const place = ref.slice(0, ref.length - uuid.length - 1).split('\x00')
    if (readable(value, unesc(uuid), place)) {
      refs.add(ref)
      countPlace(counted, place)
    } else {
      damaged.push(uuid)
      ops.push({ type: 'del', key })
    }
  }
  let dangling = 0
  const orphans = new Set<string>()
  for await (const [key, place] of db.iterator({ gte: INDEX_PREFIX, lt: end(INDEX_PREFIX) })) {
    const uuid = uuidOfRef(key)
    if (refs.has(Buffer.from(place).toString('utf8') + '\x00' + uuid)) continue
    ops.push({ type: 'del', key })
    dangling++
    if (!damaged.includes(uuid)) orphans.add(uuid)
  }
  const recounted = await recount(db, counted, ops)
  if (ops.length === 0) return null
  await db.batch(ops, { sync: true })
  const lost = damaged.length === 0 ? 'no view was damaged' : `${damaged.length} finished job(s) whose view was damaged are lost from history (${named(damaged)})`
  const missing = orphans.size === 0 ? '' : ` (${orphans.size} finished job(s) named by an index have no view: lost from history: ${named([...orphans])})`
  return `history repaired: ${lost}; ${dangling} index key(s) naming a job without a view dropped${missing}; ${recounted} count(s) rewritten`
}

/** A view that decodes (checksum included) and whose fields are those of the place it is filed under. */
function readable(bytes: Uint8Array, uuid: string, place: string[]): boolean {
  try {
    const view = decodeView(bytes, uuid)
    const [channel, state, model, method] = place.map(unesc)
    return place.length === 4 && view.channel === channel && view.state === state && view.model === model && view.method === method
  } catch (error) {
    if (!(error instanceof ViewDecodeError)) throw error
    return false
  }
}

function named(uuids: string[]): string {
  return uuids.slice(0, NAMED_MAX).map(unesc).join(', ') + (uuids.length > NAMED_MAX ? ', …' : '')
}

/** Count a view of place (channel, state, model, method; fields escaped) in its combo. */
function countPlace(counted: Map<string, [number, number]>, [channel, state, model, method]: string[]): void {
  const combo = `${channel}\x00${model}\x00${method}`
  const counts = counted.get(combo) ?? [0, 0]
  if (state === 'done') counts[0]++
  else if (state === 'cancelled') counts[1]++
  counted.set(combo, counts)
}

/** Stage a put for every stored count that differs from the views, a del for every extra one. */
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
