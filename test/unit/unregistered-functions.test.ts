// Proves that a job whose function has no handler in this process stays pending and is not
// dispatched, holds back only a sequential channel, and starts as soon as a model registers it.
import { describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, Wharf, type WharfEvent } from '../../src/index.js'

/** Store jobs with one Wharf (no start), close it, and reopen the same log with another. */
async function reopenWith(channels: string, enqueue: (wharf: Wharf) => Promise<string[]>) {
  const log = new MemoryLog()
  const clock = new FakeClock()
  const first = await Wharf.open({ log, clock, channels })
  const uuids = await enqueue(first)
  await first.close()
  const wharf = await Wharf.open({ log, clock, channels })
  const events: WharfEvent[] = []
  wharf.on('transition', (e) => events.push(e))
  return { wharf, uuids, events }
}

describe('unregistered job functions', () => {
  it('stay pending after start, and run once a model registers them', async () => {
    const { wharf, uuids, events } = await reopenWith('root:1', async (w) => {
      const later = w.model('later', { work: () => 'never here' })
      return [(await later.browse([1]).withDelay().work()).uuid, (await later.browse([2]).withDelay().work()).uuid]
    })
    await wharf.start()
    await wharf.idle()
    for (const uuid of uuids) expect((await wharf.job(uuid))!.state).toBe('pending')
    expect(events.map((e) => e.type)).toEqual([])

    const ran: number[] = []
    wharf.model('later', {
      work(this: import('../../src/index.js').JobContext) {
        ran.push(this.records[0] as number)
        return 'ok'
      },
    })
    await wharf.idle()
    for (const uuid of uuids) expect((await wharf.job(uuid))!.state).toBe('done')
    expect(ran).toEqual([1, 2])
    await wharf.close()
  })

  it('do not hold back other jobs of their channel, except on a sequential channel', async () => {
    const { wharf, uuids } = await reopenWith('root:2,root.seq:1:sequential', async (w) => {
      const a = w.model('a', { work: () => 'a' })
      const b = w.model('b', { work: () => 'b' })
      const ids: string[] = []
      ids.push((await a.withDelay({ priority: 1 }).work()).uuid) // no handler after reopen, first in line
      ids.push((await b.withDelay({ priority: 5 }).work()).uuid)
      ids.push((await a.withDelay({ channel: 'root.seq', priority: 1 }).work()).uuid)
      ids.push((await b.withDelay({ channel: 'root.seq', priority: 5 }).work()).uuid)
      return ids
    })
    wharf.model('b', { work: () => 'b' })
    await wharf.start()
    await wharf.idle()
    const states = async () => Promise.all(uuids.map(async (u) => (await wharf.job(u))!.state))
    expect(await states()).toEqual(['pending', 'done', 'pending', 'pending'])
    wharf.model('a', { work: () => 'a' })
    await wharf.idle()
    expect(await states()).toEqual(['done', 'done', 'done', 'done'])
    await wharf.close()
  })
})
