// Proves the pipelined write path: the next tick is decided while the batch before it is being
// written, its write starts only once that one is durable (at once on a log that orders
// overlapping appends itself), callers are answered in order, a lost batch loses the batch
// decided after it too (state rebuilt from the log once no write is in flight, both ticks'
// callers refused), a read waits for every batch in flight, and a handler launched late reports
// for the run its tick decided, not a later one.
import { describe, expect, it } from 'vitest'
import type { WharfEvent } from '../../src/engine/core/events.js'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'
import type { HistoryWrite } from '../../src/storage/history.js'
import { closedAfterEach, failure, FlakyLog } from './helpers.js'

const opened = closedAfterEach()

/** A FlakyLog that records the first seq of every batch handed to the inner log, in order. */
class OrderLog extends FlakyLog {
  readonly written: number[] = []
  override async append(batch: readonly WharfEvent[], history?: HistoryWrite): Promise<void> {
    await super.append(batch, history)
    this.written.push(batch[0]!.seq)
  }
}

/**
 * An OrderLog that orders overlapping appends itself, as PgLog does (EventLog.overlapsAppends):
 * each append starts when it is made (`started`: first seqs), lands after the one before it, and
 * fails when that one failed. `readsInFlight`: appends still in flight when the log was read.
 */
class OverlapLog extends OrderLog {
  readonly overlapsAppends = true
  readonly started: number[] = []
  readonly readsInFlight: number[] = []
  private inFlight = 0
  /** The newest append in flight: whether it landed (null: none in flight). */
  private previous: Promise<boolean> | null = null
  override append(batch: readonly WharfEvent[], history?: HistoryWrite): Promise<void> {
    this.started.push(batch[0]!.seq)
    this.inFlight++
    const before = this.previous
    const run = (async () => {
      try {
        const landed = (await before) ?? true
        // A turn later than the one before it, as a write the server refuses comes back later.
        await new Promise<void>((resolve) => setImmediate(resolve))
        if (!landed) throw new Error('the batch before it was not written')
        await super.append(batch, history)
      } finally {
        this.inFlight--
      }
    })()
    const landed = run.then(
      () => true,
      () => false,
    )
    this.previous = landed
    void landed.then(() => {
      if (this.previous === landed) this.previous = null
    })
    return run
  }
  override read(afterSeq?: number) {
    this.readsInFlight.push(this.inFlight)
    return super.read(afterSeq)
  }
}

// Default (ULID) ids unless `named`: with a custom newId every enqueue reads history first,
// which waits for the appends in flight (no pipelining to see).
async function setup(channels = 'root:4', named = false, overlapping = false) {
  const log = overlapping ? new OverlapLog(new MemoryLog()) : new OrderLog(new MemoryLog())
  let n = 0
  const newId = named ? () => `job-${String(++n).padStart(4, '0')}` : undefined
  const wharf = await Wharf.open({ log, clock: new FakeClock(), channels, ...(newId ? { newId } : {}) })
  opened.push(wharf)
  let calls = 0
  const m = wharf.model('test.pipe', {
    run(_x: unknown) {
      return ++calls === 1 ? 'first' : 'second'
    },
  })
  return { wharf, m, log }
}

/** Let the engine run its scheduled tick (setImmediate), and what it queued after. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Two calls, the second made while the first one's batch is held in its write: `both` settles
 * once both are answered (`answered`: their args, in the order of the answers). */
async function twoCalls({ m, log }: Pick<Awaited<ReturnType<typeof setup>>, 'm' | 'log'>) {
  const held = log.hold()
  const answered: unknown[] = []
  const first = m.withDelay().run(1).then((job) => answered.push(job.args[0]))
  await held.entered
  const second = m.withDelay().run(2).then((job) => answered.push(job.args[0]))
  await turn()
  return { held, answered, both: Promise.all([first, second]) }
}

describe('pipelined appends', () => {
  it('decide the next tick while a batch is written, write in order, answer in order', async () => {
    const { wharf, m, log } = await setup()
    const { held, answered, both } = await twoCalls({ m, log })
    // Decided (the state counts it) but not written: its write waits for the first one.
    expect(wharf.stats().states.pending).toBe(2)
    expect(log.written).toEqual([])
    held.release()
    await both
    expect(log.written).toEqual([1, 2])
    expect(answered).toEqual([1, 2])
    expect((await wharf.jobs()).map((j) => j.args[0])).toEqual([1, 2])
  })

  it('a lost batch loses the batch decided after it: both callers refused, nothing of either kept', async () => {
    const { wharf, m, log } = await setup()
    const held = log.hold()
    const first = failure(() => m.withDelay().run(1))
    await held.entered
    const second = failure(() => m.withDelay().run(2))
    await turn()
    expect(wharf.stats().states.pending).toBe(2)
    held.release(new Error('disk gone'))
    expect(((await first) as Error).message).toBe('disk gone')
    expect(((await second) as Error).message).toBe('disk gone')
    expect(log.written).toEqual([])
    expect(await wharf.jobs()).toEqual([])
    expect(wharf.stats().states.pending).toBe(0)
    // The engine goes on: the next call is decided on the state rebuilt from the log.
    const third = await m.withDelay().run(3)
    expect((await wharf.jobs()).map((j) => j.uuid)).toEqual([third.uuid])
  })

  it('on a log that orders overlapping appends (PostgreSQL), the next write starts while the one before it is in flight; both land and are answered in order', async () => {
    const { m, log } = await setup('root:4', false, true)
    const { held, answered, both } = await twoCalls({ m, log })
    expect((log as OverlapLog).started).toEqual([1, 2])
    expect(log.written).toEqual([])
    held.release()
    await both
    expect(log.written).toEqual([1, 2])
    expect(answered).toEqual([1, 2])
  })

  it('on such a log, a lost batch loses the next one whose write had started, and the state is rebuilt only once that write has settled', async () => {
    const { wharf, m, log } = await setup('root:4', false, true)
    const overlap = log as OverlapLog
    const held = log.hold()
    const first = failure(() => m.withDelay().run(1))
    await held.entered
    const second = failure(() => m.withDelay().run(2))
    await turn()
    expect(overlap.started).toEqual([1, 2])
    const reads = overlap.readsInFlight.length
    held.release(new Error('disk gone'))
    expect(((await first) as Error).message).toBe('disk gone')
    expect(((await second) as Error).message).toBe('disk gone')
    expect(overlap.readsInFlight.slice(reads)).not.toEqual([])
    expect(overlap.readsInFlight.slice(reads).every((n) => n === 0)).toBe(true)
    expect(log.written).toEqual([])
    expect(await wharf.jobs()).toEqual([])
    const third = await m.withDelay().run(3)
    expect((await wharf.jobs()).map((j) => j.uuid)).toEqual([third.uuid])
  })

  it('a read made while two batches are in flight waits for both and sees both', async () => {
    const { wharf, m, log } = await setup()
    const held = log.hold()
    const first = m.withDelay().run(1)
    await held.entered
    const second = m.withDelay().run(2)
    await turn()
    let seen: number[] | null = null
    const read = wharf.jobs().then((jobs) => (seen = jobs.map((j) => j.args[0] as number)))
    await turn()
    expect(seen).toBeNull()
    held.release()
    await Promise.all([first, second, read])
    expect(seen).toEqual([1, 2])
  })

  it('a start written late reports for its own run, even when the next tick restarted the job', async () => {
    const { wharf, m, log } = await setup('root:2', true)
    await wharf.start()
    const held = log.hold()
    // Tick 1 stores the job and starts it (run 1); its batch is held.
    const stored = m.withDelay().run(1)
    await held.entered
    const uuid = 'job-0001'
    // Tick 2, decided meanwhile: requeue supersedes run 1 and starts run 2 at once (root:2).
    const requeued = wharf.requeue(uuid)
    await turn()
    expect(wharf.stats().states.started).toBe(1)
    held.release()
    await Promise.all([stored, requeued])
    await wharf.idle()
    // Run 1's handler ran first and returned 'first': its outcome is stale and decides nothing.
    const job = await wharf.job(uuid)
    expect(job?.state).toBe('done')
    expect(job?.result).toBe('second')
  })
})
