// The log of `Wharf.open()` without a path: nothing survives close, so nothing is kept. Retaining
// every event here would only be a memory leak in a long-running in-memory queue; tests that
// need to replay pass a MemoryLog instead.

import type { WharfEvent } from '../engine/core/events.js'
import type { EventLog } from './event-log.js'

const DONE = Promise.resolve()

export class VolatileLog implements EventLog {
  private closed = false

  async open(): Promise<void> {
    this.closed = false
  }

  append(_batch: readonly WharfEvent[]): Promise<void> {
    return this.closed ? Promise.reject(new Error('the event log is closed')) : DONE
  }

  async *read(): AsyncIterable<readonly WharfEvent[]> {}

  async close(): Promise<void> {
    this.closed = true
  }
}
