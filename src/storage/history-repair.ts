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
import type { Db } from './level-recovery.js'

/** Read every view, index key and count of history in `db` (nothing else writing), and plan its
 * repair (`damage.ops`); writes nothing. `views`: the readable views. */
export async function findHistoryDamage(db: Db): Promise<{ damage: HistoryDamage; views: number }> {
  const damage = new HistoryDamage({ planRepair: true })
  const check = new HistoryCheck(db, null, damage)
  try {
    await checkAll(check)
  } finally {
    await check.close()
  }
  return { damage, views: check.views }
}

/** Repair history in `db`; returns what was done (for the warning), or null when nothing was damaged. */
export async function repairHistory(db: Db): Promise<string | null> {
  const { damage } = await findHistoryDamage(db)
  if (damage.ops!.length === 0) return null
  await db.batch(damage.ops!, { sync: true })
  return damage.repairSummary()
}

/** 'truncate': repair history in `db`, warning with what was dropped. */
export async function auditHistory(db: Db, path: string, warn: (message: string) => void): Promise<void> {
  const repaired = await repairHistory(db)
  if (repaired !== null) warn(`corrupt history in ${JSON.stringify(path)}; ${repaired} (onCorruption: 'truncate')`)
}
