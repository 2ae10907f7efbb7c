// Job and graph ids: ULIDs from a monotonic factory seeded with the engine's clock, so ids sort
// by creation even within one millisecond. Injectable: simulations pass a seeded generator.

import { monotonicFactory } from 'ulid'
import type { Clock } from './clock.js'

export type IdFactory = () => string

export function ulidFactory(clock: Clock): IdFactory {
  const next = monotonicFactory()
  return () => next(clock.now())
}

/** Deterministic ids ('<prefix>000001', …) for tests and seeded simulations. */
export function sequentialIds(prefix = 'job-'): IdFactory {
  let n = 0
  return () => `${prefix}${String(++n).padStart(6, '0')}`
}
