// Proves that work made startable while a tick is in flight (start, resume, a timer) always leads
// to another tick: on LevelDB with a snapshot in the tick, and on a log whose append we hold open.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'
import type { Clock, TimerHandle } from '../../src/engine/runtime/clock.js'
import { FlakyLog } from './helpers.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-wakeup-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** A clock whose timers fire only when the test says so (no settling, unlike FakeClock). */
class ManualClock implements Clock {
  nowMs = Date.UTC(2026, 0, 1)
  timers: { dueMs: number; fire: () => void | Promise<void> }[] = []
  now(): number {
    return this.nowMs
  }
  setTimer(dueMs: number, fire: () => void | Promise<void>): TimerHandle {
    const timer = { dueMs, fire }
    this.timers.push(timer)
    return timer
  }
  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t !== handle)
  }
  sleep(): Promise<void> {
    return new Promise(() => {})
  }
  /** Fire every timer due now, without waiting for what it triggers. */
  fireDue(): void {
    const due = this.timers.filter((t) => t.dueMs <= this.nowMs)
    this.timers = this.timers.filter((t) => t.dueMs > this.nowMs)
    for (const t of due) void t.fire()
  }
}

describe('lost wake-up', () => {
  it('start() landing in the tick that writes a snapshot still dispatches (LevelDB)', { timeout: 20_000 }, async () => {
    const wharf = await Wharf.open({ path: join(dir, 'jobs'), snapshotEvery: 100, clock: new FakeClock(), channels: 'root:4' })
    const m = wharf.model('m', {
      work() {
        return 'ok'
      },
    })
    await Promise.all(Array.from({ length: 100 }, (_, i) => m.browse([i]).withDelay().work()))
    await wharf.start()
    await wharf.idle()
    expect((await wharf.jobs({ state: 'done' })).length).toBe(100)
    await wharf.close()
  })

  it('start() during an in-flight append is not lost', async () => {
    const log = new FlakyLog(new MemoryLog())
    const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1' })
    const m = wharf.model('m', { work: () => 'ok' })
    const held = log.hold()
    const enqueued = m.withDelay().work()
    await held.entered
    const started = wharf.start()
    held.release()
    const job = await enqueued
    await started
    await wharf.idle()
    expect((await wharf.job(job.uuid))!.state).toBe('done')
    await wharf.close()
  })

  it('resumeChannel() during an in-flight append is not lost', async () => {
    const log = new FlakyLog(new MemoryLog())
    const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1' })
    const m = wharf.model('m', { work: () => 'ok' })
    await wharf.pauseChannel('root')
    await wharf.start()
    const held = log.hold()
    const enqueued = m.withDelay().work()
    await held.entered
    // The resume is its own command: it waits for the next tick; the job must then start.
    const resumed = wharf.resumeChannel('root')
    held.release()
    const job = await enqueued
    await resumed
    await wharf.idle()
    expect((await wharf.job(job.uuid))!.state).toBe('done')
    await wharf.close()
  })

  it('a timer that fires during an in-flight append leads to a tick', async () => {
    const log = new FlakyLog(new MemoryLog())
    const clock = new ManualClock()
    const wharf = await Wharf.open({ log, clock, channels: 'root:1' })
    const m = wharf.model('m', { work: () => 'ok' })
    await wharf.start()
    const later = await m.withDelay({ eta: 10 }).work()
    expect(clock.timers.map((t) => t.dueMs)).toEqual([later.eta])
    const held = log.hold()
    const other = m.withDelay({ eta: 3600 }).work()
    await held.entered
    clock.nowMs = later.eta!
    clock.fireDue() // the tick storing `other` is in flight: this wake-up must not be dropped
    held.release()
    await other
    await wharf.settled()
    await wharf.idle()
    expect((await wharf.job(later.uuid))!.state).toBe('done')
    await wharf.close()
  })
})
