// Who waits for the engine to be settled (every call so far applied, everything startable
// started), idle (settled, and no handler running), or done with its own work (stop(): its calls
// applied and its handlers ended, whatever the rest of a cluster does). The engine says when that
// may have become true — at the end of a tick, when its last handler settles, when a cluster
// member's replica applies a batch — and these check it then, instead of polling.

import type { HandlerTry } from './runner.js'

/** What a waiter waits for: see the top of this file. */
export type Quietness = 'settled' | 'idle' | 'own-work'

// `except`: tries of handlers that wait themselves (they called idle() or stop()): not waited for.
type Waiter = { level: Quietness; except: readonly HandlerTry[]; resolve: () => void }

export class Waiters {
  private waiting: Waiter[] = []

  /** `quiet(level)`: whether the engine is quiet at that level now. */
  constructor(private readonly quiet: (level: Quietness, except: readonly HandlerTry[]) => boolean) {}

  /** Whether anyone waits. */
  get any(): boolean {
    return this.waiting.length > 0
  }

  /** Resolves once the engine is quiet at `level`: at once if it is now. */
  wait(level: Quietness, except: readonly HandlerTry[] = []): Promise<void> {
    if (this.quiet(level, except)) return Promise.resolve()
    return new Promise((resolve) => this.waiting.push({ level, except, resolve }))
  }

  /** The engine may have become quiet: resolve whoever's condition holds, the others wait on. */
  wake(): void {
    if (this.waiting.length === 0) return
    const waiting = this.waiting
    this.waiting = []
    for (const waiter of waiting) {
      if (this.quiet(waiter.level, waiter.except)) waiter.resolve()
      else this.waiting.push(waiter)
    }
  }

  /** The engine stopped for good: nothing will change any more, so nobody waits for it. */
  releaseAll(): void {
    for (const waiter of this.waiting.splice(0)) waiter.resolve()
  }
}
