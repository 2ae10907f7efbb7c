// The LevelDB side of the background history scrub (runtime/history-scrubber.ts drives it): a
// full check of history (history-check.ts) through one LevelDB snapshot taken when it is asked
// for, so that it reads one committed point however long it runs, with what it finds told the
// way every other teller tells it (history-damage.ts). Nothing is repaired: that is 'truncate's.

import type { HistoryScrub } from './history.js'
import { HistoryCheck } from './history-check.js'
import { HistoryDamage } from './history-damage.js'
import type { Db } from './level-recovery.js'

export function scrubOf(db: Db, where: string): HistoryScrub {
  const damage = new HistoryDamage({ planRepair: false })
  const check = new HistoryCheck(db, db.snapshot(), damage)
  return {
    where,
    get views() {
      return check.views
    },
    step: () => check.step(),
    close: () => check.close(),
    problems: () => damage.problems(),
  }
}
