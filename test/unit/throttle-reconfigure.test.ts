// Proves that a throttle window follows the configuration of this open: the next start through a
// throttled channel comes `throttle` seconds (as configured now) after the last one, whether the
// state was rebuilt from the log or restored from a snapshot written under another throttle.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FakeClock, Wharf, type JobContext } from '../../src/index.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-throttle-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Starts one job through root.t at 0 under `before`, reopens at 20 s under `after`, delays a
 * second one: when it starts, and what explain said of it at 20 s (before start()). */
async function secondStart(before: string, after: string, snapshot: boolean) {
  const clock = new FakeClock(0)
  const starts: number[] = []
  const model = (wharf: Wharf) =>
    wharf.model('m', {
      async work(this: JobContext) {
        starts.push(clock.now())
        await this.sleep(10)
      },
    })
  let wharf = await Wharf.open({ path: dir, clock, channels: before })
  await model(wharf).withDelay({ channel: 't' }).work()
  await wharf.start()
  await wharf.drain()
  if (snapshot) await wharf.snapshot()
  await wharf.close()

  await clock.advanceTo(20_000)
  wharf = await Wharf.open({ path: dir, clock, channels: after })
  try {
    const job = await model(wharf).withDelay({ channel: 't' }).work()
    const explained = await wharf.explain(job.uuid)
    await wharf.start()
    await wharf.drain()
    return { starts, reasons: explained.reasons }
  } finally {
    await wharf.close()
  }
}

describe('a throttle changed between two opens', () => {
  for (const snapshot of [false, true]) {
    const from = snapshot ? 'a snapshot' : 'the log'
    it(`lowered: the next start waits the new throttle only (state from ${from})`, async () => {
      const { starts, reasons } = await secondStart('root:4,root.t:1:throttle=3600', 'root:4,root.t:1:throttle=10', snapshot)
      expect(starts).toEqual([0, 20_000])
      expect(reasons).toEqual([{ kind: 'stopped' }])
    })

    it(`raised: the next start waits the new throttle after the last one (state from ${from})`, async () => {
      const { starts, reasons } = await secondStart('root:4,root.t:1:throttle=10', 'root:4,root.t:1:throttle=3600', snapshot)
      expect(starts).toEqual([0, 3_600_000])
      expect(reasons).toEqual([{ kind: 'stopped' }, { kind: 'throttled', channel: 'root.t', untilMs: 3_600_000 }])
    })
  }
})
