// In-memory EventLog: tests, simulations, benchmarks and `Wharf.open()` without a path.
// Keeps every batch; nothing survives the process. It can be closed and opened again, which is
// how tests and the simulator exercise replay without a disk. Batches are kept as given (the
// caller gave up ownership); the snapshot is kept encoded, because the core's state is mutated
// in place after a snapshot is taken and a stored snapshot must not change with it — encoding
// also proves, in every test that snapshots, that the state survives the real codec.

import type { WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import { decodeSnapshot, encodeSnapshotInTurns } from './codec.js'
import { checkCompaction, checkSnapshotSeq, type EventLog, type Snapshot } from './event-log.js'
import { NO_HISTORY_WRITE, type HistoryWrite } from './history.js'
import { MemoryHistory } from './memory-history.js'

export class MemoryLog implements EventLog {
  private batches: (readonly WharfEvent[])[] = []
  private lastSeq = 0
  /** The last seq deleted by compaction (0: nothing was). */
  private floorSeq = 0
  private snapshot: { seq: number; bytes: Uint8Array } | null = null
  private closed = false
  readonly history = new MemoryHistory()

  async open(): Promise<void> {
    this.closed = false
  }

  append(batch: readonly WharfEvent[], history: HistoryWrite = NO_HISTORY_WRITE): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the event log is closed'))
    if (batch.length === 0) return history === NO_HISTORY_WRITE ? Promise.resolve() : Promise.reject(new RangeError('a history write needs the events that make it'))
    const first = batch[0]!.seq
    if (first !== this.lastSeq + 1) {
      return Promise.reject(new Error(`batch starts at seq ${first}, log ends at ${this.lastSeq}`))
    }
    this.batches.push(batch)
    this.lastSeq = batch[batch.length - 1]!.seq
    this.history.apply(history)
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

  async readSnapshot(): Promise<Snapshot | null> {
    return this.snapshot === null ? null : decodeSnapshot(this.snapshot.bytes, 'memory log')
  }

  async writeSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.closed) throw new Error('the event log is closed')
    checkSnapshotSeq(snapshot.seq, this.floorSeq, this.lastSeq)
    const bytes = await encodeSnapshotInTurns(snapshot)
    if (this.closed) throw new Error('the event log is closed')
    this.snapshot = { seq: snapshot.seq, bytes }
  }

  async compact(uptoSeq: number): Promise<void> {
    if (this.closed) throw new Error('the event log is closed')
    checkCompaction(uptoSeq, this.snapshot?.seq ?? null)
    let n = 0
    while (n < this.batches.length && this.batches[n]!.at(-1)!.seq <= uptoSeq) n++
    if (n === 0) return
    this.floorSeq = this.batches[n - 1]!.at(-1)!.seq
    this.batches = this.batches.slice(n)
  }

  /** Never needed: this history was kept from the first event. */
  async initHistory(_views: readonly JobView[]): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true
  }
}
