// Proves drain() calls made at once share a FakeClock instead of colliding on it: two drains of
// one Wharf, or drains of two Wharfs on one clock (two services of an app under test), each jump
// the clock, and FakeClock refuses a second advance while one runs. A drain() that finds the clock
// advancing waits for that advance, which moves time for it too; each resolves once its Wharf has
// nothing left, every job run at its own time.
import { afterEach, describe, expect, it } from 'vitest'
import { Wharf, type JobContext } from '../../src/index.js'
import { FakeClock } from '../../src/testing.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close({ timeoutMs: 1_000 })
})

const START = Date.UTC(2026, 0, 1)

/** A Wharf on `clock` (root:1) with jobs due at 1, 5 and 3 s that each sleep as many seconds. */
async function service(clock: FakeClock, ran: string[], name: string): Promise<Wharf> {
  const wharf = await Wharf.open({ clock })
  opened.push(wharf)
  const m = wharf.model('m', {
    async work(this: JobContext, seconds: number) {
      await this.sleep(seconds * 1_000)
      ran.push(`${name}${seconds}@${(this.now() - START) / 1_000}`)
    },
  })
  for (const seconds of [1, 5, 3]) await m.withDelay({ eta: seconds }).work(seconds)
  await wharf.start()
  return wharf
}

describe('drain() calls at once on one FakeClock', () => {
  it('two drains of one Wharf both resolve once every job ran', async () => {
    const clock = new FakeClock(START)
    const ran: string[] = []
    const wharf = await service(clock, ran, 'a')
    await Promise.all([wharf.drain(), wharf.drain()])
    expect(ran).toEqual(['a1@2', 'a3@6', 'a5@11'])
    expect(clock.now()).toBe(START + 11_000)
  })

  it('drains of two Wharfs sharing the clock both resolve, each job at its own time', async () => {
    const clock = new FakeClock(START)
    const ran: string[] = []
    const a = await service(clock, ran, 'a')
    const b = await service(clock, ran, 'b')
    await Promise.all([a.drain(), b.drain()])
    expect(ran.filter((r) => r.startsWith('a'))).toEqual(['a1@2', 'a3@6', 'a5@11'])
    expect(ran.filter((r) => r.startsWith('b'))).toEqual(['b1@2', 'b3@6', 'b5@11'])
  })
})
