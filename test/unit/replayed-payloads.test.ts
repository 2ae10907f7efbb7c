// Proves a job read back from the log (replayed events, or a snapshot) holds its payloads as a job
// made in this process does: frozen (serialize.ts, view.ts). Unfrozen, a handler that changed its
// argument changed the job in memory: its JobView showed the change, the next try got it, and the
// next open, reading the log, showed the arguments as they were.
import { describe, expect, it } from 'vitest'
import { FakeClock, RetryableJobError, Wharf, type JobContext, type JobView } from '../../src/index.js'
import { closedAfterEach, tempLevelLogs } from './helpers.js'

const temp = tempLevelLogs('wharf-replayed-')
const opened = closedAfterEach()

/** Each try appends to its argument's list if it can, then asks to be retried at once. */
const handlers = {
  run(this: JobContext, options: { list: number[] }) {
    options.list.push(options.list.length)
    throw new RetryableJobError('again', { seconds: 0 })
  },
}

async function openAt(path: string, clock: FakeClock, snapshotEvery?: number) {
  const wharf = await Wharf.open({ path, clock, ...(snapshotEvery === undefined ? {} : { snapshotEvery }) })
  opened.push(wharf)
  return { wharf, jobs: wharf.model('jobs', handlers) }
}

/** Push onto the list of the first element, as a careless caller would (a frozen one throws). */
function tryToChange(values: readonly unknown[]): void {
  try {
    ;(values[0] as { list: number[] }).list.push(99)
  } catch {
    // frozen: nothing changed
  }
}

/** What the job's tries left: its state, exception and arguments. */
function outcome(view: JobView | undefined) {
  return { state: view?.state, excName: view?.excName, excMessage: view?.excMessage, args: view?.args }
}

describe('a job read back from the log', () => {
  it.each([
    ['replayed events', undefined],
    ['a snapshot', 1],
  ])('(from %s) holds its payloads as a job made in this process: a handler changing its argument fails the same way', async (_from, snapshotEvery) => {
    const clock = new FakeClock()
    const path = await temp.path()
    const first = await openAt(path, clock, snapshotEvery)
    const fresh = await first.jobs.browse([1]).withDelay({ maxRetries: 3 }).run({ list: [0] })
    const replayed = await first.jobs.browse([1]).withDelay({ maxRetries: 3 }).run({ list: [0] })
    await first.wharf.start()
    await first.wharf.drain()
    const freshOutcome = outcome(await first.wharf.job(fresh.uuid))
    expect(freshOutcome).toMatchObject({ state: 'failed', excName: 'TypeError', args: [{ list: [0] }] })
    expect((await first.wharf.job(replayed.uuid))!.state).toBe('failed')
    await first.wharf.requeue(replayed.uuid) // back to pending, to be read back and run again
    await first.wharf.close()

    const second = await openAt(path, clock, snapshotEvery)
    tryToChange((await second.wharf.job(replayed.uuid))!.args)
    expect((await second.wharf.job(replayed.uuid))!.args).toEqual([{ list: [0] }]) // a read's copy is not the job
    await second.wharf.start()
    await second.wharf.drain()
    expect(outcome(await second.wharf.job(replayed.uuid))).toEqual(freshOutcome)
    await second.wharf.close()

    const third = await openAt(path, clock, snapshotEvery)
    expect(outcome(await third.wharf.job(replayed.uuid))).toEqual(freshOutcome)
  })

})
