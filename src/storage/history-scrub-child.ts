// The history scrub's child process (history-scrub.ts starts it): opens the store files it is
// given — the store as it was before the open that started it, linked aside — as a LevelDB of its
// own, checks all of history (history-check.ts), and prints one JSON line:
//   {"views":N,"problems":[…]}
// LevelDB 1.20 aborts the process on some damaged tables (an assertion in its native code, which
// no JavaScript can catch), and reading all of history meets them by design: here that ends this
// process, and the parent says what it means, instead of ending the app's.
//
//   node history-scrub-child.js <dir>

import { ClassicLevel } from 'classic-level'
import { checkAll, HistoryCheck } from './history-check.js'
import { HistoryDamage } from './history-damage.js'
import { isLevelCorruption } from './level-open.js'
import type { Db } from './level-recovery.js'

const dir = process.argv[2]
if (dir === undefined) {
  process.stderr.write('usage: history-scrub-child.js <dir>\n')
  process.exit(2)
}

const damage = new HistoryDamage({ planRepair: false })
let views = 0
const db: Db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false })
try {
  await db.open()
  const check = new HistoryCheck(db, damage)
  await checkAll(check)
  views = check.views
} catch (error) {
  // LevelDB's own corruption error, met opening or reading: damage, named like any other.
  if (!isLevelCorruption(error)) throw error
  damage.unreadable((error as Error).message)
} finally {
  await db.close()
}
process.stdout.write(JSON.stringify({ views, problems: damage.problems() }) + '\n')
