// Upkeep the engine does besides deciding commands: snapshots, which bound what the next open
// replays, and autovacuum, which bounds what history keeps. Both are policies over when to do
// it; the work itself goes through the log and the tick like anything else. And the history
// scrub after open (history-scrubber.ts), which only reads.

import type { Command } from '../core/commands.js'
import { VACUUM_BATCH } from '../core/limits.js'
import { snapshotOf, SNAPSHOT_FORMAT_VERSION } from '../core/snapshot.js'
import type { State } from '../core/state.js'
import type { EventLog } from '../../storage/event-log.js'
import type { Clock } from './clock.js'
import type { EngineOptions } from './engine.js'
import { HistoryScrubber, type IntegrityReport } from './history-scrubber.js'
import { vacuumCandidates } from './history-io.js'
import type { ResultOf } from './submissions.js'
import { processWarning, type Warn } from './warnings.js'

/** How often autovacuum looks for old jobs while the engine runs. */
export const VACUUM_INTERVAL_MS = 3_600_000

/** What maintenance needs of the engine: its state as it is now (a rollback replaces it), a
 * way to submit the vacuum commands as any caller would, and whether it has work in hand. */
export interface Maintained {
  readonly state: State
  submit<T>(command: Command, result?: ResultOf<T>): Promise<T>
  /** No command is queued and no tick is pending or running. */
  readonly quiet: boolean
  readonly runningHandlers: number
  /** An autovacuum pass started by vacuumIfDue has ended (waiters judge by `vacuuming`). */
  vacuumEnded(): void
  /** A snapshot takeSnapshot started is written, or failed (waiters judge by `snapshotting`). */
  snapshotWritten(): void
}

export class Maintenance {
  private readonly log: EventLog
  private readonly clock: Clock
  private readonly snapshotEvery: number
  private readonly eventsPerLiveJob: number
  private readonly removeAfterDays: number
  /** seq of the newest snapshot (or of the state the log was opened at). */
  private snapshotSeq: number
  /** The snapshot takeSnapshot is writing behind the ticks (it never rejects), or null. */
  private writing: Promise<void> | null = null
  private nextVacuumMs = 0
  /** Autovacuum passes running that vacuumIfDue started. */
  private passes = 0
  private readonly warn: Warn
  private readonly scrubber: HistoryScrubber

  constructor(
    private readonly engine: Maintained,
    options: Pick<EngineOptions, 'log' | 'clock' | 'snapshotEvery' | 'snapshotEventsPerLiveJob' | 'removeAfterDays' | 'warn'>,
  ) {
    this.warn = options.warn ?? processWarning
    this.scrubber = new HistoryScrubber(this.warn)
    this.log = options.log
    this.clock = options.clock
    this.snapshotEvery = options.snapshotEvery
    this.eventsPerLiveJob = options.snapshotEventsPerLiveJob ?? 0
    this.removeAfterDays = options.removeAfterDays
    this.snapshotSeq = engine.state.seq
  }

  /**
   * snapshotEvery events were appended since the last snapshot, and eventsPerLiveJob per live job,
   * and none is being written. A snapshot costs in proportion to the live jobs it holds (its copy
   * holds the tick, its encoding and write take turns with the ticks); an open replays the events
   * after it. Waiting for as many events as the live jobs times a constant keeps a snapshot's cost
   * a small share of the work between two, whatever the backlog, while what an open replays still
   * follows live work.
   */
  snapshotDue(): boolean {
    if (this.snapshotEvery === 0 || this.writing !== null) return false
    const since = this.engine.state.seq - this.snapshotSeq
    return since >= this.snapshotEvery && since >= this.eventsPerLiveJob * this.engine.state.jobs.size
  }

  /**
   * A tick found a snapshot due, with nothing in flight (the state is the log's): take the state
   * now and write it behind the ticks. snapshotOf copies all that later ticks change (they replace
   * payloads, never change them in place), so only the copy holds the tick; the encoding (in turns
   * of the event loop: codec.ts), the write and the log's compaction held it too before, most of a
   * second per 100,000 live jobs. A failure loses nothing (the log still holds every event): it
   * warns, and the next snapshot is due snapshotEvery events later.
   */
  takeSnapshot(): void {
    const { seq, state } = this.take()
    this.writing = this.write(seq, state)
      .catch((error: unknown) => {
        this.warn(`wharf: snapshot at seq ${seq} failed, will retry: ${(error as Error)?.message ?? String(error)}`, 'WHARF_SNAPSHOT_FAILED')
      })
      .finally(() => {
        this.writing = null
        this.engine.snapshotWritten()
      })
  }

  /**
   * A snapshot asked for (`wharf.snapshot()`), inside a tick: once any snapshot being written has
   * landed, take and write one now, rejecting with its failure, which the caller must hear of.
   */
  async snapshot(): Promise<void> {
    await this.snapshotLanded()
    const { seq, state } = this.take()
    await this.write(seq, state)
  }

  /** The state as a snapshot now; the next one is due from its seq. */
  private take(): { seq: number; state: ReturnType<typeof snapshotOf> } {
    const state = this.engine.state
    this.snapshotSeq = state.seq
    return { seq: state.seq, state: snapshotOf(state) }
  }

  private async write(seq: number, state: ReturnType<typeof snapshotOf>): Promise<void> {
    await this.log.writeSnapshot({ seq, formatVersion: SNAPSHOT_FORMAT_VERSION, state })
    await this.log.compact(seq)
  }

  /** A snapshot is being written behind the ticks: work in hand, which idle() waits for. */
  get snapshotting(): boolean {
    return this.writing !== null
  }

  /** Resolves (never rejects) once no snapshot is being written: before the log closes, and
   * before a rollback reads the log (a compaction must not delete records under that read). */
  snapshotLanded(): Promise<void> {
    return this.writing ?? Promise.resolve()
  }

  /** Remove old done/cancelled jobs from history, one bounded batch per tick, until none is left. */
  async vacuum(): Promise<number> {
    this.nextVacuumMs = this.clock.now() + VACUUM_INTERVAL_MS
    let total = 0
    for (;;) {
      // Read between ticks; the core skips any graph a command brought back to memory meanwhile.
      const jobs = await vacuumCandidates(this.engine.state, this.log.history, this.clock.now(), this.removeAfterDays, VACUUM_BATCH)
      if (jobs.length === 0) return total
      total += await this.engine.submit({ type: 'vacuum', jobs }, removedCount)
      if (jobs.length < VACUUM_BATCH) return total
    }
  }

  /**
   * Autovacuum while running: checked whenever the engine wakes, at most once an interval. Nobody
   * awaits it, so a failed append must not become an unhandled rejection (by default that ends
   * the process); the next interval tries again, and callers of the same tick were told anyway.
   */
  vacuumIfDue(now: number): void {
    if (now < this.nextVacuumMs) return
    this.passes++
    this.vacuum()
      .catch(() => {})
      .finally(() => {
        this.passes--
        this.engine.vacuumEnded()
      })
  }

  /** A due autovacuum pass runs: it is work in hand, which drain() and idle() wait for (on
   * LevelDB it reads its candidates from disk between ticks, with no tick pending meanwhile). */
  get vacuuming(): boolean {
    return this.passes > 0
  }

  /** Once the store is open: read all of history in the background, checking it (if `enabled`). */
  startScrub(enabled: boolean): void {
    this.scrubber.start(this.log, enabled, () => !this.engine.quiet || this.engine.runningHandlers > 0)
  }

  /** Before the log closes. */
  stopScrub(): Promise<void> {
    return this.scrubber.stop()
  }

  /** What the scrub found, once it has ended. */
  integrity(): Promise<IntegrityReport> {
    return this.scrubber.finished()
  }
}

const removedCount: ResultOf<number> = (note) => (note !== undefined && 'removed' in note ? note.removed : 0)
