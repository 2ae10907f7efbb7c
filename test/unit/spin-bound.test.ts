// A scheduling bug that makes the tick loop spin fails loudly within IDLE_DUE_TICKS_MAX ticks
// instead of hanging: the pick is shifted 1 ms into the past (vi.mock of core/schedule.ts), which
// is the `<` for `<=` slip on the eta comparison — the wake-up says an eta is due, the pick never
// takes it. Then the guard alone: progress or a wake-up still ahead resets it.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AssertionError } from '../../src/engine/core/assert.js'
import { IDLE_DUE_TICKS_MAX } from '../../src/engine/core/limits.js'
import { SpinGuard } from '../../src/engine/runtime/wake-timer.js'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'
import { failure } from './helpers.js'

const picks = vi.hoisted(() => ({ count: 0, late: false }))

vi.mock('../../src/engine/core/schedule.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/engine/core/schedule.js')>()
  return {
    ...original,
    pickNext: (...args: Parameters<typeof original.pickNext>) => {
      picks.count++
      if (picks.late) args[1] -= 1
      return original.pickNext(...args)
    },
  }
})

afterEach(() => {
  picks.count = 0
  picks.late = false
})

async function openWithDelayedJob(): Promise<{ wharf: Wharf; clock: FakeClock; uuid: string }> {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ clock, log: new MemoryLog() })
  const m = wharf.model('test.job', {
    run() {
      return 'ok'
    },
  })
  const job = await m.withDelay({ eta: 60 }).run()
  await wharf.start()
  return { wharf, clock, uuid: job.uuid }
}

describe('the tick loop is bounded', () => {
  it('an eta the pick never takes stops the engine with an AssertionError, after a bounded number of ticks', async () => {
    const { wharf, clock } = await openWithDelayedJob()
    picks.late = true
    picks.count = 0
    // Without the bound this advance never returns: the timer fires at the eta, the tick picks
    // nothing, the wake-up is due again at the same instant, and FakeClock time never moves.
    await clock.advance(60_000)
    const error = await failure(() => wharf.jobs())
    expect(error).toBeInstanceOf(AssertionError)
    expect((error as Error).message).toContain('IDLE_DUE_TICKS_MAX')
    expect(picks.count).toBeGreaterThan(IDLE_DUE_TICKS_MAX)
    expect(picks.count).toBeLessThanOrEqual(IDLE_DUE_TICKS_MAX + 2)
    await wharf.close()
  })

  it('the same store with the pick intact runs the job at its eta, in one wake-up', async () => {
    const { wharf, clock, uuid } = await openWithDelayedJob()
    picks.count = 0
    await clock.advance(60_000)
    await wharf.idle()
    expect((await wharf.job(uuid))?.state).toBe('done')
    expect(picks.count).toBeLessThan(10)
    await wharf.close()
  })
})

describe('SpinGuard', () => {
  const nowMs = 1_000

  it(`fails on the tick after ${IDLE_DUE_TICKS_MAX} idle ticks with a wake-up due`, () => {
    const guard = new SpinGuard()
    for (let i = 0; i < IDLE_DUE_TICKS_MAX; i++) guard.idle(nowMs, nowMs)
    expect(() => guard.idle(nowMs - 5, nowMs)).toThrow(AssertionError)
  })

  it('counts only ticks in a row: an appended event or a wake-up still ahead starts again', () => {
    const guard = new SpinGuard()
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < IDLE_DUE_TICKS_MAX; i++) guard.idle(nowMs, nowMs)
      if (round === 0) guard.progressed() // progress
      else if (round === 1) guard.idle(nowMs + 1, nowMs) // due later: the timer waits
      else guard.idle(null, nowMs) // nothing due
    }
    expect(() => guard.idle(nowMs, nowMs)).not.toThrow()
  })
})
