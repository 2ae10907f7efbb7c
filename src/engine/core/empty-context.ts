// The context of a job read back without one (replay, a snapshot's restore): most jobs have none,
// and JSON.parse makes a {} for each, kept alive as long as its job is in memory. One frozen
// object serves them all, frozen as the API stores contexts (view.ts: views share them).

const NO_CONTEXT: Record<string, unknown> = Object.freeze({})

/** `value` itself, or the shared empty context when it is a plain object with no key. */
export function contextOrShared(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value as Record<string, unknown>
  for (const _ in value) return value as Record<string, unknown>
  return NO_CONTEXT
}
