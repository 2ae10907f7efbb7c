// Proves that capacity counts running handlers: cancel, requeue or setDone of a started job
// applies at once and aborts its signal, but its slots stay taken until its handler settles (a
// handler asleep in this.sleep settles at once: the sleep follows the signal);
// and that slots held by a run of a dead process are freed on reopen (snapshot and log alike).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FakeClock, JobSupersededError, MemoryLog, Wharf, type JobContext } from '../../src/index.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-capacity-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

async function rig(channels = 'root:1') {
  const wharf = await Wharf.open({ log: new MemoryLog(), clock: new FakeClock(), channels })
  const gate = deferred()
  const live = { now: 0, max: 0 }
  const signals: AbortSignal[] = []
  const m = wharf.model('m', {
    async hold(this: JobContext) {
      signals.push(this.signal)
      live.max = Math.max(live.max, ++live.now)
      try {
        await gate.promise
      } finally {
        live.now--
      }
      return 'held'
    },
    quick() {
      live.max = Math.max(live.max, live.now + 1)
      return 'quick'
    },
  })
  return { wharf, m, gate, live, signals }
}

describe('capacity counts running handlers', () => {
  for (const how of ['cancel', 'requeue', 'setDone'] as const) {
    it(`${how} of a running job keeps its slot until its handler settles, and aborts its signal`, async () => {
      const { wharf, m, gate, live, signals } = await rig()
      await wharf.start()
      const first = await m.browse([1]).withDelay().hold()
      await wharf.settled()
      expect((await wharf.job(first.uuid))!.state).toBe('started')

      await wharf[how](first.uuid)
      const applied = (await wharf.job(first.uuid))!.state
      expect(applied).toBe(how === 'cancel' ? 'cancelled' : how === 'setDone' ? 'done' : 'pending')
      expect(signals[0]!.aborted).toBe(true)
      expect(signals[0]!.reason).toBeInstanceOf(JobSupersededError)
      expect((signals[0]!.reason as JobSupersededError).code).toBe('JOB_SUPERSEDED')

      const second = await m.browse([2]).withDelay().quick()
      await wharf.settled()
      // The first handler still runs: the one slot of root is still its own.
      expect((await wharf.job(second.uuid))!.state).toBe('pending')
      expect(wharf.stats().channels.find((c) => c.name === 'root')!.running).toBe(1)
      checkInvariants(wharf.engine.state)

      gate.resolve()
      await wharf.idle()
      expect((await wharf.job(second.uuid))!.state).toBe('done')
      expect(live.max).toBe(1)
      // The late outcome decided nothing.
      const after = (await wharf.job(first.uuid))!
      if (how === 'cancel') expect(after.state).toBe('cancelled')
      if (how === 'setDone') expect(after.result).toBe('Manually set to done')
      checkInvariants(wharf.engine.state)
      await wharf.close()
    })
  }

  for (const how of ['cancel', 'requeue', 'setDone'] as const) {
    it(`${how} of a running job wakes its handler asleep in this.sleep at once, which frees its slot`, async () => {
      const clock = new FakeClock(0)
      const wharf = await Wharf.open({ clock, channels: 'root:1' })
      const woken: unknown[] = []
      let naps = 0
      const m = wharf.model('m', {
        // Never reads this.signal: the sleep alone must follow the try's signal. A requeued
        // job's next try returns at once.
        async nap(this: JobContext) {
          if (++naps > 1) return 'again'
          await this.sleep(60_000).catch((error: unknown) => {
            woken.push(error)
            throw error
          })
          return 'slept'
        },
        quick() {
          return 'quick'
        },
      })
      await wharf.start()
      const first = await m.browse([1]).withDelay({ maxRetries: 1 }).nap()
      const second = await m.browse([2]).withDelay().quick()
      await wharf.settled()
      await clock.advance(1_000)
      await wharf[how](first.uuid)
      await wharf.settled()
      expect(woken).toHaveLength(1)
      expect(woken[0]).toBeInstanceOf(JobSupersededError)
      await wharf.idle() // no clock moved: the slot was freed at 00:00:01
      expect(await wharf.job(second.uuid)).toMatchObject({ state: 'done', startedAt: 1_000, doneAt: 1_000 })
      await wharf.close()
    })
  }

  it('a requeued running job waits for its own superseded handler before it runs again', async () => {
    const { wharf, m, gate, live, signals } = await rig()
    await wharf.start()
    const job = await m.withDelay().hold()
    await wharf.settled()
    await wharf.requeue(job.uuid)
    await wharf.settled()
    expect(signals.length).toBe(1)
    expect((await wharf.job(job.uuid))!.state).toBe('pending')
    gate.resolve()
    await wharf.idle()
    expect(signals.length).toBe(2)
    expect((await wharf.job(job.uuid))!.state).toBe('done')
    expect(live.max).toBe(1)
    await wharf.close()
  })

  it('slots held by a superseded run of a dead process are free after reopen (log and snapshot)', async () => {
    for (const snapshot of [false, true]) {
      const path = join(dir, `jobs-${snapshot}`)
      const clock = new FakeClock()
      const first = await Wharf.open({ path, clock, channels: 'root:1' })
      const m = first.model('m', { hold: () => new Promise<never>(() => {}), quick: () => 'quick' })
      await first.start()
      const hung = await m.withDelay().hold()
      await first.settled()
      await first.cancel(hung.uuid)
      const waiting = await m.withDelay().quick()
      await first.settled()
      if (snapshot) await first.snapshot()
      // A crash: the log is left as it is, and the hung handler dies with the process.
      await (first.engine as unknown as { log: { close(): Promise<void> } }).log.close()

      const second = await Wharf.open({ path, clock, channels: 'root:1' })
      second.model('m', { hold: () => 'never again', quick: () => 'quick' })
      checkInvariants(second.engine.state)
      await second.start()
      await second.idle()
      expect((await second.job(waiting.uuid))!.state).toBe('done')
      expect((await second.job(hung.uuid))!.state).toBe('cancelled')
      await second.close()
    }
  })
})
