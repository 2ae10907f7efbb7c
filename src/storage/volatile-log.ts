// The log of `Wharf.open()` without a path: nothing survives close, so nothing is kept. Retaining
// every event here would only be a memory leak in a long-running in-memory queue; tests that
// need to replay pass a MemoryLog instead. For the same reason snapshots and compaction are
// no-ops: there is no history to bound.

import type { WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import type { EventLog, Snapshot } from './event-log.js'
import { NO_HISTORY_WRITE, type HistoryWrite } from './history.js'
import { MemoryHistory } from './memory-history.js'

const DONE = Promise.resolve()

export class VolatileLog implements EventLog {
  private closed = false
  /** Finished jobs are kept (they are what jobs() lists), but not the events that finished them. */
  readonly history = new MemoryHistory()

  async open(): Promise<void> {
    this.closed = false
  }

  append(_batch: readonly WharfEvent[], history: HistoryWrite = NO_HISTORY_WRITE): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the event log is closed'))
    if (history !== NO_HISTORY_WRITE) this.history.apply(history)
    return DONE
  }

  async *read(): AsyncIterable<readonly WharfEvent[]> {}

  async readSnapshot(): Promise<Snapshot | null> {
    return null
  }

  writeSnapshot(_snapshot: Snapshot): Promise<void> {
    return DONE
  }

  compact(_uptoSeq: number): Promise<void> {
    return DONE
  }

  /** Never needed: this history was kept from the first event. */
  async initHistory(_views: readonly JobView[]): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true
  }
}
