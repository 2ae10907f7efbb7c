// queue_job's default description is `model.method`: most jobs have it, so records store a 0 in
// its place (log rows and history views alike) and readers rebuild it.

const DEFAULT_DESCRIPTION = 0

export function packDescription(model: string, method: string, description: string): string | 0 {
  return description === `${model}.${method}` ? DEFAULT_DESCRIPTION : description
}

export function unpackDescription(model: string, method: string, stored: unknown): string {
  return stored === DEFAULT_DESCRIPTION ? `${model}.${method}` : (stored as string)
}
