// The store the corruption suite damages (not a test itself): built through the public API in
// two sessions, so it holds LevelDB tables (.ldb, from the first session's write-ahead log,
// converted when the second session opened) and a newest write-ahead log (.log, the second
// session's writes), jobs in every state, graphs, history, and a snapshot with a compaction floor.
import { chain, FailedJobError, FakeClock, group, NothingToDoJob, Wharf, type IntegrityReport, type JobView } from '../../src/index.js'
import { sequentialIds } from '../../src/engine/runtime/ids.js'
import { everyJob } from '../support/every-job.js'

export const CHANNELS = 'root:4,root.mail:1'
/** One clock start for every open: autovacuum removes nothing, so views compare exactly. */
export const START_MS = Date.UTC(2026, 0, 1)

type Kind = 'ok' | 'fail' | 'nothing'

function define(wharf: Wharf) {
  return wharf.model('corrupt.job', {
    async work(kind: Kind, tag: string) {
      if (kind === 'fail') throw new FailedJobError(`planned failure of ${tag}`)
      if (kind === 'nothing') throw new NothingToDoJob(`nothing for ${tag}`)
      return { tag }
    },
  })
}

/** One session's jobs: singles of each outcome, delayed ones, cancelled ones, and graphs. */
async function session(wharf: Wharf, model: ReturnType<typeof define>, name: string, jobs: number): Promise<void> {
  const kinds: Kind[] = ['ok', 'ok', 'fail', 'nothing']
  for (let i = 0; i < jobs; i++) {
    const kind = kinds[i % kinds.length]!
    const later = i % 7 === 0 // stays pending: due in an hour
    const job = await model.browse([i]).withDelay({ priority: i % 20, channel: i % 3 === 0 ? 'root.mail' : 'root', eta: later ? 3600 : 0, maxRetries: 1 }).work(kind, `${name}-${i}`)
    if (i % 11 === 0) await wharf.cancel(job.uuid)
    if (i % 5 === 0) {
      const d = (k: Kind, n: number) => model.browse([i, n]).delayable().work(k, `${name}-${i}-${n}`)
      // A failed parent leaves its children in wait_dependencies: every graph state is kept.
      await chain(group(d('ok', 1), d(i % 10 === 0 ? 'fail' : 'ok', 2)), d('ok', 3), group(d('ok', 4), d('nothing', 5))).delay()
    }
  }
  // Not drain(): the jobs due in an hour must stay pending. start() runs what is due and settles.
  await wharf.start()
  await wharf.idle()
}

/** Build the store at `path` (two sessions, a snapshot in the second) and return every job's view. */
export async function buildStore(path: string, jobsPerSession: number): Promise<JobView[]> {
  // Sequential ids and a fake clock: the same store, byte for byte but for its random store id, in
  // every run, so a seed names the same damage.
  const first = await Wharf.open({ path, channels: CHANNELS, clock: new FakeClock(START_MS), snapshotEvery: 0, newId: sequentialIds('a-') })
  await session(first, define(first), 'a', jobsPerSession)
  await first.close()
  const second = await Wharf.open({ path, channels: CHANNELS, clock: new FakeClock(START_MS), snapshotEvery: 0, newId: sequentialIds('b-') })
  const model = define(second)
  await session(second, model, 'b', Math.ceil(jobsPerSession / 2))
  await second.snapshot()
  await session(second, model, 'c', Math.ceil(jobsPerSession / 2))
  // Read before closing: an open converts the newest write-ahead log into a table, and the
  // damage must find the store as the writer left it.
  const views = await everyJob(second)
  await second.close()
  return views
}

export interface OpenedOptions {
  onCorruption?: 'throw' | 'truncate'
  onWarning?: (message: string) => void
}

/** Every job of the store at `path`, page by page, and what the history scrub of that open
 * found (awaited); throws what open throws. */
export async function allJobs(path: string, options: OpenedOptions): Promise<{ views: JobView[]; integrity: IntegrityReport }> {
  const wharf = await Wharf.open({ path, channels: CHANNELS, clock: new FakeClock(START_MS), snapshotEvery: 0, onCorruption: options.onCorruption })
  try {
    const views = await everyJob(wharf)
    return { views, integrity: await wharf.integrity() }
  } finally {
    await wharf.close()
  }
}
