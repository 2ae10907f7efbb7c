// Read queries: what job(), jobs() and graph() accept, checked once here, and how they are
// answered from the engine's committed state. Kept apart from Wharf so that every reader (the
// API, later the dashboard and the CLI) shares one set of rules and one error per bad query.

import { normalizeChannelName } from '../core/channel-config.js'
import { JOB_STATES, type JobState } from '../core/events.js'
import { stateIndex, type JobRecord, type State } from '../core/state.js'
import { toJobView, type JobView } from '../core/view.js'
import { InvalidChannelConfigError, InvalidPropertyError } from '../errors.js'
import { countInto, graphInHistory, mergeByUuid, type FinishedCounts, type HistoryQuery, type HistoryStore, type HistoryWrite } from '../../storage/history.js'
import { isOptionsObject } from './options-object.js'
import { describe } from './properties.js'

export interface JobsQuery {
  state?: JobState
  /** Complete channel name ('mail' is read as 'root.mail'); matches that channel only. */
  channel?: string
  model?: string
  method?: string
  graphUuid?: string
  identityKey?: string
  /** Jobs of this batch (wharf.batch()). */
  batchUuid?: string
  /** 1 ≤ limit ≤ JOBS_LIMIT_MAX; default JOBS_LIMIT_DEFAULT. */
  limit?: number
  /** Creation order: 'asc' (oldest first, the default) or 'desc'. */
  order?: 'asc' | 'desc'
  /** Cursor: the last uuid of the previous page; the page starts after it in `order`. */
  after?: string
}

export interface JobGraph {
  jobs: JobView[]
  /** [parentUuid, childUuid] */
  edges: Array<[string, string]>
}

export const JOBS_LIMIT_DEFAULT = 1000
export const JOBS_LIMIT_MAX = 10_000

/** A jobs() query after its check: every field present, the channel in its complete form. */
export type CheckedJobsQuery = HistoryQuery

const QUERY_KEYS = new Set(['state', 'channel', 'model', 'method', 'graphUuid', 'identityKey', 'batchUuid', 'limit', 'order', 'after'])
const STRING_KEYS = ['model', 'method', 'graphUuid', 'identityKey', 'batchUuid', 'after'] as const

/** Refuse a query that cannot mean what its caller thinks: unknown keys, bad values. */
export function checkJobsQuery(query: unknown): CheckedJobsQuery {
  if (query === undefined) query = {}
  if (!isOptionsObject(query)) {
    throw new InvalidPropertyError(`jobs(): the query must be an object, got ${describe(query)}`)
  }
  const q = query as Record<string, unknown>
  for (const key of Object.keys(q)) {
    if (!QUERY_KEYS.has(key)) throw new InvalidPropertyError(`jobs(): unknown query key ${describe(key)}; keys: ${[...QUERY_KEYS].join(', ')}`)
  }
  if (q.state !== undefined && !(JOB_STATES as readonly unknown[]).includes(q.state)) {
    throw new InvalidPropertyError(`jobs(): unknown state ${describe(q.state)}; states: ${JOB_STATES.join(', ')}`)
  }
  for (const key of STRING_KEYS) {
    const value = q[key]
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new InvalidPropertyError(`jobs(): ${key} must be a non-empty string, got ${describe(value)}`)
    }
  }
  const limit = q.limit ?? JOBS_LIMIT_DEFAULT
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > JOBS_LIMIT_MAX) {
    throw new InvalidPropertyError(`jobs(): limit must be an integer from 1 to ${JOBS_LIMIT_MAX}, got ${describe(q.limit)}`)
  }
  if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') {
    throw new InvalidPropertyError(`jobs(): order must be 'asc' or 'desc', got ${describe(q.order)}`)
  }
  return {
    state: q.state as JobState | undefined,
    channel: q.channel === undefined ? undefined : channelOf(q.channel),
    model: q.model as string | undefined,
    method: q.method as string | undefined,
    graphUuid: q.graphUuid as string | undefined,
    identityKey: q.identityKey as string | undefined,
    batchUuid: q.batchUuid as string | undefined,
    limit: limit as number,
    desc: q.order === 'desc',
    after: q.after as string | undefined,
  }
}

export function checkUuid(uuid: unknown, where: string): string {
  if (typeof uuid !== 'string' || uuid.length === 0) {
    throw new InvalidPropertyError(`${where}(): uuid must be a non-empty string, got ${describe(uuid)}`)
  }
  return uuid
}

function channelOf(value: unknown): string {
  if (typeof value !== 'string') throw new InvalidPropertyError(`jobs(): channel must be a string, got ${describe(value)}`)
  // Not the default channel, as an empty channel property means: a filter names what it matches.
  if (value.trim() === '') throw new InvalidPropertyError(`jobs(): channel must be a non-empty channel name, got ${describe(value)}`)
  try {
    return normalizeChannelName(value)
  } catch (error) {
    if (error instanceof InvalidChannelConfigError) throw new InvalidPropertyError(`jobs(): ${error.message}`)
    throw error
  }
}

export function matchesQuery(job: JobRecord, q: CheckedJobsQuery): boolean {
  return (
    (q.state === undefined || job.state === q.state) &&
    (q.channel === undefined || job.channel.name === q.channel) &&
    (q.model === undefined || job.model === q.model) &&
    (q.method === undefined || job.method === q.method) &&
    (q.graphUuid === undefined || job.graphUuid === q.graphUuid) &&
    (q.identityKey === undefined || job.identityKey === q.identityKey) &&
    (q.batchUuid === undefined || (job.batch !== null && job.batch.uuid === q.batchUuid))
  )
}

/**
 * One page of the jobs held in memory that match, in uuid order (creation order: uuids are
 * monotonic). A scan of the live jobs: they are bounded by live work, not by history. Only the
 * best `limit` hits so far are kept (sorted and cut each time they reach twice that): sorting
 * every hit made a page of 50 over 300,000 pending jobs take 60–95 ms. The jobs are mostly held
 * in creation order, so 'desc' scans them from the newest: the first cut then bounds the rest.
 */
export function liveJobsPage(state: State, q: CheckedJobsQuery): JobRecord[] {
  const order = q.desc ? byUuidDesc : byUuidAsc
  let hits: JobRecord[] = []
  /** The last uuid kept at the last cut: a job that sorts after it cannot be on the page. */
  let bound: string | undefined
  const consider = (job: JobRecord): void => {
    if (q.after !== undefined && (q.desc ? job.uuid >= q.after : job.uuid <= q.after)) return
    if (bound !== undefined && (q.desc ? job.uuid <= bound : job.uuid >= bound)) return
    if (!matchesQuery(job, q)) return
    hits.push(job)
    if (hits.length < 2 * q.limit) return
    hits = hits.sort(order).slice(0, q.limit)
    bound = hits[q.limit - 1]!.uuid
  }
  if (q.desc) {
    const jobs = Array.from(state.jobs.values())
    for (let i = jobs.length - 1; i >= 0; i--) consider(jobs[i]!)
  } else {
    for (const job of state.jobs.values()) consider(job)
  }
  hits.sort(order)
  if (hits.length > q.limit) hits.length = q.limit
  return hits
}

export function liveGraph(state: State, graphUuid: string): JobGraph {
  const jobs: JobView[] = []
  const edges: Array<[string, string]> = []
  const members: JobRecord[] = []
  for (const job of state.jobs.values()) if (job.graphUuid === graphUuid) members.push(job)
  members.sort(byUuidAsc)
  for (const job of members) {
    jobs.push(toJobView(job))
    for (const parent of job.parents) edges.push([parent.uuid, job.uuid])
  }
  return { jobs, edges }
}

const byUuidAsc = (a: { uuid: string }, b: { uuid: string }): number => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0)
const byUuidDesc = (a: { uuid: string }, b: { uuid: string }): number => byUuidAsc(b, a)

export interface ChannelStats {
  name: string
  /** null = unlimited. */
  capacity: number | null
  running: number
  paused: boolean
  sequential: boolean
  throttleSeconds: number
  wait_dependencies: number
  pending: number
  enqueued: number
  started: number
  done: number
  cancelled: number
  failed: number
}

export interface Stats {
  channels: ChannelStats[]
  states: Record<JobState, number>
}

/**
 * Counters of the jobs in memory, plus the finished jobs in history (committed, and those the
 * appends in flight are moving there or back).
 */
export function statsOf(state: State, history: ReadonlyMap<string, FinishedCounts>, inFlight: readonly HistoryWrite[]): Stats {
  const finished = new Map<string, FinishedCounts>()
  for (const [channel, c] of history) finished.set(channel, { done: c.done, cancelled: c.cancelled })
  for (const write of inFlight) {
    countInto(finished, write.put, 1)
    countInto(finished, write.del, -1)
  }
  const states = {} as Record<JobState, number>
  for (const s of JOB_STATES) states[s] = state.counts[stateIndex(s)]!
  const channels: ChannelStats[] = []
  for (const node of state.channels.values()) {
    const c = node.counts
    const f = finished.get(node.name)
    finished.delete(node.name)
    channels.push({
      name: node.name,
      capacity: node === state.root && state.dispatchDisabled ? 0 : node.capacity,
      // Superseded handlers still run and hold their slots (capacity counts them).
      running: node.running + node.held,
      paused: node.paused,
      sequential: node.sequential,
      throttleSeconds: node.throttleMs / 1000,
      wait_dependencies: c[0]!,
      pending: c[1]!,
      enqueued: c[2]!,
      started: c[3]!,
      done: c[4]! + (f?.done ?? 0),
      cancelled: c[5]! + (f?.cancelled ?? 0),
      failed: c[6]!,
    })
    states.done += f?.done ?? 0
    states.cancelled += f?.cancelled ?? 0
  }
  // Channels only finished jobs still name (not configured, nothing live in them since open).
  for (const [name, f] of finished) {
    channels.push({ name, capacity: null, running: 0, paused: false, sequential: false, throttleSeconds: 0, wait_dependencies: 0, pending: 0, enqueued: 0, started: 0, done: f.done, cancelled: f.cancelled, failed: 0 })
    states.done += f.done
    states.cancelled += f.cancelled
  }
  return { channels, states }
}

/** What a committed read needs of the engine. */
export interface ReadSource {
  read<T>(read: (state: State) => T): Promise<T>
  readonly history: HistoryStore
  readonly historyEpoch: number
  /** `read` (of history) runs: close() lets it end before the store closes. */
  reading<T>(read: Promise<T>): Promise<T>
  /** A cluster follower: resolves once its replica holds what the log held when called (null:
   * this engine writes the log, and its epoch changes with every batch that moves history). */
  caughtUp(): Promise<void> | null
}

/** Attempts before a read that keeps racing with history writes settles for its last answer
 * (a store that cannot pin its reads: PostgreSQL's; memory's reads end before the next tick). */
const READ_ATTEMPTS = 4

/**
 * A read over memory and history together, both committed and from the same moment: memory is
 * read between batches, and history pinned there too when the store can (LevelDB: a snapshot).
 * Otherwise history is read after, and if a batch moved jobs between the two meanwhile (the
 * epoch changed), the read starts again. A follower's memory is a replica that may trail the
 * log its history read saw (a job requeued from history by the scheduler would be in neither):
 * it catches up with the log first, which changes the epoch if it had trailed.
 */
export async function consistent<L, T>(
  source: ReadSource,
  fromMemory: (state: State) => L,
  fromHistory: (live: L, history: Pick<HistoryStore, 'get' | 'page'>) => Promise<T>,
): Promise<T> {
  const history = source.history
  if (history.pin !== undefined) {
    const [live, pinned] = await source.read((state) => [fromMemory(state), history.pin!()] as const)
    try {
      return await source.reading(fromHistory(live, pinned))
    } finally {
      pinned.release()
    }
  }
  for (let attempt = 1; ; attempt++) {
    const [live, epoch] = await source.read((state) => [fromMemory(state), source.historyEpoch] as const)
    const answer = await source.reading(fromHistory(live, history))
    const following = source.caughtUp()
    if (following !== null) await source.reading(following)
    if (source.historyEpoch === epoch || attempt === READ_ATTEMPTS) return answer
  }
}

export function readJob(source: ReadSource, uuid: string): Promise<JobView | undefined> {
  return consistent(
    source,
    (state) => {
      const job = state.jobs.get(uuid)
      return job === undefined ? undefined : toJobView(job)
    },
    async (live, history) => live ?? (await history.get(uuid)),
  )
}

export function readJobs(source: ReadSource, q: CheckedJobsQuery): Promise<JobView[]> {
  return consistent(
    source,
    (state) => liveJobsPage(state, q).map(toJobView),
    async (live, history) => {
      // Unfinished states are never in history; finished ones may be in both places.
      const finished = q.state === undefined || q.state === 'done' || q.state === 'cancelled'
      if (!finished) return live
      return mergeByUuid(live, await history.page(q), q.desc, q.limit)
    },
  )
}

export function readGraph(source: ReadSource, graphUuid: string): Promise<JobGraph> {
  return consistent(
    source,
    (state) => liveGraph(state, graphUuid),
    async (live, history) => {
      // A graph is in memory whole, or in history whole.
      if (live.jobs.length > 0) return live
      const jobs = await graphInHistory(history, graphUuid)
      const edges: Array<[string, string]> = []
      for (const job of jobs) for (const parent of job.dependsOn) edges.push([parent, job.uuid])
      return { jobs, edges }
    },
  )
}

