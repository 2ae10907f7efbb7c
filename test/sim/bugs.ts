// Deliberately broken variants, to prove the simulator can fail (a checker that never fires
// proves nothing). Each is injected from outside — a storage wrapper or a patch on one engine
// instance — so no engine file changes. Never used outside tests and `npm run sim -- --bug`.

import type { Engine } from '../../src/engine/runtime/engine.js'

export const SIM_BUGS = ['lose-acked-write', 'no-rollback', 'capacity-off-by-one'] as const
export type SimBug = (typeof SIM_BUGS)[number]

export const BUG_DESCRIPTIONS: Readonly<Record<SimBug, string>> = {
  'lose-acked-write': 'storage: a crash also loses the last batch that acknowledged a call (a missing fsync)',
  'no-rollback': 'engine: a failed append rejects its callers but keeps their events in the live state',
  'capacity-off-by-one': 'engine: the scheduler lets one job more than capacity start on every channel',
}

// The engine's private members these patches reach, typed here rather than as `any`.
interface EngineInternals {
  decideTick: (...args: unknown[]) => unknown
  ticking: boolean
  queue: unknown[]
  outcomes: unknown[]
  /** (submissions, …, error): the error comes last whatever else the engine passes. */
  rollback: (submissions: { reject: ((e: unknown) => void) | null }[], ...rest: unknown[]) => Promise<void>
  armTimer(): void
  scheduleTick(): void
  wakeWaiters(): void
}

/** Patch a freshly opened engine (engine-level bugs only). */
export function breakEngine(engine: Engine, bug: SimBug): void {
  const inside = engine as unknown as EngineInternals
  if (bug === 'no-rollback') {
    inside.rollback = async function (this: EngineInternals, submissions, ...rest) {
      const error = rest.at(-1)
      for (const submission of submissions) submission.reject?.(error)
      this.ticking = false
      this.armTimer()
      if (this.queue.length > 0 || this.outcomes.length > 0) this.scheduleTick()
      else this.wakeWaiters()
    }
  } else if (bug === 'capacity-off-by-one') {
    // While the core decides a tick, every limit is one higher (only the scheduler's pick reads
    // it); the state is right again afterwards, as if `running >= capacity` had been written
    // `running > capacity`.
    const decideTick = inside.decideTick
    inside.decideTick = function (this: EngineInternals, ...args) {
      const raised = [...engine.state.channels.values()].filter((node) => node.capacity !== null)
      for (const node of raised) node.capacity!++
      try {
        return decideTick.apply(this, args)
      } finally {
        for (const node of raised) node.capacity!--
      }
    }
  }
}
