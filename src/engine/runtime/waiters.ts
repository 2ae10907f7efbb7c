// Who waits for the engine to be settled (every call so far applied, everything startable
// started) or idle (settled, and no handler running). The engine says when that may have become
// true — at the end of a tick, when its last handler settles — and these check it then, instead
// of polling.

type Waiter = { idle: boolean; resolve: () => void }

export class Waiters {
  private waiting: Waiter[] = []

  /** `quiet(idle)`: whether the engine is settled (false) or idle (true) now. */
  constructor(private readonly quiet: (idle: boolean) => boolean) {}

  /** Whether anyone waits. */
  get any(): boolean {
    return this.waiting.length > 0
  }

  /** Resolves once the engine is settled (idle: false) or idle (true): at once if it is now. */
  wait(idle: boolean): Promise<void> {
    if (this.quiet(idle)) return Promise.resolve()
    return new Promise((resolve) => this.waiting.push({ idle, resolve }))
  }

  /** The engine may have become quiet: resolve whoever's condition holds, the others wait on. */
  wake(): void {
    if (this.waiting.length === 0) return
    const waiting = this.waiting
    this.waiting = []
    for (const waiter of waiting) {
      if (this.quiet(waiter.idle)) waiter.resolve()
      else this.waiting.push(waiter)
    }
  }

  /** The engine stopped for good: nothing will change any more, so nobody waits for it. */
  releaseAll(): void {
    for (const waiter of this.waiting.splice(0)) waiter.resolve()
  }
}
