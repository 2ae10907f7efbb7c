// The order of a PgLog's writes. Appends overlap: each is sent once the one before it holds the
// meta row (its statement that moves the log's end has answered), so it reaches that row after it
// and commits after it — or fails inside PostgreSQL, when the one before did not commit (pg-log.ts
// says how). At most two are on the server at once: one committing, the next waiting for its row;
// the next one waits here until that one holds the row (a third would only wait longer there, on
// a connection of the pool). Every other write (snapshot, compaction, a tick's answers written
// alone, the term's bump) goes alone: after the appends before it have settled, before the ones
// after it are sent.

/** An append's two steps, as its sender reports them. */
export interface SentAppend<T> {
  /** Settles once it holds the meta row until it ends (or failed before): the next may go. */
  holding: Promise<unknown>
  /** Settles with its outcome: resolved once committed. */
  done: Promise<T>
}

interface InFlight {
  /** Its outcome, never rejecting: true once committed. Awaits the one before it first. */
  committed: Promise<boolean>
}

export class WriteOrder {
  /** The next write goes once this settles: the newest append holds its row, or the newest
   * other write is done. Never rejects. */
  private gate: Promise<unknown> = Promise.resolve()
  /** The newest append not yet settled (null: none). */
  private newest: InFlight | null = null

  /**
   * Send an append once the writes queued before it allow (`send`, called in order). Resolves
   * with its outcome once it and every append before it in flight committed; rejects when it
   * failed, or when the append before it did (which this one's check inside the transaction
   * refused as well, unless that one's outcome was unknown to this process and it did commit:
   * then this one committed too, and rejects all the same — a caller that rebuilds from the log
   * after a failure finds both there).
   */
  append<T>(send: () => SentAppend<T>, notWritten: () => unknown): Promise<T> {
    const previous = this.newest
    const gate = this.gate
    let open!: () => void
    this.gate = new Promise<void>((resolve) => (open = resolve))
    const run = (async () => {
      let done: Promise<T>
      try {
        await gate
        const sent = send()
        done = sent.done
        // Done first also lets the next one go (it failed before its row was reached, or committed).
        await Promise.race([sent.holding.then(noop, noop), done.then(noop, noop)])
      } finally {
        open()
      }
      const value = await done
      if (previous !== null && !(await previous.committed)) throw notWritten()
      return value
    })()
    const entry: InFlight = { committed: run.then(yes, no) }
    this.newest = entry
    void entry.committed.then(() => {
      if (this.newest === entry) this.newest = null
    })
    return run
  }

  /** Run `write` alone: after the writes queued before it (appends settled), before the next. */
  alone<T>(write: () => Promise<T>): Promise<T> {
    const appends = this.newest?.committed
    const run = this.gate.then(async () => {
      await appends
      return write()
    })
    this.gate = run.then(noop, noop)
    return run
  }

  /** Settles once every write queued so far has settled. */
  async settled(): Promise<void> {
    await this.gate
    await this.newest?.committed
  }
}

const noop = (): void => undefined
const yes = (): boolean => true
const no = (): boolean => false
