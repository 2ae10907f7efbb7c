// The appends of decided ticks, in flight at once but committed strictly in order. The next tick
// is decided while the batch before it is written; its write starts only once that one is
// durable, so the log never holds a batch without the ones before it — unless the log orders
// overlapping appends itself (EventLog.overlapsAppends: PostgreSQL), which then start at once.
// A lost batch (its write failed, or one before it was lost) loses every batch after it too:
// the engine rebuilds its state from the log once all of them have settled (their writes
// included), then decides again.

import type { Command } from '../core/commands.js'
import type { JobSpec, WharfEvent } from '../core/events.js'
import type { TickOutput } from '../core/tick.js'
import type { HistoryWrite } from '../../storage/history.js'
import type { TakenCalls } from './submissions.js'

/** A decided tick whose batch is being appended, or waits for the batch before it. */
export interface Pending {
  batch: WharfEvent[]
  history: HistoryWrite
  out: TickOutput
  /** out.launch[i]'s run number when the tick decided it (a later tick may start it again). */
  runs: number[]
  calls: TakenCalls
  outcomes: Command[]
  /** Set by the write: what must settle before the tick's callers are answered (EventLog's
   * appendDurable), null when the batch was acknowledged as it became durable. */
  acknowledged: Promise<void> | null
  /** Firings' jobs a trap takes instead of the log, by cron name (divertFires), and the trap:
   * handed over once the batch moving their crons is committed. Null without a trap. */
  trapped: { jobs: Map<string, JobSpec[]>; take: CronTrap } | null
}

/** Where a trapped Wharf's firings' jobs go (trapJobs). */
export type CronTrap = (jobs: JobSpec[]) => void

/** What the engine does with each tick once its fate is known. */
export interface AppendOutcomes {
  /** Write the tick's batch (and its history) to the log. */
  write(tick: Pending): Promise<void>
  /** write() may start before the write before it settled (EventLog.overlapsAppends). */
  readonly overlaps: boolean
  /** The tick's batch is durable, and every batch before it. */
  committed(tick: Pending): void
  /** These ticks, in order, are lost (the first one's write failed with `error`); nothing is in
   * flight any more. */
  lost(ticks: Pending[], error: unknown): Promise<void>
  /** The loss is handled (`lost` settled): ticks may be decided again. */
  recovered(): void
  /** The engine failed: what settles from now on is ignored (its callers were refused). */
  readonly failed: boolean
}

export class Appends {
  /** Decided ticks whose batches are not committed yet, oldest first. */
  private readonly pending: Pending[] = []
  /** Settles once the newest pending tick is committed or lost (never rejects). */
  private last: Promise<void> = Promise.resolve()
  /** A write failed: it and the ticks after it are lost, until all of them are handled. */
  private loss: { error: unknown; ticks: Pending[] } | null = null

  constructor(
    private readonly outcomes: AppendOutcomes,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Ticks in flight. */
  get size(): number {
    return this.pending.length
  }

  /** A loss is being handled: no tick may be decided until the state is the log's again. */
  get losing(): boolean {
    return this.loss !== null
  }

  /** Some batch in flight holds events (the state is ahead of the log). */
  holdsEvents(): boolean {
    return this.pending.some((tick) => tick.batch.length > 0)
  }

  /** What the appends in flight write to history, oldest first. */
  histories(): HistoryWrite[] {
    return this.pending.map((tick) => tick.history)
  }

  /** Queue `tick`'s write after the ones in flight. */
  add(tick: Pending): void {
    this.pending.push(tick)
    // Started now when the log orders it after the writes in flight (and fails it if one fails).
    let written: Promise<void> | null = null
    if (this.outcomes.overlaps && this.loss === null && tick.batch.length > 0 && !this.outcomes.failed) {
      written = this.outcomes.write(tick)
      written.catch(() => undefined) // settled in after(), in order
    }
    this.last = this.after(this.last, tick, written).catch(this.onError)
  }

  /** Settles once every append queued so far has settled. */
  settled(): Promise<void> {
    return this.last
  }

  /** The engine failed: forget the ticks in flight (their writes may still end; see failed), and
   * those of a loss being handled — their callers are refused with the failure too: a loss waits
   * for a rebuild from the log (which may not answer while the server is away), and a fenced
   * append fails the engine itself, neither refusing those callers first. (A caller refused twice
   * keeps the first refusal.) */
  abandon(): Pending[] {
    return [...(this.loss?.ticks ?? []), ...this.pending.splice(0)]
  }

  private async after(previous: Promise<void>, tick: Pending, written: Promise<void> | null): Promise<void> {
    await previous
    const outcomes = this.outcomes
    if (outcomes.failed) return
    if (this.loss === null && tick.batch.length > 0) {
      try {
        await (written ?? outcomes.write(tick))
      } catch (error) {
        this.loss = { error, ticks: [] }
      }
      if (outcomes.failed) return
    } else if (written !== null) {
      // Started before a write before it failed: the log fails it too, and the state is rebuilt
      // from the log only once it has.
      await written.catch(() => undefined)
      if (outcomes.failed) return
    }
    if (this.pending.shift() !== tick) throw new Error('wharf: appends settled out of order')
    const loss = this.loss
    if (loss === null) {
      outcomes.committed(tick)
      return
    }
    loss.ticks.push(tick)
    if (this.pending.length > 0) return
    try {
      await outcomes.lost(loss.ticks, loss.error)
    } finally {
      this.loss = null
    }
    outcomes.recovered()
  }
}
