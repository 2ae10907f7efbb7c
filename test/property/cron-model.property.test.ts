// Proves that the engine fires a cron exactly when a model oracle says, for random schedules,
// catch-up policies and sequences of clock advances, pauses, resumes and downtimes (close, the
// clock moves on, reopen — from a snapshot or not — and start), on a FakeClock and a MemoryLog.
// The oracle reads the schedule by arithmetic on whole minutes (UTC), never through croner, and
// applies catchUp to the firings due at each moment the engine looks. fast-check; FC_SEED, FC_NUM_RUNS.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock, MemoryLog, Wharf } from '../../src/index.js'
import { fcParams } from './engine-harness.js'

const MINUTE = 60_000
const T0 = Date.parse('2026-01-01T00:00:00Z')

type CatchUp = 'none' | 'one' | 'all'

/** A schedule and the oracle's reading of it: does the whole minute `ms` fire? */
interface Schedule {
  expression: string
  fires(ms: number): boolean
}

const minuteOf = (ms: number): number => new Date(ms).getUTCMinutes()
const SCHEDULES: Schedule[] = [
  { expression: '*/5 * * * *', fires: (ms) => minuteOf(ms) % 5 === 0 },
  { expression: '*/15 * * * *', fires: (ms) => minuteOf(ms) % 15 === 0 },
  { expression: '7 * * * *', fires: (ms) => minuteOf(ms) === 7 },
  { expression: '0,30 * * * *', fires: (ms) => minuteOf(ms) % 30 === 0 },
  { expression: '45 3 * * *', fires: (ms) => minuteOf(ms) === 45 && new Date(ms).getUTCHours() === 3 },
]

type Action =
  | { kind: 'advance'; minutes: number }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'downtime'; minutes: number; snapshot: boolean }

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), minutes: fc.integer({ min: 1, max: 150 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('downtime' as const), minutes: fc.integer({ min: 0, max: 1500 }), snapshot: fc.boolean() }) },
)

/** What the oracle expects: the scheduled times fired, the next firing, the pause. */
class Oracle {
  fired: number[] = []
  paused = false
  next: number
  /** When the engine last started: 'none' fires a due firing only from there on. */
  since: number

  constructor(private readonly schedule: Schedule, private readonly catchUp: CatchUp, nowMs: number) {
    this.next = this.after(nowMs)
    this.since = nowMs
  }

  /** The first firing strictly after `ms` (the schedules all fire within two days). */
  after(ms: number): number {
    let t = Math.floor(ms / MINUTE) * MINUTE + MINUTE
    while (!this.schedule.fires(t)) t += MINUTE
    return t
  }

  /** The engine looks at `nowMs` (its timer, or a start): the due firings per catchUp. */
  look(nowMs: number): void {
    if (this.paused || this.next > nowMs) return
    const due: number[] = []
    for (let t = this.next; t <= nowMs; t = this.after(t)) due.push(t)
    const latest = due[due.length - 1]!
    if (this.catchUp === 'all') this.fired.push(...due)
    else if (this.catchUp === 'one' || latest >= this.since) this.fired.push(latest)
    this.next = this.after(nowMs)
  }

  /** The clock moves from `fromMs` to `toMs` while running: each firing on the way, at its time. */
  advance(fromMs: number, toMs: number): void {
    if (this.paused) return
    for (let t = this.next; t <= toMs; t = this.next) {
      if (t < fromMs) throw new Error('a firing was left behind')
      this.look(t)
    }
  }
}

async function open(log: MemoryLog, clock: FakeClock, schedule: Schedule, catchUp: CatchUp): Promise<Wharf> {
  const wharf = await Wharf.open({ log, clock })
  const reports = wharf.model('reports', { async build() {} })
  await wharf.cron('c', schedule.expression, reports.delayable().build(), { tz: 'UTC', catchUp })
  await wharf.start()
  return wharf
}

async function firedOf(wharf: Wharf): Promise<number[]> {
  const jobs = await wharf.jobs({ limit: 10_000 })
  return jobs.map((j) => Date.parse(j.identityKey!.slice('cron:c:'.length))).sort((a, b) => a - b)
}

describe('crons against a model oracle', () => {
  it('fires exactly the firings the oracle schedules, under any advances, pauses, reopens and catch-ups', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SCHEDULES),
        fc.constantFrom<CatchUp>('none', 'one', 'all'),
        fc.integer({ min: 0, max: 24 * 60 - 1 }),
        fc.array(action, { maxLength: 10 }),
        async (schedule, catchUp, startMinute, actions) => {
          const clock = new FakeClock(T0 + startMinute * MINUTE + 13_000)
          const log = new MemoryLog()
          let wharf = await open(log, clock, schedule, catchUp)
          const oracle = new Oracle(schedule, catchUp, clock.now())
          try {
            for (const a of actions) {
              const now = clock.now()
              if (a.kind === 'advance') {
                await clock.advance(a.minutes * MINUTE)
                oracle.advance(now, clock.now())
              } else if (a.kind === 'pause') {
                await wharf.pauseCron('c')
                oracle.paused = true
              } else if (a.kind === 'resume') {
                await wharf.resumeCron('c')
                if (oracle.paused) oracle.next = oracle.after(now)
                oracle.paused = false
              } else {
                if (a.snapshot) await wharf.snapshot()
                await wharf.close()
                await clock.advance(a.minutes * MINUTE)
                wharf = await open(log, clock, schedule, catchUp)
                await wharf.idle()
                oracle.since = clock.now()
                oracle.look(clock.now())
              }
              expect(await firedOf(wharf), `after ${JSON.stringify(a)}`).toEqual(oracle.fired)
              const [view] = await wharf.crons()
              expect(view, `after ${JSON.stringify(a)}`).toMatchObject({
                paused: oracle.paused,
                nextFireAt: oracle.paused ? null : oracle.next,
                lastFireAt: oracle.fired.length === 0 ? null : oracle.fired[oracle.fired.length - 1],
              })
            }
          } finally {
            await wharf.close()
          }
        },
      ),
      fcParams(40),
    )
  })
})
