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

export function unpackDescription(model: string, method: string, stored: unknown): string {
  return stored === DEFAULT_DESCRIPTION ? `${model}.${method}` : (stored as string)
}
