// A piece of background work that never overlaps itself: asked for while it runs, it runs once
// more after it (however often it was asked meanwhile), so whatever the asker saw before asking
// is covered. The cluster's heartbeat and a replica's reads of the log are such work.

export class Coalesced {
  private running: Promise<void> | null = null
  private again = false

  /** `stopped`: checked before a run asked for meanwhile; true drops it. */
  constructor(
    private readonly work: () => Promise<void>,
    private readonly stopped: () => boolean = () => false,
  ) {}

  /** The run under way (with the one asked for after it), or null. */
  get current(): Promise<void> | null {
    return this.running
  }

  run(): Promise<void> {
    if (this.running !== null) {
      this.again = true
      return this.running
    }
    this.running = this.rounds().finally(() => (this.running = null))
    return this.running
  }

  private async rounds(): Promise<void> {
    do {
      this.again = false
      await this.work()
    } while (this.again && !this.stopped())
  }
}
