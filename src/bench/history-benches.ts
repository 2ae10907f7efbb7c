// History benchmarks: what a store full of finished jobs costs to open and to page through.
// Memory and open time must follow live work: a store of a million finished jobs opens like an
// empty one, and the 1,000th page of a query costs what the first does.

import { Wharf } from '../index.js'
import { runNoops, tempDir } from './storage-benches.js'

export interface FinishedStore {
  path: string
  remove: () => void
  jobs: number
  /** uuid at `from the newest` positions, for cursors deep into a query. */
  uuidsFromNewest: (position: number) => string
}

/** A LevelDB store of `jobs` done no-op jobs on root.mail, then a snapshot (the log is compacted). */
export async function writeFinishedStore(jobs: number): Promise<FinishedStore> {
  const dir = tempDir('finished')
  const wharf = await Wharf.open({ path: dir.path, channels: 'root:64,root.mail:64', snapshotEvery: 0, removeAfterDays: 3650 })
  const records = wharf.model('bench', { noop: () => undefined }).browse([1])
  await wharf.start()
  const uuids: string[] = []
  for (let done = 0; done < jobs; done += 1_000) {
    const round: Promise<{ uuid: string }>[] = new Array(1_000)
    for (let i = 0; i < 1_000; i++) round[i] = records.withDelay({ channel: 'root.mail' }).noop()
    for (const view of await Promise.all(round)) uuids.push(view.uuid)
  }
  await wharf.idle()
  if (wharf.stats().states.done !== jobs) throw new Error('history bench lost jobs')
  await wharf.snapshot()
  await wharf.close()
  uuids.sort()
  return { ...dir, jobs, uuidsFromNewest: (position) => uuids[uuids.length - 1 - position]! }
}

/** Heap in use after a full GC (needs --expose-gc; else a rougher figure). */
function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

/** Open a store, measure the heap it holds and the time open took, close it. */
export async function openedCost(path: string): Promise<{ heapBytes: number; openMs: number }> {
  const before = heapUsed()
  const started = performance.now()
  const wharf = await Wharf.open({ path, channels: 'root:64,root.mail:64', removeAfterDays: 3650 })
  const openMs = performance.now() - started
  const heapBytes = heapUsed() - before
  await wharf.close()
  return { heapBytes, openMs }
}

/**
 * A Wharf open on the store, and a page query starting `position` jobs from the newest. With
 * `afterScrub`, it is returned once the history scrub of its open has ended: the scrub reads all of
 * history in a child process for seconds (scrubCost), and on a 2-core machine pages timed beside
 * it measure the competition for the cores, not the query.
 */
export async function openForPages(store: FinishedStore, afterScrub: boolean): Promise<{ page: (position: number) => Promise<void>; close: () => Promise<void> }> {
  const wharf = await Wharf.open({ path: store.path, channels: 'root:64,root.mail:64', removeAfterDays: 3650 })
  if (afterScrub) await wharf.integrity()
  return {
    page: async (position) => {
      const after = position === 0 ? undefined : store.uuidsFromNewest(position - 1)
      const page = await wharf.jobs({ state: 'done', channel: 'root.mail', order: 'desc', limit: 50, ...(after === undefined ? {} : { after }) })
      if (page.length !== 50 || (after !== undefined && page[0]!.uuid >= after)) throw new Error('history bench: wrong page')
    },
    close: () => wharf.close(),
  }
}

/** Open the store and time its history scrub, from the end of open to integrity() resolved. */
export async function scrubCost(path: string): Promise<{ scrubMs: number; views: number }> {
  const wharf = await Wharf.open({ path, channels: 'root:64,root.mail:64', removeAfterDays: 3650 })
  const started = performance.now()
  const report = await wharf.integrity()
  const scrubMs = performance.now() - started
  await wharf.close()
  if (report.status !== 'ok') throw new Error(`history bench: the scrub found ${JSON.stringify(report)}`)
  return { scrubMs, views: report.views }
}

/**
 * `n` no-op jobs enqueue→done (rounds of 1,000, root:16, 'process') on the store, with its history
 * scrub on or off: jobs/s from the end of open, and whether the scrub was still running when the
 * last job finished (then the whole run competed with it).
 */
export async function lifecycleOnHistory(path: string, n: number, scrubHistory: boolean): Promise<{ jobsPerSec: number; overlapped: boolean }> {
  const wharf = await Wharf.open({ path, channels: 'root:16,root.mail:64', removeAfterDays: 3650, snapshotEvery: 0, scrubHistory })
  let scrubbing = scrubHistory
  const scrubbed = wharf.integrity().then(() => (scrubbing = false))
  const started = performance.now()
  await runNoops(wharf, n)
  const jobsPerSec = (n * 1000) / (performance.now() - started)
  const overlapped = scrubbing
  await wharf.close()
  await scrubbed
  return { jobsPerSec, overlapped }
}
