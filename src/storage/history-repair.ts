// 'truncate' recovery of history (level-history.ts), from a full check of it (history-check.ts):
// a finished job's view that cannot be read (its checksum or JSON is damaged) is dropped with
// every index key that names it, index keys that name a job with no view are dropped, index keys
// a readable view lacks are put back (they are derived from the view), and the per-combo counts
// are rewritten from the views — all in one synced batch. The dropped jobs are named in the
// warning: each is a finished job whose final view is lost (its events may be long compacted),
// which 'truncate' accepts explicitly, as it accepts a lost tail of the log. Nothing else holds a
// finished job's view, so this is the only recovery there is; a store with nothing damaged is
// left untouched.

import { checkAll, HistoryCheck } from './history-check.js'
import { HistoryDamage } from './history-damage.js'
import { COMPLETE_KEY } from './level-history.js'
import type { Db, Op } from './level-recovery.js'

/** Read every view, index key and count of history in `db` (nothing else writing), and plan its
 * repair (`damage.ops`); writes nothing. `views`: the readable views. */
export async function findHistoryDamage(db: Db): Promise<{ damage: HistoryDamage; views: number }> {
  const damage = new HistoryDamage({ planRepair: true })
  const check = new HistoryCheck(db, damage)
  try {
    await checkAll(check)
  } finally {
    await check.close()
  }
  if (check.keys > 0 && (await db.get(COMPLETE_KEY)) === undefined) damage.completeMarkMissing()
  return { damage, views: check.views }
}

/** 'truncate': repair history in `db`, warning with what was dropped; returns the views read. */
export async function auditHistory(db: Db, path: string, warn: (message: string) => void): Promise<number> {
  const { damage, views } = await findHistoryDamage(db)
  if (damage.ops!.length === 0) return views
  // A delete by bytes carries its own keyEncoding, which the batch's types (keys: string) do not model.
  await db.batch(damage.ops! as Op[], { sync: true })
  warn(`corrupt history in ${JSON.stringify(path)}; ${damage.repairSummary()} (onCorruption: 'truncate')`)
  return views
}
