// A store left by a process that died with jobs started can be reopened with a lower capacity:
// the replayed state holds more running jobs than the new configuration allows until recovery
// requeues them, and the open must not take that for a broken invariant.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close({ timeoutMs: 0 })
})

async function open(channels: string, log: MemoryLog) {
  const wharf = await Wharf.open({ log, clock: new FakeClock(), channels })
  opened.push(wharf)
  return wharf
}

describe('reopening with a lower capacity', () => {
  it('recovers the jobs a dead process left running over the new capacity, then runs them one at a time', async () => {
    const log = new MemoryLog()
    const first = await open('root:4', log)
    const hang = first.model('test.cap', { run: (_i: number) => new Promise(() => {}) })
    await Promise.all(Array.from({ length: 4 }, (_, i) => hang.withDelay().run(i)))
    await first.start()
    await first.settled()
    expect(first.stats().states.started).toBe(4)
    await first.close({ timeoutMs: 0 }) // the handlers never settle: as if the process died

    const second = await open('root:1', log)
    expect(second.openReport.requeued).toBe(4)
    let running = 0
    let most = 0
    second.model('test.cap', {
      async run() {
        most = Math.max(most, ++running)
        await Promise.resolve()
        running--
      },
    })
    await second.start()
    await second.drain()
    expect(second.stats().states.done).toBe(4)
    expect(most).toBe(1)
  })
})
