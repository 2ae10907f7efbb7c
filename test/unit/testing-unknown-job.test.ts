// Proves a test that asks a trapped or no-delay Wharf about a job one of its delayed calls
// resolved with — which was never stored — is told why there is no such job, not only "no job
// with uuid …" as if it were lost; and that a stored Wharf's refusal is unchanged.
import { afterEach, describe, expect, it } from 'vitest'
import { UnknownJobError, Wharf, type JobContext } from '../../src/index.js'
import { FakeClock, trapJobs } from '../../src/testing.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function setup(noDelay: boolean) {
  const wharf = await Wharf.open({ clock: new FakeClock(), noDelay })
  opened.push(wharf)
  const m = wharf.model('report', {
    build(this: JobContext) {
      return 'built'
    },
  })
  return { wharf, m }
}

/** Every call that names one job by uuid. */
function asks(wharf: Wharf, uuid: string): [string, () => Promise<unknown>][] {
  return [
    ['result', () => wharf.result(uuid)],
    ['explain', () => wharf.explain(uuid)],
    ['requeue', () => wharf.requeue(uuid)],
    ['cancel', () => wharf.cancel(uuid)],
    ['setDone', () => wharf.setDone(uuid)],
    ['remove', () => wharf.remove([uuid])],
    ['relatedAction', () => wharf.relatedAction(uuid)],
  ]
}

describe('UnknownJobError for a job a testing helper did not store', () => {
  it.each([
    ['trapped', false, /: this Wharf is trapped \(trapJobs\(\)\), and a delayed call is recorded by the trap, not stored/],
    ['no-delay', true, /: this Wharf runs in no-delay mode, where a delayed call runs at once and stores nothing/],
  ] as const)('%s: every call naming it says why', async (_mode, noDelay, why) => {
    const { wharf, m } = await setup(noDelay)
    const trap = noDelay ? null : trapJobs(wharf)
    const view = await m.withDelay().build()
    for (const [name, ask] of asks(wharf, view.uuid)) {
      const error = await failure(ask)
      expect(error, name).toBeInstanceOf(UnknownJobError)
      expect((error as UnknownJobError).uuid, name).toBe(view.uuid)
      expect((error as Error).message, name).toMatch(why)
    }
    trap?.restore()
  })

  it('a Wharf that stores jobs keeps the bare refusal', async () => {
    const { wharf } = await setup(false)
    for (const [name, ask] of asks(wharf, 'no-such-job')) {
      expect((await failure(ask) as Error).message, name).toBe('no job with uuid "no-such-job"')
    }
  })
})
