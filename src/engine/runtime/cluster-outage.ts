// What a cluster member says while its PostgreSQL server is away (cluster.ts). Its loops —
// heartbeat, polls, elections, several a second — each fail while the server is away, and each
// failure was a warning of its own: a flood in the app's logs that said nothing new after the
// first. Now an outage is warned when it starts, at most once a minute while it lasts (how long
// so far, how many operations failed), and once when a heartbeat gets through again (how long it
// lasted). A failure that is not the server being away is warned each time, as before.

/** While an outage lasts, it is warned again at most this often (ms). */
export const OUTAGE_REPEAT_MS = 60_000

export class OutageWarnings {
  /** When the first failure of the outage under way was seen (null: no outage). */
  private since: number | null = null
  private warnedAt = 0
  private failures = 0

  constructor(
    /** Where the member's warnings go (already naming the member). */
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** An operation failed because the server is away. */
  failed(error: unknown): void {
    const now = this.now()
    const why = error instanceof Error ? error.message : String(error)
    this.failures++
    if (this.since === null) {
      this.since = this.warnedAt = now
      this.failures = 1
      this.warn(`the PostgreSQL server is unreachable: ${why} (it keeps trying; warned again at most every ${OUTAGE_REPEAT_MS / 1000} s while this lasts, and once when it ends)`)
    } else if (now - this.warnedAt >= OUTAGE_REPEAT_MS) {
      this.warnedAt = now
      this.warn(`the PostgreSQL server is still unreachable, for ${seconds(now - this.since)} now (${this.failures} operations failed so far): ${why}`)
    }
  }

  /** The server answered (a heartbeat got through): an outage under way ended. */
  reached(): void {
    if (this.since === null) return
    const lasted = this.now() - this.since
    this.since = null
    this.warn(`the PostgreSQL server is reachable again, after an outage of ${seconds(lasted)} (${this.failures} operations failed meanwhile)`)
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
}
