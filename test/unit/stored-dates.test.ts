// Proves a Date in a stored payload is as unchangeable as the rest of it. Object.freeze does not
// stop a Date's setters (its time is in an internal slot, not a property), so a handler calling
// setTime() or setFullYear() on its Date argument changed the stored job in memory: its JobView
// showed the change, its next try got it, and the next open, reading the log, showed the
// argument as it was. Dates of stored payloads now refuse their setters with a TypeError, as a
// frozen object refuses a write; they read, compare and serialize as any Date, and can be
// passed on to a new job.
import { describe, expect, it } from 'vitest'
import { FakeClock, RetryableJobError, Wharf, type JobContext, type JobView } from '../../src/index.js'
import { closedAfterEach, tempLevelLogs } from './helpers.js'

const temp = tempLevelLogs('wharf-stored-dates-')
const opened = closedAfterEach()
const WHEN = Date.UTC(2026, 11, 1, 12)

/** Each try tries to move its Date a year on and keeps what it saw, then asks to be retried. */
function movingHandlers(seen: number[]) {
  return {
    run(this: JobContext, options: { at: Date }) {
      seen.push(options.at.getTime())
      options.at.setFullYear(options.at.getFullYear() + 1)
      throw new RetryableJobError('again', { seconds: 0 })
    },
  }
}

async function openWharf(path: string | undefined, clock: FakeClock, seen: number[]) {
  const wharf = await Wharf.open({ ...(path === undefined ? {} : { path }), clock })
  opened.push(wharf)
  return { wharf, jobs: wharf.model('jobs', movingHandlers(seen)) }
}

const argDate = (view: JobView | undefined): number => (view!.args[0] as { at: Date }).at.getTime()

describe('a Date in a stored payload', () => {
  it.each([['in memory', false], ['on LevelDB, read back from the log', true]])(
    '(%s) refuses its setters: a handler cannot change the stored job, whose tries all see the same time',
    async (_where, reopen) => {
      const clock = new FakeClock()
      const path = reopen ? await temp.path() : undefined
      const seen: number[] = []
      let { wharf, jobs } = await openWharf(path, clock, seen)
      const job = await jobs.browse([1]).withDelay({ maxRetries: 2 }).run({ at: new Date(WHEN) })
      if (reopen) {
        await wharf.close()
        ;({ wharf, jobs } = await openWharf(path, clock, seen))
      }
      await wharf.start()
      await wharf.drain()
      const view = await wharf.job(job.uuid)
      expect(view).toMatchObject({ state: 'failed', excName: 'TypeError' })
      expect(view!.excMessage).toContain('setFullYear')
      expect(seen).toEqual([WHEN]) // max retries 2: one try, whose setter threw
      expect(argDate(view)).toBe(WHEN)
    },
  )

  it("refuses a JobView's Date setters too, and reads, compares and serializes as a Date", async () => {
    const wharf = await Wharf.open({})
    opened.push(wharf)
    const jobs = wharf.model('jobs', { keep: (_: { at: Date }) => null })
    const job = await jobs.withDelay().keep({ at: new Date(WHEN) })
    const at = (job.args[0] as { at: Date }).at
    expect(() => at.setTime(0)).toThrow(TypeError)
    expect(() => at.setUTCHours(1)).toThrow(/a stored job's Date cannot change/)
    expect(at).toBeInstanceOf(Date)
    expect(at).toEqual(new Date(WHEN))
    expect(JSON.stringify(at)).toBe(JSON.stringify(new Date(WHEN)))
    expect(structuredClone(at).setTime(1)).toBe(1) // a copy is the caller's own
    expect(argDate(await wharf.job(job.uuid))).toBe(WHEN)
    // Passed on as is to a new job, it is stored as a Date.
    const next = await jobs.withDelay().keep({ at })
    expect(argDate(await wharf.job(next.uuid))).toBe(WHEN)
  })

  it("keeps a handler's returned Date unchangeable in the result it is stored as", async () => {
    const wharf = await Wharf.open({})
    opened.push(wharf)
    const jobs = wharf.model('jobs', { when: () => new Date(WHEN) })
    await wharf.start()
    const job = await jobs.withDelay().when()
    const result = (await wharf.result(job.uuid)) as Date
    expect(result.getTime()).toBe(WHEN)
    expect(() => result.setTime(0)).toThrow(TypeError)
    expect(((await wharf.job(job.uuid))!.result as Date).getTime()).toBe(WHEN)
  })
})
