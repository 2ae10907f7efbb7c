// The CPU-bound handler of the worker-thread bench (thread-benches.ts): a threaded model loads
// this module in its threads, the in-process variant registers the same function.

/** Keeps one core busy for `ms` without yielding (no timer, no await). */
export function spinMs(ms: number): number {
  const end = Date.now() + ms
  let turns = 0
  while (Date.now() < end) turns++
  return turns
}
