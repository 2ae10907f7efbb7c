// The background history scrub, as the engine sees it. LevelDB does not verify its table
// checksums on reads, and a damaged block can read as fewer entries without an error: finished
// jobs would vanish from history silently. Open cannot look (its cost follows live jobs, not
// history), so once the store is open the log checks all of history once in the background
// (EventLog.scrubHistory; LevelDB's runs in a child process on the files as they were at open,
// storage/history-scrub.ts) while the engine goes on. What it finds is warned once
// (WHARF_HISTORY_DAMAGED) and kept for wharf.integrity(); the store stays usable, and 'truncate'
// (or a backup) is the repair.

import type { EventLog } from '../../storage/event-log.js'
import type { HistoryScrub, ScrubResult } from '../../storage/history.js'
import { processWarning, type Warn } from './warnings.js'

/**
 * 'off': no scrub (scrubHistory: false, or a log that offers none: history in memory, or a
 * LevelLog made without its scrubHistory option);
 * 'running'; 'ok': all of history was read and nothing is wrong; 'damaged': see problems;
 * 'stopped': the Wharf closed before it ended, or the scrub itself failed (warned).
 */
export type IntegrityStatus = 'off' | 'running' | 'ok' | 'damaged' | 'stopped'

/** What the history scrub of this open found (wharf.integrity()). */
export interface IntegrityReport {
  status: IntegrityStatus
  /** One line per kind of damage, naming the jobs (up to 20 of each); empty unless 'damaged'. */
  problems: string[]
  /** Finished job views read (0 until the scrub has ended). */
  views: number
}

export const HISTORY_DAMAGED = 'WHARF_HISTORY_DAMAGED' as const

export class HistoryScrubber {
  private scrub: HistoryScrub | null = null
  private report: IntegrityReport = { status: 'off', problems: [], views: 0 }
  private ended: Promise<void> = Promise.resolve()

  constructor(private readonly warn: Warn = processWarning) {}

  /** Begin checking history in the background, if `enabled` and the log offers a scrub; `busy`:
   * whether the engine has work in hand (the scrub then leaves it most of the machine). */
  start(log: EventLog, enabled: boolean, busy: () => boolean): void {
    if (this.scrub !== null) throw new Error('wharf: the history scrub was started twice')
    const scrub = enabled ? (log.scrubHistory?.({ busy }) ?? null) : null
    if (scrub === null) return
    this.scrub = scrub
    this.report = { status: 'running', problems: [], views: 0 }
    this.ended = scrub.done.then((result) => this.finish(scrub, result))
  }

  /** Resolves once the scrub has ended (at once when it is off), with what it found. */
  async finished(): Promise<IntegrityReport> {
    await this.ended
    return { ...this.report, problems: [...this.report.problems] }
  }

  /** Stop a scrub still running (the store closes). */
  async stop(): Promise<void> {
    if (this.report.status !== 'running') return
    this.report = { status: 'stopped', problems: [], views: 0 }
    await this.scrub!.stop()
    await this.ended
  }

  private finish(scrub: HistoryScrub, result: ScrubResult): void {
    if (this.report.status !== 'running') return // stopped
    if (!result.checked) {
      this.report = { status: 'stopped', problems: [], views: 0 }
      this.warn(`wharf: the history scrub of ${JSON.stringify(scrub.where)} could not check history: ${result.why}`, 'WHARF_HISTORY_UNCHECKED')
      return
    }
    const { views, problems } = result
    this.report = { status: problems.length === 0 ? 'ok' : 'damaged', problems, views }
    if (problems.length === 0) return
    this.warn(
      `wharf: history in ${JSON.stringify(scrub.where)} is damaged (found by the history scrub after open, ${views} finished job view(s) read): ` +
        `${problems.join('; ')}. Such jobs are missing from jobs() and stats() or counted wrong; the store stays usable. ` +
        `Open it with onCorruption: 'truncate' to repair history (it names what is lost), or restore a backup; \`wharf verify\` lists every problem`,
      HISTORY_DAMAGED,
    )
  }
}
