// Proves on('transition') listeners see the events committed while they are registered: one added
// while an event is being delivered starts with the next batch, not with events committed before
// it subscribed; one removed meanwhile gets nothing more (as EventEmitter and EventTarget do).
import { describe, expect, it } from 'vitest'
import { FakeClock, Wharf, type WharfEvent } from '../../src/index.js'
import { closedAfterEach } from './helpers.js'

const opened = closedAfterEach()

describe('a listener added or removed by a listener', () => {
  it('added while an event is delivered, gets the events committed after, not that one', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    opened.push(wharf)
    const jobs = wharf.model('jobs', { run: () => 'ran' })
    const late: WharfEvent[] = []
    const off = wharf.on('transition', (event) => {
      if (event.type !== 'job.created') return
      off()
      wharf.on('transition', (next) => late.push(next))
    })
    const job = await jobs.withDelay().run() // committed alone: its batch ends with job.created
    expect(late).toEqual([])
    await wharf.start()
    await wharf.drain()
    expect(late.map((e) => e.type)).toEqual(['job.enqueued', 'job.started', 'job.done'])
    expect(late.every((e) => 'uuid' in e && e.uuid === job.uuid)).toBe(true)
  })

  it('removed while a batch is delivered, gets no later event of that batch', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    opened.push(wharf)
    const jobs = wharf.model('jobs', { run: () => 'ran' })
    const seen: string[] = []
    let offSecond: () => unknown = () => undefined
    wharf.on('transition', (event) => {
      if (event.type === 'job.enqueued') offSecond()
    })
    offSecond = wharf.on('transition', (event) => void seen.push(event.type))
    await jobs.withDelay().run()
    await wharf.start()
    await wharf.drain()
    expect(seen).toEqual(['job.created']) // the enqueue's batch: removed by the listener before it
  })
})
