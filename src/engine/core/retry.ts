// queue_job's retry delays: an explicit `seconds` on the error wins (0 included: retry at once);
// else the job function's retry pattern (the delay of the highest count not above the try number); else 600 s.
// A [min, max] range draws uniformly with the `entropy` supplied by the caller, so the core
// stays deterministic and the drawn delay is recorded in the event.

export type RetryDelay = number | readonly [number, number]
/** Sorted by count, ascending. */
export type RetryPattern = ReadonlyArray<readonly [count: number, delay: RetryDelay]>

export const DEFAULT_RETRY_SECONDS = 600

export function retryDelaySeconds(
  pattern: RetryPattern | null,
  retry: number,
  seconds: number | undefined,
  entropy: number,
): number {
  // Wharf: queue_job treats seconds=0 as "not given" (a falsy test); here only an absent
  // `seconds` falls back, so `{ seconds: 0 }` means what it says.
  if (seconds !== undefined) return seconds
  let delay: RetryDelay = DEFAULT_RETRY_SECONDS
  if (pattern !== null) {
    for (const [count, value] of pattern) {
      if (retry >= count) delay = value
      else break
    }
  }
  if (typeof delay === 'number') return delay
  const [min, max] = delay
  return min + Math.floor(entropy * (max - min + 1))
}
