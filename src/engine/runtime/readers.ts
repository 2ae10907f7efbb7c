// Reads answer from committed state only. The core applies a tick's events before the shell
// appends them, so while appends are in flight the state is ahead of the log: a read then waits
// for them to return, and sees their batches once they are durable — or, if one failed, the
// state rebuilt from the log. A waiting read holds back the next tick (engine.ts), so a steady
// stream of ticks cannot starve it. Between ticks a read is answered at once.

import type { State } from '../core/state.js'

/** A read waiting for the batch in flight to commit (or roll back). */
interface Reader {
  read: (state: State) => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

export class CommittedReads {
  /** The state holds events whose append has not returned yet: reads must wait for it. */
  private uncommitted = false
  /** The state is not the log's, and the log cannot be read to rebuild it: reads are refused. */
  private unavailable: unknown = undefined
  private waiters: Reader[] = []

  /** Some read waits for the state to be the log's again. */
  get waiting(): boolean {
    return this.waiters.length > 0
  }

  /** The tick applied events and is appending them: reads wait from now on. */
  appending(): void {
    this.uncommitted = true
  }

  read<T>(state: State, read: (state: State) => T): Promise<T> {
    if (this.unavailable !== undefined) return Promise.reject(this.unavailable)
    if (!this.uncommitted) {
      try {
        return Promise.resolve(read(state))
      } catch (error) {
        return Promise.reject(error)
      }
    }
    return new Promise<T>((resolve, reject) => this.waiters.push({ read, resolve: resolve as (value: unknown) => void, reject }))
  }

  /** `state` is the log's again: answer the reads that waited for it, or refuse them with
   * `refusal()` when the engine closed meanwhile (null: it did not). */
  committed(state: State, refusal: (() => unknown) | null): void {
    this.uncommitted = false
    this.unavailable = undefined
    if (this.waiters.length === 0) return
    const readers = this.waiters
    this.waiters = []
    for (const reader of readers) {
      if (refusal !== null) reader.reject(refusal())
      else {
        try {
          reader.resolve(reader.read(state))
        } catch (error) {
          reader.reject(error)
        }
      }
    }
  }

  /** The state ran ahead of the log, which cannot be read now (`error`): refuse reads with it,
   * those waiting and those to come, until committed() says the state is the log's again. */
  unreadable(error: unknown): void {
    this.unavailable = error
    const readers = this.waiters
    this.waiters = []
    for (const reader of readers) reader.reject(error)
  }
}
