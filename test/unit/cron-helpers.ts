// Shared by the cron tests (not a test file itself): a Wharf on a FakeClock with a `reports`
// model whose handler records each call, and readers of what the crons stored.

import { FakeClock, Wharf, type Logger, type WharfEvent } from '../../src/index.js'

export const DAY_MS = 86_400_000
export const HOUR_MS = 3_600_000

export interface CronRig {
  wharf: Wharf
  clock: FakeClock
  reports: ReturnType<typeof reportsModel>
  /** Each handler call: its argument and the clock time it ran at (ISO). */
  calls: string[]
  events: WharfEvent[]
}

function reportsModel(wharf: Wharf, calls: string[], clock: FakeClock) {
  return wharf.model('reports', {
    async build(what: string) {
      calls.push(`${what}@${new Date(clock.now()).toISOString()}`)
    },
  })
}

/** A Wharf at `startIso` (or on `clock`), in memory or on LevelDB at `path`. */
export async function openCronRig(options: { clock?: FakeClock; startIso?: string; path?: string; snapshotEvery?: number; logger?: Logger }): Promise<CronRig> {
  const clock = options.clock ?? new FakeClock(Date.parse(options.startIso ?? '2026-01-01T00:00:00Z'))
  const wharf = await Wharf.open({ clock, ...(options.path === undefined ? {} : { path: options.path }), ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }), ...(options.logger === undefined ? {} : { logger: options.logger }) })
  const calls: string[] = []
  const events: WharfEvent[] = []
  wharf.on('transition', (e) => events.push(e))
  return { wharf, clock, reports: reportsModel(wharf, calls, clock), calls, events }
}

/** The scheduled times (ISO) of the firings stored so far, from their jobs' identity keys, in order. */
export async function firedTimes(wharf: Wharf, name: string): Promise<string[]> {
  const prefix = `cron:${name}:`
  const jobs = await wharf.jobs({ limit: 10_000 })
  return jobs.flatMap((j) => (j.identityKey?.startsWith(prefix) === true ? [j.identityKey.slice(prefix.length)] : [])).sort()
}
