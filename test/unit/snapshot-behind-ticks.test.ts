// Proves that an automatic snapshot is written behind the ticks: while it is being written, jobs
// are stored and run; idle() and close() wait for it; it holds the state of the moment it was taken.
import { describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'
import type { Snapshot } from '../../src/storage/event-log.js'

/** A log whose snapshot writes wait at a gate until the test opens it. */
class GatedSnapshotLog extends MemoryLog {
  private unblock: () => void = () => {}
  private gate: Promise<void> | null = null
  /** Each snapshot written: its seq, and the seq its state holds. */
  writes: { seq: number; stateSeq: number }[] = []
  /** Resolves when a snapshot write has reached the gate. */
  reached: Promise<void>
  private reach: () => void = () => {}

  constructor() {
    super()
    this.reached = new Promise((resolve) => (this.reach = resolve))
  }

  shut(): void {
    this.gate = new Promise((resolve) => (this.unblock = resolve))
  }

  release(): void {
    this.unblock()
    this.gate = null
  }

  override async writeSnapshot(snapshot: Snapshot): Promise<void> {
    this.writes.push({ seq: snapshot.seq, stateSeq: (snapshot.state as { seq: number }).seq })
    this.reach()
    if (this.gate !== null) await this.gate
    return super.writeSnapshot(snapshot)
  }
}

const hung = (ms: number) => new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))

describe('a snapshot written behind the ticks', () => {
  it('lets jobs be stored and run while it is written; idle() waits for it', async () => {
    const log = new GatedSnapshotLog()
    const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:2', snapshotEvery: 3 })
    const m = wharf.model('m', { work: (n: number) => n + 1 })
    await wharf.start()
    log.shut()
    for (let i = 0; i < 3; i++) await m.withDelay().work(i) // the third event makes one due
    const job = await m.withDelay().work(10) // its tick takes the snapshot
    await log.reached
    const taken = log.writes[0]!
    expect(taken.stateSeq).toBe(taken.seq)
    // The gate is shut: a tick that waited for the write would run nothing more.
    const later = m.withDelay().work(20)
    const outcome = await Promise.race([later.then((view) => view.uuid), hung(2000)])
    expect(outcome).not.toBe('hung')
    let idle = false
    const waiting = wharf.idle().then(() => (idle = true))
    const ran = await Promise.race([
      (async () => {
        while ((await wharf.job(job.uuid))?.state !== 'done') await new Promise((resolve) => setTimeout(resolve, 5))
        return 'ran'
      })(),
      hung(2000),
    ])
    expect(ran).toBe('ran')
    expect(idle).toBe(false) // the snapshot is work in hand
    // It holds the state of the moment it was taken, not of its write: jobs ran since.
    expect(wharf.engine.state.seq).toBeGreaterThan(taken.seq)
    log.release()
    await waiting
    expect((await log.readSnapshot())!.seq).toBeGreaterThanOrEqual(taken.seq)
    await wharf.close()
  })

  it('is waited for by close(), which then closes the log', async () => {
    const log = new GatedSnapshotLog()
    const wharf = await Wharf.open({ log, clock: new FakeClock(), channels: 'root:1', snapshotEvery: 2 })
    const m = wharf.model('m', { work: () => 'ok' })
    log.shut()
    await m.withDelay().work()
    await m.withDelay().work()
    void m.withDelay().work().catch(() => {})
    await log.reached
    let closed = false
    const closing = wharf.close().then(() => (closed = true))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(closed).toBe(false)
    log.release()
    await closing
    expect((await log.readSnapshot())?.seq).toBe(log.writes[0]!.seq)
  })
})
