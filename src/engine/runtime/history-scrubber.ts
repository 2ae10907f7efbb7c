// The background history scrub. LevelDB does not verify its table checksums on reads, and a
// damaged block can read as fewer entries without an error: finished jobs would vanish from
// history silently. Open cannot look (its cost follows live jobs, not history), so once the store
// is open this reads all of history once (EventLog.scrubHistory), through one snapshot of the
// store, so appends and vacuums go on meanwhile, one bounded step at a time: a tick never waits
// for more than one step. While the engine is idle the steps follow each other (setImmediate
// between them, so anything that comes in runs first); while it is busy (a tick in flight or
// queued, a handler running) the scrub pauses BUSY_PAUSE_FACTOR times as long as its last step
// took after each one, so it takes at most ~1/(1 + BUSY_PAUSE_FACTOR) of the process's time from
// the work it checks — a real-time pause, not the engine's clock: the scrub is upkeep, not a
// schedule. What it finds is warned once (WHARF_HISTORY_DAMAGED) and kept for
// wharf.integrity(); the store stays usable, and 'truncate' (or a backup) is the repair.

import type { EventLog } from '../../storage/event-log.js'
import type { HistoryScrub } from '../../storage/history.js'

/**
 * 'off': no scrub (scrubHistory: false, or a log that offers none: history in memory);
 * 'running'; 'ok': all of history was read and nothing is wrong; 'damaged': see problems;
 * 'stopped': the Wharf closed (or the scrub failed) before it read everything.
 */
export type IntegrityStatus = 'off' | 'running' | 'ok' | 'damaged' | 'stopped'

/** What the history scrub of this open found (wharf.integrity()). */
export interface IntegrityReport {
  status: IntegrityStatus
  /** One line per kind of damage, naming the jobs (up to 20 of each); empty unless 'damaged'. */
  problems: string[]
  /** Finished job views read (all of them once the scrub is done). */
  views: number
}

export const HISTORY_DAMAGED = 'WHARF_HISTORY_DAMAGED'
/** While the engine is busy, the pause after a step, in multiples of the step's own time. */
export const BUSY_PAUSE_FACTOR = 4

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
/** A pause that does not keep the process alive by itself. */
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref())

export class HistoryScrubber {
  private status: IntegrityStatus = 'off'
  private scrub: HistoryScrub | null = null
  /** The step in progress: stop() waits for it before the scrub is closed. */
  private stepping: Promise<unknown> | null = null
  private readonly ended: Promise<void>
  private end!: () => void

  /** `busy`: whether the engine has work in hand (the scrub then leaves it most of the time). */
  constructor(
    private readonly busy: () => boolean,
    private readonly warn: (message: string, code?: string) => void = defaultWarn,
  ) {
    this.ended = new Promise((resolve) => (this.end = resolve))
  }

  /** Begin reading history in the background; 'off' at once when not `enabled` or when the log
   * offers no scrub. */
  start(log: EventLog, enabled: boolean): void {
    if (this.status !== 'off' || this.scrub !== null) throw new Error('wharf: the history scrub was started twice')
    if (!enabled || log.scrubHistory === undefined) return this.end()
    this.scrub = log.scrubHistory()
    this.status = 'running'
    void this.run(this.scrub)
  }

  /** Resolves once the scrub has ended (at once when it is off), with what it found. */
  async finished(): Promise<IntegrityReport> {
    await this.ended
    return this.report()
  }

  report(): IntegrityReport {
    const problems = this.scrub?.problems() ?? []
    return { status: this.status, problems: this.status === 'damaged' ? problems : [], views: this.scrub?.views ?? 0 }
  }

  /** Stop a scrub still running (the store closes): its step in progress ends first. */
  async stop(): Promise<void> {
    if (this.status !== 'running') return
    this.status = 'stopped'
    await this.stepping?.catch(() => undefined)
    await this.scrub!.close()
    this.end()
  }

  private async run(scrub: HistoryScrub): Promise<void> {
    try {
      for (;;) {
        const startedMs = performance.now()
        const step = scrub.step()
        this.stepping = step
        const more = await step
        this.stepping = null
        if (this.status !== 'running') return // stop() closes it
        if (!more) break
        await (this.busy() ? pause(BUSY_PAUSE_FACTOR * (performance.now() - startedMs)) : turn())
        if (this.status !== 'running') return
      }
    } catch (error) {
      this.stepping = null
      if (this.status !== 'running') return
      this.status = 'stopped'
      await scrub.close().catch(() => undefined)
      this.warn(`wharf: the history scrub of ${JSON.stringify(scrub.where)} stopped before it read all of history: ${(error as Error)?.message ?? String(error)}`)
      return this.end()
    }
    this.finish(scrub)
  }

  private finish(scrub: HistoryScrub): void {
    const problems = scrub.problems()
    this.status = problems.length === 0 ? 'ok' : 'damaged'
    if (problems.length > 0) {
      this.warn(
        `wharf: history in ${JSON.stringify(scrub.where)} is damaged (found by the history scrub after open, ${scrub.views} finished job view(s) read): ` +
          `${problems.join('; ')}. Such jobs are missing from jobs() and stats() or counted wrong; the store stays usable. ` +
          `Open it with onCorruption: 'truncate' to repair history (it names what is lost), or restore a backup; \`wharf verify\` lists every problem`,
        HISTORY_DAMAGED,
      )
    }
    this.end()
  }
}

function defaultWarn(message: string, code?: string): void {
  process.emitWarning(message, code === undefined ? undefined : { code })
}
