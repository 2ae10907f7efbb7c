// queue_job's default description is `model.method`: most jobs have it, so records store a 0 in
// its place (log rows and history views alike) and readers rebuild it.

const DEFAULT_DESCRIPTION = 0

export function packDescription(model: string, method: string, description: string): string | 0 {
  return isDefault(model, method, description) ? DEFAULT_DESCRIPTION : description
}

/** description === `${model}.${method}`, without making that string (this runs for every job
 * written, twice). */
function isDefault(model: string, method: string, description: string): boolean {
  return (
    description.length === model.length + 1 + method.length &&
    description.charCodeAt(model.length) === 0x2e &&
    description.startsWith(model) &&
    description.endsWith(method)
  )
}

/** The last default description made, and what it was made of: a store's jobs come from a few
 * methods, and every job read (a replayed job.created, a history view) would otherwise hold a
 * string of its own — one more allocation that outlives the young generation with its job. */
let lastModel = ''
let lastMethod = ''
let lastDefault = '.'

export function unpackDescription(model: string, method: string, stored: unknown): string {
  if (stored !== DEFAULT_DESCRIPTION) return stored as string
  if (model !== lastModel || method !== lastMethod) {
    lastModel = model
    lastMethod = method
    lastDefault = `${model}.${method}`
  }
  return lastDefault
}
