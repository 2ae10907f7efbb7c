// Proves a handler run by the testing helpers — trapJobs' performEnqueuedJobs() and no-delay mode —
// has `this.job` as a handler of a stored job has it (API.md: the JobView at start, `retry`
// counting this try), not undefined: a handler reading this.job.uuid or this.job.retry must not
// fail only under test.
import { afterEach, describe, expect, it } from 'vitest'
import { Wharf, type JobContext, type JobView } from '../../src/index.js'
import { FakeClock, sequentialIds, trapJobs } from '../../src/testing.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function setup(noDelay: boolean) {
  const wharf = await Wharf.open({ clock: new FakeClock(), noDelay, newId: sequentialIds() })
  opened.push(wharf)
  const seen: (JobView | undefined)[] = []
  const mail = wharf.model('mail', {
    send(this: JobContext, to: string) {
      seen.push(this.job)
      return `sent to ${to} (try ${this.job!.retry})`
    },
  })
  return { wharf, mail, seen }
}

describe('this.job under the testing helpers', () => {
  it('performEnqueuedJobs(): the trapped job, started, this try counted', async () => {
    const { wharf, mail, seen } = await setup(false)
    const trap = trapJobs(wharf)
    const trapped = await mail.browse([7]).withDelay({ priority: 3 }).send('ops@example.com')
    await trap.performEnqueuedJobs()
    trap.restore()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ uuid: trapped.uuid, records: [7], args: ['ops@example.com'], priority: 3, state: 'started', retry: 1 })
    expect(seen[0]!.startedAt).toBe(wharf.clock.now())
  })

  it('no-delay mode: the job as it runs, the same uuid as the view the call resolves with', async () => {
    const { mail, seen } = await setup(true)
    const done = await mail.browse([7]).withDelay().send('ops@example.com')
    expect(done).toMatchObject({ state: 'done', retry: 1, result: 'sent to ops@example.com (try 1)' })
    expect(seen[0]).toMatchObject({ uuid: done.uuid, records: [7], state: 'started', retry: 1, result: null, doneAt: null })
  })

  // A stored batch's jobs carry its uuid (JobView.batchUuid); the helpers gave them null, and the
  // trap minted new uuids for them, unlike those batch() had minted.
  it.each([['trapped', false], ['no-delay', true]] as const)('batch(), %s: each job is of the batch, with the uuid batch() minted', async (_mode, noDelay) => {
    const { wharf, mail, seen } = await setup(noDelay)
    const trap = noDelay ? null : trapJobs(wharf)
    const [a, b] = [mail.browse([1]).delayable().send('a@example.com'), mail.browse([2]).delayable().send('b@example.com')]
    const batch = await wharf.batch('mailing', [a, b])
    expect([a.job!.uuid, b.job!.uuid]).toEqual(['job-000002', 'job-000003']) // as a stored batch's, after its own
    expect([a.job!.batchUuid, b.job!.batchUuid]).toEqual([batch.uuid, batch.uuid])
    if (trap !== null) {
      expect(trap.enqueuedJobs.map((job) => job.batchUuid)).toEqual([batch.uuid, batch.uuid])
      await trap.performEnqueuedJobs()
      trap.restore()
    }
    expect(seen.map((job) => [job!.uuid, job!.batchUuid])).toEqual([[a.job!.uuid, batch.uuid], [b.job!.uuid, batch.uuid]])
  })
})
