// A cancel cascades to the descendants that wait for their parents; a child that runs when its
// last live parent is cancelled is not waiting, so it is left to finish. If its try then sends it
// back to waiting (a retry, or a recovery after its process died), nothing would ever release it:
// its parents are all cancelled. The README's rule ("cancelling a job cancels every descendant
// whose parents are all cancelled") holds then too: such a job is cancelled, with its waiting
// descendants, in the same batch that sends it back.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, RetryableJobError, Wharf, chain, type WharfEvent } from '../../src/index.js'

const opened: Wharf[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close({ timeoutMs: 0 })
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A gate a handler waits on, and a signal that it started. */
function gate() {
  let open!: () => void
  let started!: () => void
  const opened = new Promise<void>((r) => (open = r))
  const running = new Promise<void>((r) => (started = r))
  return { open, opened, started, running }
}

/** a → b → c, where b waits on `g` and then asks for a retry; c is a plain job. */
function model(wharf: Wharf, g: ReturnType<typeof gate>) {
  const m = wharf.model('test.cancelrun', {
    first() {
      return 'a'
    },
    async second() {
      g.started()
      await g.opened
      throw new RetryableJobError('again later', { seconds: 0 })
    },
    third() {
      return 'c'
    },
  })
  const a = m.delayable().first()
  const b = m.delayable().second()
  const c = m.delayable().third()
  chain(a, b, c)
  return { a, b, c }
}

const stateOf = async (wharf: Wharf, uuid: string) => (await wharf.job(uuid))?.state

describe('a child running when its parents are all cancelled', () => {
  it('is cancelled, with its waiting descendants, when its try asks for a retry', async () => {
    const wharf = await Wharf.open({ channels: 'root:1', clock: new FakeClock() })
    opened.push(wharf)
    const g = gate()
    const { a, b, c } = model(wharf, g)
    await a.delay()
    const events: WharfEvent[] = []
    wharf.on('transition', (e) => events.push(e))
    await wharf.start()
    await g.running
    await wharf.cancel(a.job!.uuid)
    expect(await stateOf(wharf, b.job!.uuid)).toBe('started')
    g.open()
    await wharf.idle()
    expect(await stateOf(wharf, a.job!.uuid)).toBe('cancelled')
    expect(await stateOf(wharf, b.job!.uuid)).toBe('cancelled')
    expect(await stateOf(wharf, c.job!.uuid)).toBe('cancelled')
    // Postponed first (what its try asked for), then cancelled with c in its cascade.
    const ofB = events.filter((e) => 'uuid' in e && e.uuid === b.job!.uuid).map((e) => e.type)
    expect(ofB.slice(-2)).toEqual(['job.postponed', 'job.cancelled'])
    expect(events.find((e) => e.type === 'job.cancelled' && e.uuid === b.job!.uuid)).toMatchObject({ cascade: [c.job!.uuid] })
    expect(wharf.stats().states.wait_dependencies).toBe(0)
  })

  it('is cancelled when the next open recovers it from a process that died while it ran', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-cancel-run-'))
    dirs.push(dir)
    const path = join(dir, 'db')
    const first = await Wharf.open({ path, channels: 'root:1' })
    const g = gate()
    const { a, b, c } = model(first, g)
    await a.delay()
    await first.start()
    await g.running
    await first.cancel(a.job!.uuid)
    // The handler never ends: the store keeps b started, as a killed process leaves it.
    await first.close({ timeoutMs: 0 })
    const second = await Wharf.open({ path, channels: 'root:1' })
    opened.push(second)
    model(second, gate())
    expect(await stateOf(second, b.job!.uuid)).toBe('cancelled')
    expect(await stateOf(second, c.job!.uuid)).toBe('cancelled')
    expect(second.stats().states.wait_dependencies).toBe(0)
  })

  it('still waits when one of its parents is not cancelled', async () => {
    const wharf = await Wharf.open({ channels: 'root:2', clock: new FakeClock() })
    opened.push(wharf)
    const g = gate()
    const m = wharf.model('test.cancelrun2', {
      one() {},
      two() {},
      async child() {
        g.started()
        await g.opened
        throw new RetryableJobError('again later', { seconds: 0 })
      },
    })
    const [p, q, child] = [m.delayable().one(), m.delayable().two(), m.delayable().child()]
    p.onDone(child)
    q.onDone(child)
    await p.delay()
    await wharf.start()
    await g.running
    await wharf.cancel(p.job!.uuid)
    g.open()
    await wharf.idle()
    // q is done, p cancelled: the child waits, as queue_job's child of a cancelled and a done parent.
    expect(await stateOf(wharf, child.job!.uuid)).toBe('wait_dependencies')
  })

  it('on recovery, cancels a child of two such parents with the second (recovered in one batch)', async () => {
    // a → (b1, b2) → c: b1 and b2 run when a is cancelled, and their process dies. The next open
    // cancels both; c waits on two parents cancelled by the same decision: it goes with the second.
    const dir = mkdtempSync(join(tmpdir(), 'wharf-cancel-run-'))
    dirs.push(dir)
    const path = join(dir, 'db')
    const hold = gate()
    const define = (wharf: Wharf, g: ReturnType<typeof gate>) =>
      wharf.model('test.cancelrun3', {
        first() {},
        async second() {
          g.started()
          await g.opened
        },
        third() {},
      })
    const first = await Wharf.open({ path, channels: 'root:2' })
    const m = define(first, hold)
    const [a, b1, b2, c] = [m.delayable().first(), m.delayable().second(), m.delayable().second(), m.delayable().third()]
    a.onDone(b1, b2)
    b1.onDone(c)
    b2.onDone(c)
    await a.delay()
    await first.start()
    await hold.running
    while (first.stats().states.started < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    await first.cancel(a.job!.uuid)
    await first.close({ timeoutMs: 0 })
    const second = await Wharf.open({ path, channels: 'root:2' })
    opened.push(second)
    define(second, gate())
    for (const d of [b1, b2, c]) expect(await stateOf(second, d.job!.uuid)).toBe('cancelled')
    expect(second.stats().states.wait_dependencies).toBe(0)
  })
})
