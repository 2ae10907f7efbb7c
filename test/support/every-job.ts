// Every job a Wharf holds, page by page: jobs() returns one page (1,000 by default), and an audit
// that reads only the first one misses every job after it.
import type { JobView, Wharf } from '../../src/index.js'

export async function everyJob(wharf: Wharf): Promise<JobView[]> {
  const views: JobView[] = []
  for (let page = await wharf.jobs({ limit: 1000 }); page.length > 0; page = await wharf.jobs({ limit: 1000, after: page.at(-1)!.uuid })) views.push(...page)
  return views
}
