// Stored payloads (a job's records, args and context) are shared with JobViews and handlers
// without copying, so they must be frozen all the way down (serialize.ts freezes what the API
// stores). A job read back from the log (replayed events, a snapshot) gets payloads fresh from a
// decoder: they are frozen where they are first shared — a view built (toJobView), a handler
// launched (runner.ts) — not when the record is made: a replay makes a record for every job in its
// log, most of them finished before it ends, and freezing their payloads cost it a sixth.

/** `value`, deep-frozen. A frozen container is taken as frozen all the way down — what the API
 * stores is frozen leaves first — so a job made in this process costs one check per payload. */
export function frozenPayload<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value
  if (Array.isArray(value)) for (const item of value) frozenPayload(item)
  else if (!(value instanceof Date)) for (const key in value) frozenPayload((value as Record<string, unknown>)[key])
  return Object.freeze(value)
}

/** Freeze `job`'s payloads before they are shared (see above); a no-op once done. */
export function exposedPayloads(job: { readonly records: unknown; readonly args: unknown; readonly context: unknown }): void {
  frozenPayload(job.records)
  frozenPayload(job.args)
  frozenPayload(job.context)
}
