// Proves the Clock contract: FakeClock fires timers in (dueMs, insertion) order within one advance,
// awaiting fires and settlers in between; sleep/abort; SystemClock fires, clears and re-arms.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FakeClock, sleepOn, SystemClock, type Clock, type SleepWatch } from '../../src/engine/runtime/clock.js'

const START = Date.UTC(2026, 0, 1)

/** Resolves after one turn of the event loop (after pending promise jobs and I/O). */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('FakeClock time', () => {
  it('starts at 2026-01-01 by default, or at the given time', () => {
    expect(new FakeClock().now()).toBe(START)
    expect(new FakeClock(1000).now()).toBe(1000)
  })

  it('moves only on advance and advanceTo, and refuses to go back, naming both times', async () => {
    const clock = new FakeClock(1000)
    await clock.advance(250)
    expect(clock.now()).toBe(1250)
    await clock.advanceTo(2000)
    await clock.advanceTo(2000)
    expect(clock.now()).toBe(2000)
    await expect(clock.advanceTo(1500)).rejects.toThrow(RangeError)
    await expect(clock.advanceTo(1500)).rejects.toThrow(/1500.*2000/)
    expect(clock.now()).toBe(2000)
  })

  it.each([-1, NaN, Infinity])('refuses advance(%s) and a timer due at %s', async (ms) => {
    const clock = new FakeClock(0)
    await expect(clock.advance(ms)).rejects.toThrow(RangeError)
    expect(clock.now()).toBe(0)
    if (ms !== -1) expect(() => clock.setTimer(ms, () => {})).toThrow(RangeError)
  })

  // A job's ULID holds whole ms from 1970: a fractional or negative clock made every delay fail
  // with the ulid package's own error, or store a uuid of NUL characters.
  it.each([
    ['a fraction', 1.5, 'got 1.5'],
    ['a time before 1970', -1, 'got -1'],
    ['a symbol', Symbol('t'), 'got Symbol(t)'],
    ['a string', '5', 'got "5"'],
  ])('refuses to start at %s, naming it', (_what, start, says) => {
    expect(() => new FakeClock(start as number)).toThrow(RangeError)
    expect(() => new FakeClock(start as number)).toThrow(says)
  })

  it('refuses to advance by a fraction of a ms, or to one', async () => {
    const clock = new FakeClock(0)
    await expect(clock.advance(0.5)).rejects.toThrow(/whole.*got 0\.5/)
    await expect(clock.advanceTo(10.25)).rejects.toThrow(/whole.*got 10\.25/)
    expect(clock.now()).toBe(0)
  })
})

describe('FakeClock timers', () => {
  it('fires in due order, equal deadlines in insertion order, with now() at each due time', async () => {
    const clock = new FakeClock(0)
    const fired: string[] = []
    const at = (name: string, dueMs: number): void => {
      clock.setTimer(dueMs, () => {
        fired.push(`${name}@${clock.now()}`)
      })
    }
    at('c', 30)
    at('a1', 10)
    at('b', 20)
    at('a2', 10)
    at('late', 31)
    at('a3', 10)
    expect(clock.nextTimerAt()).toBe(10)
    await clock.advance(30)
    expect(fired).toEqual(['a1@10', 'a2@10', 'a3@10', 'b@20', 'c@30'])
    expect(clock.pendingTimers()).toBe(1)
    expect(clock.nextTimerAt()).toBe(31)
  })

  it('fires timers set during an advance when they fall inside its window', async () => {
    const clock = new FakeClock(0)
    const fired: number[] = []
    clock.setTimer(10, () => {
      fired.push(clock.now())
      clock.setTimer(15, () => {
        fired.push(clock.now())
        clock.setTimer(clock.now(), () => void fired.push(clock.now())) // due immediately
      })
      clock.setTimer(50, () => void fired.push(clock.now())) // outside the window
    })
    await clock.advance(20)
    expect(fired).toEqual([10, 15, 15])
    expect(clock.now()).toBe(20)
    expect(clock.nextTimerAt()).toBe(50)
  })

  it('fires a timer already due on the next advance, even advance(0), without moving time back', async () => {
    const clock = new FakeClock(100)
    const seen: number[] = []
    clock.setTimer(40, () => void seen.push(clock.now()))
    await clock.advance(0)
    expect(seen).toEqual([100])
    expect(clock.pendingTimers()).toBe(0)
  })

  it('clearTimer cancels a pending timer and ignores fired or unknown handles', async () => {
    const clock = new FakeClock(0)
    const fired: string[] = []
    const a = clock.setTimer(10, () => void fired.push('a'))
    const b = clock.setTimer(10, () => void fired.push('b'))
    clock.setTimer(20, () => void fired.push('c'))
    clock.clearTimer(b)
    expect(clock.pendingTimers()).toBe(2)
    await clock.advance(10)
    clock.clearTimer(a) // already fired
    clock.clearTimer({ dueMs: 20 }) // not one of ours
    clock.clearTimer(new FakeClock(0).setTimer(20, () => {})) // another clock's
    expect(clock.pendingTimers()).toBe(1)
    await clock.advance(10)
    expect(fired).toEqual(['a', 'c'])
  })

  it('keeps heap order when many timers are set and some cleared', async () => {
    const clock = new FakeClock(0)
    let seed = 7
    const random = (): number => (seed = (seed * 48271) % 2147483647) % 50
    const fired: number[] = []
    const expected: Array<[number, number]> = []
    for (let i = 0; i < 200; i++) {
      const due = random()
      const handle = clock.setTimer(due, () => void fired.push(i))
      if (i % 3 === 0) clock.clearTimer(handle)
      else expected.push([due, i])
    }
    expected.sort((x, y) => x[0] - y[0] || x[1] - y[1])
    await clock.advance(50)
    expect(fired).toEqual(expected.map(([, i]) => i))
  })

  it('propagates a failing fire to the advance caller and stays usable', async () => {
    const clock = new FakeClock(0)
    clock.setTimer(5, () => Promise.reject(new Error('boom')))
    await expect(clock.advance(10)).rejects.toThrow('boom')
    expect(clock.now()).toBe(5)
    await clock.advance(5)
    expect(clock.now()).toBe(10)
  })

  it('refuses a second advance while one is running', async () => {
    const clock = new FakeClock(0)
    let release!: () => void
    clock.setTimer(1, () => new Promise<void>((resolve) => (release = resolve)))
    const first = clock.advance(10)
    await tick()
    await expect(clock.advance(1)).rejects.toThrow(/already running/)
    release()
    await first
    expect(clock.now()).toBe(10)
  })
})

describe('FakeClock settlers', () => {
  it('settles first, then awaits each fire and every settler before the next timer, and settles at the end', async () => {
    const clock = new FakeClock(0)
    const log: string[] = []
    clock.setTimer(1, async () => {
      await tick()
      log.push('fire 1')
    })
    clock.setTimer(2, () => void log.push('fire 2'))
    clock.attach(async () => {
      await tick()
      log.push(`settled A@${clock.now()}`)
    })
    clock.attach(async () => {
      log.push(`settled B@${clock.now()}`)
    })
    await clock.advance(5)
    expect(log).toEqual([
      'settled A@0', 'settled B@0',
      'fire 1', 'settled A@1', 'settled B@1',
      'fire 2', 'settled A@2', 'settled B@2',
      'settled A@5', 'settled B@5',
    ])
  })

  it('fires timers a settler sets inside the window, including at the target time', async () => {
    const clock = new FakeClock(0)
    const fired: number[] = []
    let armed = false
    clock.attach(async () => {
      if (clock.now() === 10 && !armed) {
        armed = true
        clock.setTimer(10, () => void fired.push(clock.now()))
      }
    })
    await clock.advance(10)
    expect(fired).toEqual([10])
  })

  it('stops calling a detached settler', async () => {
    const clock = new FakeClock(0)
    let calls = 0
    const detach = clock.attach(async () => void calls++)
    await clock.advance(1)
    expect(calls).toBe(2) // before moving, and at the target
    detach()
    await clock.advance(1)
    expect(calls).toBe(2)
  })
})

describe('FakeClock sleep', () => {
  it('resolves once the clock reaches now + ms', async () => {
    const clock = new FakeClock(0)
    let woke = false
    const sleeping = clock.sleep(100).then(() => (woke = true))
    await clock.advance(99)
    expect(woke).toBe(false)
    await clock.advance(1)
    await sleeping
    expect(woke).toBe(true)
    expect(clock.pendingTimers()).toBe(0)
  })

  it('a fraction of a ms sleeps to the next whole ms: the clock never shows a fraction', async () => {
    const clock = new FakeClock(0)
    let woke = false
    const sleeping = clock.sleep(0.5).then(() => (woke = true))
    expect(clock.nextTimerAt()).toBe(1)
    await clock.advance(1)
    await sleeping
    expect([woke, clock.now()]).toEqual([true, 1])
    clock.setTimer(1.2, () => {})
    await clock.advanceTo(clock.nextTimerAt()!) // what drain() does: it needs a whole time
    expect(clock.now()).toBe(2)
  })

  it('rejects with the abort reason and removes its timer', async () => {
    const clock = new FakeClock(0)
    const controller = new AbortController()
    const sleeping = clock.sleep(100, controller.signal)
    expect(clock.pendingTimers()).toBe(1)
    const reason = new Error('cancelled')
    controller.abort(reason)
    await expect(sleeping).rejects.toBe(reason)
    expect(clock.pendingTimers()).toBe(0)
  })

  it('rejects at once on an already aborted signal or a bad duration', async () => {
    const clock = new FakeClock(0)
    await expect(clock.sleep(10, AbortSignal.abort('gone'))).rejects.toBe('gone')
    await expect(clock.sleep(-1)).rejects.toThrow(RangeError)
    await expect(clock.sleep(NaN)).rejects.toThrow(RangeError)
    expect(clock.pendingTimers()).toBe(0)
  })

  it('a watched sleep is told when it starts and ends, and resolves in as many turns as a plain one', async () => {
    // A sleep that resolved a microtask later would resume its handler after the advance that
    // fired it has settled: the handler's next sleep would miss that advance (a hang).
    const turnsToWake = async (watch: SleepWatch | null): Promise<number> => {
      let fire = (): void => {}
      const clock: Clock = { now: () => 0, setTimer: (dueMs, f) => ((fire = f as () => void), { dueMs }), clearTimer: () => {}, sleep: () => Promise.resolve() }
      let woke = false
      void sleepOn(clock, 10, undefined, watch).then(() => (woke = true))
      fire()
      let turns = 0
      for (; !woke; turns++) await Promise.resolve()
      return turns
    }
    const told: string[] = []
    const watch = { asleep: () => told.push('asleep'), awake: () => told.push('awake') }
    expect(await turnsToWake(watch)).toBe(await turnsToWake(null))
    expect(told).toEqual(['asleep', 'awake'])
    const clock = new FakeClock(0)
    const controller = new AbortController()
    const aborted = sleepOn(clock, 50, controller.signal, watch)
    controller.abort(new Error('stop'))
    await expect(aborted).rejects.toThrow('stop')
    expect(told).toEqual(['asleep', 'awake', 'asleep', 'awake'])
  })
})

describe('SystemClock', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.useRealTimers()
  })

  it('reads the system time', () => {
    const before = Date.now()
    const now = new SystemClock().now()
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(Date.now())
  })

  it('fires a short timer at or after its due time', async () => {
    const clock = new SystemClock()
    const dueMs = clock.now() + 5
    const firedAt = await new Promise<number>((resolve) => clock.setTimer(dueMs, () => resolve(clock.now())))
    expect(firedAt).toBeGreaterThanOrEqual(dueMs)
  })

  it('does not fire a cleared timer', async () => {
    const clock = new SystemClock()
    let clearedFired = false
    const handle = clock.setTimer(clock.now() + 5, () => void (clearedFired = true))
    clock.clearTimer(handle)
    // A later timer firing proves the cleared one had its chance.
    await new Promise<void>((resolve) => clock.setTimer(clock.now() + 30, resolve))
    expect(clearedFired).toBe(false)
  })

  it('re-arms delays beyond setTimeout’s 2^31-1 ms limit instead of firing early', () => {
    vi.useFakeTimers({ now: START })
    // Real setTimeout turns a larger delay into 1 ms; the fake one does not, so check the delays.
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout')
    const clock = new SystemClock()
    let fired = false
    clock.setTimer(START + 2 ** 31 + 1000, () => void (fired = true))
    vi.advanceTimersByTime(2 ** 31 - 1)
    expect(fired).toBe(false)
    vi.advanceTimersByTime(1000)
    expect(fired).toBe(false)
    vi.advanceTimersByTime(1)
    expect(fired).toBe(true)
    const delays = setTimeoutSpy.mock.calls.map((call) => call[1] ?? 0)
    expect(delays).toEqual([2 ** 31 - 1, 1001])
  })

  it('sleeps, and rejects with the abort reason', async () => {
    const clock = new SystemClock()
    await expect(clock.sleep(1)).resolves.toBeUndefined()
    const controller = new AbortController()
    const sleeping = clock.sleep(60_000, controller.signal)
    controller.abort('stop')
    await expect(sleeping).rejects.toBe('stop')
  })
})
