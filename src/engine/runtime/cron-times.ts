// Cron times: the one place that reads a calendar. The core never computes a firing time (it
// would need a cron library, a time-zone database and the clock); the shell computes them here,
// with croner (time zones, DST), and hands them to the core as data.

import { Cron } from 'croner'

/** Parsed schedules are kept, a few: a due cron is parsed at every firing otherwise. */
const PARSED_MAX = 1_000

export class CronTimes {
  private readonly parsed = new Map<string, Cron>()

  /** The schedule read in `tz`; throws croner's error for a bad expression or time zone. */
  parse(schedule: string, tz: string): Cron {
    const key = `${tz}\u0000${schedule}`
    let cron = this.parsed.get(key)
    if (cron === undefined) {
      // paused: croner must never start a timer of its own; only its calendar is used.
      cron = new Cron(schedule, { timezone: tz, paused: true })
      if (this.parsed.size >= PARSED_MAX) this.parsed.clear()
      this.parsed.set(key, cron)
    }
    return cron
  }

  /** The first firing strictly after `afterMs` (null: none ever). */
  nextAfter(schedule: string, tz: string, afterMs: number): number | null {
    return this.parse(schedule, tz).nextRun(new Date(afterMs))?.getTime() ?? null
  }

  /** The latest firing at or before `atMs` (null: none). Firings are whole seconds, and croner
   * looks strictly before its reference with the milliseconds stripped. */
  latestAtOrBefore(schedule: string, tz: string, atMs: number): number | null {
    const reference = Math.floor(atMs / 1000) * 1000 + 1000
    return this.parse(schedule, tz).previousRuns(1, new Date(reference))[0]?.getTime() ?? null
  }

  /**
   * The firings from `fromMs` (a firing itself: the cron's stored next one) up to `toMs`, at most
   * `max`; `more`: there are more before `toMs`.
   */
  between(schedule: string, tz: string, fromMs: number, toMs: number, max: number): { times: number[]; more: boolean } {
    const cron = this.parse(schedule, tz)
    const times: number[] = []
    let at: number | null = fromMs
    while (at !== null && at <= toMs) {
      if (times.length === max) return { times, more: true }
      times.push(at)
      at = cron.nextRun(new Date(at))?.getTime() ?? null
    }
    return { times, more: false }
  }
}
