// The history scrub's child process (history-scrub.ts starts it): opens the store files it is
// given — the store as it was before the open that started it, linked aside — as a LevelDB of its
// own, checks all of history (history-check.ts), and prints one JSON line:
//   {"views":N,"problems":[…]}
// LevelDB 1.20 aborts the process on some damaged tables (an assertion in its native code, which
// no JavaScript can catch), and reading all of history meets them by design: here that ends this
// process, and the parent says what it means, instead of ending the app's.
//
//   node history-scrub-child.js <dir>
//
// The parent says on stdin whether the app is busy ('b') or idle ('i'): while it is busy, this
// pauses after each step BUSY_PAUSE_FACTOR times as long as the step took, to leave the machine
// to the app (a lower CPU priority alone does not: the app's own LevelDB threads, hyperthreads
// of one core, the disk); while it is idle, it goes on at once.

import { constants, setPriority } from 'node:os'
import { ClassicLevel } from 'classic-level'
import { HistoryCheck } from './history-check.js'
import { HistoryDamage } from './history-damage.js'
import { isLevelCorruption } from './level-corruption.js'
import type { Db } from './level-recovery.js'

const dir = process.argv[2]
if (dir === undefined) {
  process.stderr.write('usage: history-scrub-child.js <dir>\n')
  process.exit(2)
}

// The lowest CPU priority for this thread, before LevelDB's and libuv's threads are started: on
// Linux a priority is per thread, and threads take their creator's (the parent's setPriority of
// this pid reaches the main thread only, and maybe after they started).
try {
  setPriority(0, constants.priority.PRIORITY_LOW)
} catch {
  // EACCES/EPERM: run at the priority given.
}

/** The exit code when the parent died first (no answer printed). */
const PARENT_GONE_EXIT = 3
/** While the app is busy, the pause after a step, in multiples of the step's own time. */
const BUSY_PAUSE_FACTOR = 3
let busy = false
process.stdin.on('data', (chunk: Buffer) => (busy = chunk.at(-1) === 0x62)) // 'b'
// The parent closes this pipe only by dying (a close of its store kills this process): nobody
// waits for the answer any more, and the next open of the store removes the files this reads —
// so this ends at once, and does not hold them open under that open (or outlive it for ever).
process.stdin.on('end', () => process.exit(PARENT_GONE_EXIT))
process.stdin.on('error', () => process.exit(PARENT_GONE_EXIT))
process.stdin.unref()

const damage = new HistoryDamage({ planRepair: false })
let views = 0
const db: Db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false })
try {
  await db.open()
  const check = new HistoryCheck(db, damage)
  for (;;) {
    const started = performance.now()
    if (!(await check.step())) break
    if (busy) await new Promise((resolve) => setTimeout(resolve, BUSY_PAUSE_FACTOR * (performance.now() - started)))
  }
  views = check.views
} catch (error) {
  // LevelDB's own corruption error, met opening or reading: damage, named like any other.
  if (!isLevelCorruption(error)) throw error
  damage.unreadable((error as Error).message)
} finally {
  await db.close()
}
process.stdout.write(JSON.stringify({ views, problems: damage.problems() }) + '\n')
