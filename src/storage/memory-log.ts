// In-memory EventLog: tests, simulations, benchmarks and `Wharf.open()` without a path.
// Keeps every batch; nothing survives the process. It can be closed and opened again, which is
// how tests and the simulator exercise replay without a disk.

import type { WharfEvent } from '../engine/core/events.js'
import type { EventLog } from './event-log.js'

export class MemoryLog implements EventLog {
  private readonly batches: (readonly WharfEvent[])[] = []
  private lastSeq = 0
  private closed = false

  async open(): Promise<void> {
    this.closed = false
  }

  append(batch: readonly WharfEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the event log is closed'))
    if (batch.length === 0) return Promise.resolve()
    const first = batch[0]!.seq
    if (first !== this.lastSeq + 1) {
      return Promise.reject(new Error(`batch starts at seq ${first}, log ends at ${this.lastSeq}`))
    }
    this.batches.push(batch)
    this.lastSeq = batch[batch.length - 1]!.seq
    return Promise.resolve()
  }

  async *read(afterSeq = 0): AsyncIterable<readonly WharfEvent[]> {
    for (const batch of this.batches) {
      const last = batch[batch.length - 1]!.seq
      if (last <= afterSeq) continue
      yield batch[0]!.seq > afterSeq ? batch : batch.filter((e) => e.seq > afterSeq)
    }
  }

  /** All events, flattened (tests and replay checks). */
  events(): WharfEvent[] {
    return this.batches.flat()
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
