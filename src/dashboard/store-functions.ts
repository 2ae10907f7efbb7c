// GET /api/functions: the job functions this process registered or configured (functionList()),
// and every other function the store holds jobs of. The first alone leaves the Functions view and
// the Jobs view's Function filter empty under `wharf dashboard --path` (the CLI registers no
// model), and hides, in an app, the functions it no longer defines — whose jobs wait for a handler.
// The store's are read once, at the first request, from every job (pages of JOBS_PAGE), and kept
// up to date from the job.created events (listened to before the read, so none is missed).

import type { FunctionInfo, Wharf } from '../engine/api/wharf.js'
import type { WharfEvent } from '../engine/core/events.js'

const JOBS_PAGE = 10_000

/** A function known only from the store's jobs: with `configured` false its settings are left
 * out (the store holds none: they are the app's), else they are the defaults (nothing configured). */
export type StoreFunctionInfo = FunctionInfo | Pick<FunctionInfo, 'name' | 'model' | 'method' | 'registered'>

export class StoreFunctions {
  private names: Promise<Set<string>> | null = null

  constructor(private readonly wharf: Wharf) {}

  /** functionList(), then the store's other functions, each list by name. `configured`: whether
   * this Wharf runs under the app's configuration (not `wharf dashboard --path`). */
  async list(configured: boolean): Promise<StoreFunctionInfo[]> {
    const listed = this.wharf.functionList()
    const known = new Set(listed.map((fn) => fn.name))
    const others = [...(await this.read())].filter((name) => !known.has(name)).sort()
    return [...listed, ...others.map((name) => storeOnly(name, configured))]
  }

  private read(): Promise<Set<string>> {
    if (this.names !== null) return this.names
    const names = new Set<string>()
    const off = this.wharf.on('transition', (event: WharfEvent) => {
      if (event.type === 'job.created') names.add(`${event.job.model}.${event.job.method}`)
    })
    this.names = scan(this.wharf, names).catch((error: unknown) => {
      off()
      this.names = null // the next request tries again
      throw error
    })
    return this.names
  }
}

async function scan(wharf: Wharf, names: Set<string>): Promise<Set<string>> {
  let after: string | undefined
  for (;;) {
    const jobs = await wharf.jobs(after === undefined ? { limit: JOBS_PAGE } : { limit: JOBS_PAGE, after })
    for (const job of jobs) names.add(`${job.model}.${job.method}`)
    if (jobs.length < JOBS_PAGE) return names
    after = jobs[jobs.length - 1]!.uuid
  }
}

function storeOnly(name: string, configured: boolean): StoreFunctionInfo {
  const dot = name.lastIndexOf('.')
  const fn = { name, model: name.slice(0, dot), method: name.slice(dot + 1), registered: false }
  return configured ? { ...fn, channel: null, retryPattern: null, relatedAction: { enable: true }, timeoutMs: null } : fn
}
