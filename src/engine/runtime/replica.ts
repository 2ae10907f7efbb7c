// A follower's copy of the state (cluster.ts): the scheduler's committed batches, read from the
// log table after each NOTIFY (or the cluster's poll) and applied in order by the engine's own
// reducer, so every read a follower answers — job, jobs, graph, explain, stats, result — is of
// committed state, and a takeover starts from a state already caught up. A follower that fell
// behind a compaction replays the snapshot instead. A NOTIFY that carries its batch (a small one)
// is applied from the notification, without reading the log, when it is the next batch.

import type { WharfEvent } from '../core/events.js'
import type { State } from '../core/state.js'
import { Coalesced } from './coalesced.js'

export interface ReplicaDeps {
  /** Committed batches after `seq`; null when the log was compacted past it. */
  tail(afterSeq: number): Promise<(readonly WharfEvent[])[] | null>
  /** The most batches one tail() returns: a read that returns fewer read all that was committed
   * when it ran (what is committed later is NOTIFYed, and read by the next round). */
  readonly tailMax: number
  /** A round applied batches: what the replica keeps beside the state follows (history counts). */
  caughtUp(): Promise<void>
  /** The state from the snapshot and the log after it. */
  replay(): Promise<State>
  readonly engine: {
    readonly state: State
    readonly following: boolean
    follow(batch: readonly WharfEvent[]): void
    resync(state: State): void
  }
  /** Wait a little (the log is read, yet a committed seq is not in it: another round soon). */
  pause(): Promise<void>
}

export class Replica {
  /** Rounds of reading the log. */
  private readonly catching: Coalesced
  /** caughtUp() after batches applied from notifications. */
  private readonly following: Coalesced

  constructor(private readonly deps: ReplicaDeps) {
    this.catching = new Coalesced(() => this.round(), () => !deps.engine.following)
    this.following = new Coalesced(() => deps.caughtUp())
  }

  /** Read and apply what the log holds beyond the state. Coalesced: a call made while a round
   * runs gets one more round after it, so what was committed before the call is applied. */
  catchUp(): Promise<void> {
    return this.catching.run()
  }

  /**
   * A batch a notification carried: applied at once when it is the next one and no round is
   * reading the log (which would apply it too), else the log is read. What the replica keeps
   * beside the state follows in the background (reached() waits for it).
   */
  offer(batch: readonly WharfEvent[]): Promise<void> {
    const { engine } = this.deps
    if (!engine.following || batch.length === 0) return Promise.resolve()
    if (this.catching.current !== null || batch[0]!.seq !== engine.state.seq + 1) {
      return batch[batch.length - 1]!.seq <= engine.state.seq ? Promise.resolve() : this.catchUp()
    }
    engine.follow(batch)
    return this.following.run()
  }

  /** Resolves once the state holds every event up to `seq` (at once on the scheduler), and what
   * the replica keeps beside it has followed. */
  async reached(seq: number): Promise<void> {
    const engine = this.deps.engine
    while (engine.following && engine.state.seq < seq) {
      const before = engine.state.seq
      await this.catchUp()
      if (engine.state.seq === before && engine.state.seq < seq) await this.deps.pause()
    }
    await this.following.current
  }

  /** One round: read and apply the log's tail, in chunks, until it is all applied. */
  private async round(): Promise<void> {
    const { engine } = this.deps
    let applied = false
    for (;;) {
      if (!engine.following) return
      const batches = await this.deps.tail(engine.state.seq)
      if (!engine.following) return
      if (batches === null) {
        engine.resync(await this.deps.replay())
        applied = true // history moved too (caughtUp)
        continue
      }
      for (const batch of batches) engine.follow(batch)
      if (batches.length === 0) break
      applied = true
      // Not read again to find it empty: in a busy cluster every batch is a round, and that
      // read (and the compaction check an empty one makes) doubled each round's queries.
      if (batches.length < this.deps.tailMax) break
    }
    if (applied) await this.deps.caughtUp()
  }
}
