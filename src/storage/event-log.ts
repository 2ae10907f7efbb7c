// The EventLog seam: everything the engine needs from storage, and nothing LevelDB-specific, so
// the same core can later run on a log kept elsewhere (PostgreSQL, IndexedDB).

import type { WharfEvent } from '../engine/core/events.js'

export interface EventLog {
  /** Prepare for reading and appending (Wharf.open calls it once per open). */
  open(): Promise<void>
  /**
   * Append one batch (the events of one engine tick, seqs consecutive). Resolves when the batch
   * is durable to the log's promise; rejects when nothing of it was written. The caller gives up
   * ownership of the array.
   */
  append(batch: readonly WharfEvent[]): Promise<void>
  /** Every committed event with seq > afterSeq, batch by batch, in order. */
  read(afterSeq?: number): AsyncIterable<readonly WharfEvent[]>
  /** Release the storage. Appending after close rejects. */
  close(): Promise<void>
}
