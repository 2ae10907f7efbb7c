// Etas that fall due together past TICK_STARTS_MAX all start in the same wake-up: the tick that
// stops at the bound is followed at once by the next one, with no call or outcome to trigger it
// (handlers here sleep). The bound is shrunk with vi.mock of core/limits.ts.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'

vi.mock('../../src/engine/core/limits.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/engine/core/limits.js')>()),
  TICK_STARTS_MAX: 2,
}))

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close({ timeoutMs: 0 })
})

describe('a dispatch cut at TICK_STARTS_MAX', () => {
  it('goes on in the next tick: seven etas due at once all start before the wake-up settles', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ clock, log: new MemoryLog(), channels: 'root:10' })
    opened.push(wharf)
    const m = wharf.model('test.job', {
      async run() {
        await this.sleep(3_600_000)
        return 'late'
      },
    })
    for (let i = 0; i < 7; i++) await m.withDelay({ eta: 60 }).run()
    await wharf.start()
    expect((await wharf.jobs({ state: 'pending' })).length).toBe(7)
    await clock.advance(60_000)
    expect((await wharf.jobs({ state: 'started' })).length).toBe(7)
  })
})
