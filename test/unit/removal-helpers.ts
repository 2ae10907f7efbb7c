// Shared by remove.test.ts and purge.test.ts (not a test file itself): a Wharf on a FakeClock
// with a model whose jobs succeed, fail or hold until released, closed after each test.

import { afterEach } from 'vitest'
import { FailedJobError, FakeClock, MemoryLog, Wharf, type JobView, type OpenOptions } from '../../src/index.js'

export const CHANNELS = 'root:4'
const opened: Wharf[] = []

/** Registers the afterEach that closes what openRemoval opened; call once per test file. */
export function closeOpenedAfterEach(): void {
  afterEach(async () => {
    for (const w of opened.splice(0)) await w.close().catch(() => {})
  })
}

export async function openRemoval(options: OpenOptions = {}) {
  const clock = new FakeClock()
  const wharf = await Wharf.open({ channels: CHANNELS, clock, log: new MemoryLog(), ...options })
  opened.push(wharf)
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const m = wharf.model('test.remove', {
    run(what: string) {
      if (what === 'fail') throw new FailedJobError('broken')
      return `ran ${what}`
    },
    async hold() {
      await gate
      return 'held'
    },
  })
  return { wharf, m, release, clock }
}

export const uuidsOf = (views: JobView[]): string[] => views.map((v) => v.uuid)

/** Each job's state, or 'gone'. */
export const states = async (wharf: Wharf, uuids: string[]): Promise<string[]> =>
  Promise.all(uuids.map(async (uuid) => (await wharf.job(uuid))?.state ?? 'gone'))
