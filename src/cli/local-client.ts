// --path: the CLI's client over a store on disk that no process holds. The store is opened with
// Wharf.open({ path }) and never started, so no handler runs; opening recovers what a dead process
// left (as the app's own next open would). The options are chosen so that the CLI changes nothing
// else: nothing is vacuumed whatever the app's retention, no snapshot is written, and no channel
// capacity (the app's configuration, unknown here) limits the jobs a crashed app left running.
// No history scrub either: a command is over long before one would be (`wharf verify` checks it).

import { stat } from 'node:fs/promises'
import { Wharf } from '../engine/api/wharf.js'
import { StorageLockedError, UnknownJobError, WharfError } from '../engine/errors.js'
import type { Stats } from '../engine/api/queries.js'
import type { ClusterView } from '../engine/runtime/cluster.js'
import type { RemovableState } from '../engine/core/commands.js'
import { isBackupDir, MANIFEST_FILE } from '../storage/backup-manifest.js'
import { inspectStorePath, type StoreDir } from '../storage/level-path.js'
import { ACTION_FROM } from '../dashboard/action-states.js'
import { failedAtOf } from '../dashboard/api-reads.js'
import { NO_CHANNEL_CONFIG } from '../dashboard/options.js'
import type { DashboardServer, ServeOptions } from '../dashboard/serve.js'
import { errorInfo, Refusal, refusalOf, type Action, type ActionResult, type BatchesFilter, type BatchesPage, type Explanation, type JobDetail, type JobsFilter, type JobsPage, type OperatorClient } from './client.js'

/**
 * A root capacity no store reaches: the app's capacities are its configuration, unknown here,
 * and the audit at open must not compare the jobs a crashed app left started with a smaller one
 * (nor explain() report a channel full). Nothing is dispatched anyway: the Wharf is never
 * started, and this process registers no handler.
 */
export const CLI_CHANNELS = 'root:1000000000'
/** Retention so long that the open's autovacuum removes nothing (the app's may be longer than 30 days). */
export const KEEP_FOREVER_DAYS = 1_000_000

/**
 * Refuse a path that holds no store, before anything could create one there: a path that does
 * not exist, an empty directory. A directory of something else is refused by inspectStorePath.
 * Returns what the path holds: a store, or a damaged one (which opening reports).
 */
export async function checkStorePath(path: string): Promise<StoreDir> {
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw new Refusal({ name: 'StorageError', code: 'STORAGE', message: `cannot read ${JSON.stringify(path)} (${error.code ?? error.message})` })
  })
  const none = (why: string): Refusal =>
    new Refusal({ name: 'StorageError', code: 'STORAGE', message: `no Wharf store at ${JSON.stringify(path)}: ${why} (the wharf command never creates a store)` })
  if (found === null) throw none('it does not exist')
  try {
    const found = await inspectStorePath(path)
    if (found.kind === 'new') throw none('the directory is empty')
    return found
  } catch (error) {
    if (error instanceof WharfError) throw refusalOf(error)
    throw error
  }
}

/**
 * Refuse a backup (a directory holding WHARF-BACKUP). Opening it recovers the jobs that were
 * running at its point, which writes into it, and restoreBackup() then refuses it: what looks
 * like a read (`wharf jobs --path <backup>`) would spoil the backup. verify and backup only read.
 */
async function refuseBackup(path: string): Promise<void> {
  if (!(await isBackupDir(path))) return
  throw new Refusal({
    name: 'StorageError',
    code: 'STORAGE',
    message: `${JSON.stringify(path)} is a backup (it holds ${MANIFEST_FILE}), not a store: opening it would write into it, and it could no longer be restored. Restore it first (\`wharf restore ${path} --path DIR\`), or check it with \`wharf verify --path ${path}\``,
  })
}

export class LocalClient implements OperatorClient {
  protected constructor(protected readonly wharf: Wharf) {}

  /** Open the store at `path`; `lockedHint` says what to do when a running process holds it. */
  static async open(path: string, lockedHint: string): Promise<LocalClient> {
    await checkStorePath(path)
    await refuseBackup(path)
    try {
      return new LocalClient(await Wharf.open({ path, channels: CLI_CHANNELS, removeAfterDays: KEEP_FOREVER_DAYS, snapshotEvery: 0, scrubHistory: false }))
    } catch (error) {
      if (error instanceof StorageLockedError) throw refusalOf(error, lockedHint)
      if (error instanceof WharfError) throw refusalOf(error, error.code === 'LOG_CORRUPTION' ? `\`wharf verify --path ${path}\` lists every problem` : '')
      throw error
    }
  }

  /** The Wharf itself, for commands that serve it (dashboard). */
  get store(): Wharf {
    return this.wharf
  }

  /** `wharf dashboard`: the dashboard over this client's store, without CLI_CHANNELS' made-up
   * configuration (capacity, sequential, throttle) presented as the app's. */
  serveDashboard(options: ServeOptions): Promise<DashboardServer> {
    return this.wharf.serveDashboard({ ...options, [NO_CHANNEL_CONFIG]: true })
  }

  async jobs(filter: JobsFilter): Promise<JobsPage> {
    const jobs = await this.wharf.jobs({ ...filter })
    // The dashboard API's document (--url prints it), key for key.
    return { jobs, next: jobs.length === filter.limit ? jobs[jobs.length - 1]!.uuid : null, failedAt: await failedAtOf(this.wharf, jobs) }
  }

  async job(uuid: string): Promise<JobDetail> {
    const job = await this.wharf.job(uuid)
    if (job === undefined) throw refusalOf(new UnknownJobError(uuid))
    const failedAt = (await failedAtOf(this.wharf, [job]))[uuid] ?? null
    // Related actions and function settings live in the app's code, which is not loaded here.
    return { job, failedAt, related: null, function: null }
  }

  async explain(uuid: string): Promise<Explanation> {
    return this.wharf.explain(uuid)
  }

  async act(action: Action, uuids: readonly string[]): Promise<ActionResult[]> {
    // As the dashboard API (actions.ts): a uuid given twice is acted on once, each place its result.
    const results = new Map<string, ActionResult>()
    for (const uuid of new Set(uuids)) {
      try {
        // The dashboard API's rule (--url answers by it): a job in a state the action is not for
        // is left as it is and refused, saying its state.
        await this.wharf.actFrom(action === 'done' ? 'setDone' : action, uuid, ACTION_FROM[action])
        results.set(uuid, { uuid, ok: true })
      } catch (error) {
        if (!(error instanceof WharfError)) throw error
        results.set(uuid, { uuid, ok: false, error: errorInfo(error) })
      }
    }
    return uuids.map((uuid) => results.get(uuid)!)
  }

  async remove(uuids: readonly string[]): Promise<{ removed: number }> {
    return { removed: await this.wharf.remove(uuids) }
  }

  async purge(state: RemovableState, before: Date | undefined): Promise<{ removed: number }> {
    return { removed: await this.wharf.purge(before === undefined ? { state } : { state, before }) }
  }

  async stats(): Promise<Stats> {
    return this.wharf.stats()
  }

  async cluster(): Promise<ClusterView> {
    return this.wharf.cluster()
  }

  async crons(): Promise<{ crons: unknown[] }> {
    return { crons: await this.wharf.crons() }
  }

  async batches(filter: BatchesFilter): Promise<BatchesPage> {
    const batches = await this.wharf.batches({ ...filter })
    return { batches, next: batches.length === filter.limit ? batches[batches.length - 1]!.uuid : null }
  }

  async close(): Promise<void> {
    await this.wharf.close()
  }
}
