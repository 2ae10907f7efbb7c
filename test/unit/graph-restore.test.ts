// Proves queue_job's delay() step 2: a job delayed alone and later made part of a graph is
// re-stored into it (same uuid, wait_dependencies, the graph's uuid), only while still pending;
// otherwise InvalidGraphError names the job and why. Replays to the same state after reopen.
import { describe, expect, it } from 'vitest'
import { chain, FakeClock, group, InvalidGraphError, MemoryLog, Wharf } from '../../src/index.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { failure } from './helpers.js'

async function rig() {
  const log = new MemoryLog()
  const clock = new FakeClock()
  const wharf = await Wharf.open({ log, clock, channels: 'root:1' })
  const ran: number[] = []
  const methods = {
    work(this: import('../../src/index.js').JobContext) {
      ran.push(this.records[0] as number)
      return 'ok'
    },
  }
  const m = wharf.model('m', methods)
  return { log, clock, wharf, m, ran, methods }
}

describe('re-storing a job into a graph', () => {
  it('n2.delay(), then n1.onDone(n2).delay(): n2 keeps its uuid and waits for n1 in the graph', async () => {
    const { log, clock, wharf, m, ran, methods } = await rig()
    const n2 = m.browse([2]).delayable().work()
    await n2.delay()
    const alone = n2.job!
    expect([alone.state, alone.graphUuid]).toEqual(['pending', null])

    const n1 = m.browse([1]).delayable().work()
    await n1.onDone(n2).delay()
    expect(n2.job!.uuid).toBe(alone.uuid)
    expect(n2.job!.state).toBe('wait_dependencies')
    expect(n2.job!.graphUuid).not.toBeNull()
    expect(n2.job!.graphUuid).toBe(n1.job!.graphUuid)
    expect(n2.job!.dependsOn).toEqual([n1.job!.uuid])
    expect((await wharf.job(n1.job!.uuid))!.dependents).toEqual([alone.uuid])
    expect((await wharf.jobs()).length).toBe(2)
    checkInvariants(wharf.engine.state)

    // Same state after a reopen, from the log and from a snapshot (where n2, created first, now
    // depends on n1, created later), and the graph runs in order.
    const before = await wharf.jobs()
    await wharf.close()
    const replayed = await Wharf.open({ log, clock, channels: 'root:1' })
    expect(await replayed.jobs()).toEqual(before)
    await replayed.snapshot()
    await replayed.close()
    const again = await Wharf.open({ log, clock, channels: 'root:1' })
    expect(again.openReport.snapshotSeq).toBeGreaterThan(0)
    expect(await again.jobs()).toEqual(before)
    again.model('m', methods)
    await again.start()
    await again.idle()
    expect(ran).toEqual([1, 2])
    await again.close()
  })

  it('a re-stored job can be a parent too, and two jobs delayed alone can be chained', async () => {
    const { wharf, m } = await rig()
    const a = m.browse([1]).delayable().work()
    const b = m.browse([2]).delayable().work()
    await a.delay()
    await b.delay()
    const c = m.browse([3]).delayable().work()
    await chain(a, b, c).delay()
    expect([a.job!.state, b.job!.state, c.job!.state]).toEqual(['pending', 'wait_dependencies', 'wait_dependencies'])
    expect(new Set([a.job!.graphUuid, b.job!.graphUuid, c.job!.graphUuid]).size).toBe(1)
    expect(b.job!.dependsOn).toEqual([a.job!.uuid])
    expect(c.job!.dependsOn).toEqual([b.job!.uuid])
    checkInvariants(wharf.engine.state)
    await wharf.close()
  })

  it('refuses a job that is no longer pending, naming it and why, and stores nothing', async () => {
    const { wharf, m } = await rig()
    const n2 = m.browse([2]).delayable().work()
    await n2.delay()
    await wharf.start()
    await wharf.idle()
    const n1 = m.browse([1]).delayable().work()
    const error = await failure(() => n1.onDone(n2).delay())
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect((error as Error).message).toContain(n2.job!.uuid)
    expect((error as Error).message).toMatch(/it is done, and only a job still pending can be/)
    expect((await wharf.jobs()).length).toBe(1)
    await wharf.close()
  })

  it('names why for a finished job made a parent (a.onDone(d) after a ran), not "neither stored"', async () => {
    const { wharf, m } = await rig()
    const a = m.browse([1]).delayable().work()
    await a.delay()
    await wharf.start()
    await wharf.idle()
    const error = await failure(() => a.onDone(m.browse([2]).delayable().work()).delay())
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect((error as Error).message).toContain(`job ${a.job!.uuid} cannot be re-stored`)
    expect((error as Error).message).toMatch(/it is done, and only a job still pending can be/)
    expect((await wharf.jobs()).length).toBe(1)
    await wharf.close()
  })

  it('names why for a job a call earlier in the same tick finished (not yet in history)', async () => {
    const { wharf, m } = await rig()
    const n2 = m.browse([2]).delayable().work()
    await n2.delay()
    const n1 = m.browse([1]).delayable().work()
    const [, error] = await Promise.all([wharf.cancel(n2.job!.uuid), failure(() => n1.onDone(n2).delay())])
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect((error as Error).message).toMatch(/it is cancelled, and only a job still pending can be/)
    expect((await wharf.jobs()).map((j) => j.state)).toEqual(['cancelled'])
    await wharf.close()
  })

  it('refuses a pending job that is already part of another graph', async () => {
    const { wharf, m } = await rig()
    const [a, b] = [m.browse([1]).delayable().work(), m.browse([2]).delayable().work()]
    await a.onDone(b).delay()
    expect(a.job!.state).toBe('pending')
    const x = m.browse([3]).delayable().work()
    const error = await failure(() => x.onDone(a).delay())
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect((error as Error).message).toContain(`job ${a.job!.uuid} cannot be re-stored`)
    expect((error as Error).message).toContain(`already part of graph ${a.job!.graphUuid}`)
    expect((await wharf.jobs()).length).toBe(2)
    await wharf.close()
  })

  it('refuses an edge added between jobs of a stored graph, instead of resolving with it unstored', async () => {
    // queue_job's delay() would store the new edge (b waits for a); a stored graph cannot change
    // here, so delay() must say so rather than resolve while b runs without waiting for a.
    const { wharf, m } = await rig()
    const [a, b] = [m.browse([1]).delayable().work(), m.browse([2]).delayable().work()]
    await group(a, b).delay()
    a.onDone(b)
    const error = await failure(() => a.delay())
    expect(error).toBeInstanceOf(InvalidGraphError)
    expect((error as Error).message).toContain(`already part of graph ${a.job!.graphUuid}`)
    expect((await wharf.jobs()).map((j) => [j.state, j.dependsOn])).toEqual([
      ['pending', []],
      ['pending', []],
    ])
    await wharf.close()
  })
})
