// Rebuilding the state on open: the latest snapshot, then every event after it. Also what
// open reports about it (Wharf.openReport).

import type { ChannelConfig } from '../core/channel-config.js'
import { initialState } from '../core/channels.js'
import { fold } from '../core/evolve.js'
import { restoreState, type StateSnapshot } from '../core/snapshot.js'
import type { State } from '../core/state.js'
import { toJobView } from '../core/view.js'
import { dropHistoryWrite } from './history-io.js'
import type { EventLog } from '../../storage/event-log.js'

/** What Wharf.open found in the log and did about it. */
export interface OpenReport {
  /** seq of the snapshot the state was restored from (0: none). */
  snapshotSeq: number
  /** Events folded after the snapshot. */
  replayedEvents: number
  /** Jobs loaded into memory: the live ones (finished jobs stay in history). */
  jobs: number
  /** Jobs a dead process left enqueued or started, put back to pending. */
  requeued: number
  /** Of those, jobs past maxRetries, failed as JobFoundDead. */
  foundDead: number
  /** Done or cancelled jobs removed by autovacuum on open. */
  vacuumed: number
  /** Time to open, replay, audit and recover (ms of the engine's clock). */
  openMs: number
}

export interface Replayed {
  state: State
  snapshotSeq: number
  events: number
}

/**
 * The latest snapshot, then every event after it: the state the log describes. Jobs that leave
 * memory on the way are already in history. In a store written before history existed they
 * stay in the state's outbox until the end (a log of 0.1 may still change them without
 * restoring them first; snapshots bound how many there are), and are handed to history here,
 * once, in one atomic write.
 */
export async function replay(log: EventLog, channels: readonly ChannelConfig[]): Promise<Replayed> {
  const snapshot = await log.readSnapshot()
  const state = snapshot === null || snapshot.state === null ? initialState(channels) : restoreState(channels, snapshot.state as StateSnapshot)
  // An empty base (EventLog's Snapshot): nothing folded, but the log goes on after its seq.
  if (snapshot !== null && snapshot.state === null) state.seq = snapshot.seq
  const snapshotSeq = state.seq
  let events = 0
  // Each batch's outbox is in history already (written with the batch), as after a live tick:
  // dropped at once, so that a long tail does not keep every job it finished alive until the end
  // (a quarter of replay went to collecting them). Only a store written before history existed
  // keeps them, for the write below.
  const complete = log.history.complete
  for await (const batch of log.read(state.seq)) {
    fold(state, batch)
    if (complete) dropHistoryWrite(state)
    events += batch.length
  }
  if (!complete) await log.initHistory([...state.retired.values()].map(toJobView))
  await log.leaveHistoryLive?.(state.jobs.keys())
  dropHistoryWrite(state)
  return { state, snapshotSeq, events }
}
