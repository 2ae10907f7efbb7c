// Smoke: a job delayed through the public API runs and ends done.
import { describe, expect, it } from 'vitest'
import { Wharf, chain, FakeClock } from '../../src/index.js'

describe('smoke', () => {
  it('runs a delayed job and a chain', async () => {
    const clock = new FakeClock()
    const wharf = await Wharf.open({ channels: 'root:2', clock })
    const log: string[] = []
    const partner = wharf.model('res.partner', {
      async thumb(this: any, size: number) {
        log.push(`thumb ${this.records.join(',')} ${size}`)
        return size * 2
      },
    })
    const job = await partner.browse([1]).withDelay({ priority: 5 }).thumb(50)
    expect(job.state).toBe('pending')
    const a = partner.browse([2]).delayable().thumb(1)
    const b = partner.browse([3]).delayable().thumb(2)
    await chain(a, b).delay()
    await wharf.start()
    await wharf.drain()
    expect((await wharf.job(job.uuid))!.state).toBe('done')
    expect((await wharf.job(job.uuid))!.result).toBe(100)
    expect((await wharf.job(b.job!.uuid))!.dependsOn).toEqual([a.job!.uuid])
    expect(log).toEqual(['thumb 1 50', 'thumb 2 1', 'thumb 3 2'])
    await wharf.close()
  })
})
