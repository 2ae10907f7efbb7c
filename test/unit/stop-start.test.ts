// Proves start() called while stop() waits for running handlers undoes the stop: the engine runs
// on, and its one timer (etas, retries, timeouts) stays armed once that stop() resolves (it waited
// for every handler, those started after the restart too).
import { describe, expect, it } from 'vitest'
import { FakeClock, Wharf } from '../../src/index.js'
import { closedAfterEach, gate } from './helpers.js'

const opened = closedAfterEach()

describe('start() while stop() waits for a handler', () => {
  it('keeps the timer: a job with an eta, delayed after the restart, runs at its eta', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ clock })
    opened.push(wharf)
    const held = gate()
    const jobs = wharf.model('jobs', {
      async hold() {
        await held.wait
      },
      async later() {
        return 'ran'
      },
    })
    const first = await jobs.withDelay().hold()
    await wharf.start()
    await wharf.settled()
    const stopping = wharf.stop()
    await wharf.start()
    const later = await jobs.withDelay({ eta: 10 }).later()
    held.open()
    await stopping
    await clock.advance(10_000) // fires the timers due: nothing else would start the job
    await wharf.settled()
    expect((await wharf.job(first.uuid))!.state).toBe('done')
    expect((await wharf.job(later.uuid))!.state).toBe('done')
  })

})
