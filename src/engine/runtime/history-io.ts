// What the shell does for the core around the history store: it reads what a command on a
// finished job needs before the tick decides it (hydration), picks what autovacuum removes, and
// turns the core's outbox into the history write of the batch. The core itself reads no storage.

import type { Command } from '../core/commands.js'
import type { JobSpec, WharfEvent } from '../core/events.js'
import type { State } from '../core/state.js'
import type { JobView } from '../core/view.js'
import { finishedAtOf, graphInHistory, historyQuery, NO_HISTORY_WRITE, type FinishedCursor, type HistoryStore, type HistoryWrite } from '../../storage/history.js'

const DAY_MS = 86_400_000

interface Submitted {
  command: Command
}

type Managed = Extract<Command, { type: 'cancel' | 'requeue' | 'setDone' }>

function managedAway(command: Command, state: State): command is Managed {
  return (command.type === 'cancel' || command.type === 'requeue' || command.type === 'setDone') && !state.jobs.has(command.uuid)
}

/**
 * True when some command needs history read before the tick decides it: it names a job not in
 * memory, or it may reuse a finished job's uuid (`customIds`: a custom newId, not ULIDs — this
 * engine's, or the follower's whose call says so). The common tick reads nothing.
 */
export function needsHistory(submissions: readonly Submitted[], state: State, customIds: boolean): boolean {
  for (let i = 0; i < submissions.length; i++) {
    const command = submissions[i]!.command
    if (command.type === 'vacuum' || managedAway(command, state)) return true
    if (command.type === 'remove' && command.uuids.some((uuid) => !state.jobs.has(uuid))) return true
    if (command.type === 'purge' && command.state !== 'failed') return true
    if (command.type === 'enqueue' && (customIds || command.customIds === true || command.joins !== undefined)) return true
    if (command.type === 'batch' && (customIds || command.customIds === true)) return true
  }
  return false
}

/** Attach to each such command the graph of its job as history holds it (none: unknown job). */
export async function hydrate(submissions: readonly Submitted[], state: State, history: HistoryStore, customIds: boolean): Promise<void> {
  for (const { command } of submissions) {
    if (command.type === 'enqueue') {
      for (const join of command.joins ?? []) {
        if (!state.jobs.has(join.uuid)) join.finished = (await history.get(join.uuid))?.state
      }
      if (customIds || command.customIds === true) await findHistoryUuids(command, command.jobs, state, history)
      continue
    }
    if (command.type === 'batch') {
      if (customIds || command.customIds === true) await findHistoryUuids(command, [...command.jobs, ...(command.onDone ?? [])], state, history)
      continue
    }
    if (command.type === 'vacuum') {
      // Picked before this tick: keep only the graphs history still holds exactly as they were
      // picked (one brought back and finished again since is younger, and its keys are others).
      const current = await Promise.all(command.jobs.map((job) => history.get(job.uuid)))
      const changed = new Set<string>()
      command.jobs.forEach((job, i) => {
        const now = current[i]
        if (now === undefined || now.state !== job.state || finishedAtOf(now) !== finishedAtOf(job)) changed.add(job.graphUuid ?? job.uuid)
      })
      if (changed.size > 0) command.jobs = command.jobs.filter((job) => !changed.has(job.graphUuid ?? job.uuid))
      continue
    }
    if (command.type === 'remove') {
      command.history = await graphsAway(history, state, command.uuids)
      continue
    }
    if (command.type === 'purge') {
      if (command.state === 'failed') continue
      const { graphs, more } = await purgeCandidates(history, command.state, command.beforeMs, command.limit)
      command.history = graphs
      command.historyMore = more
      continue
    }
    if (!managedAway(command, state)) continue
    const view = await history.get(command.uuid)
    if (view !== undefined) command.restore = await graphOf(history, view)
  }
}

/** A custom newId may return the uuid of a finished job: note which of `specs` history has (an
 * empty list still tells the core to look in the outbox of the tick, which history lacks). */
async function findHistoryUuids(command: { historyUuids?: string[] }, specs: readonly JobSpec[], state: State, history: HistoryStore): Promise<void> {
  const found = await Promise.all(specs.map((spec) => (state.jobs.has(spec.uuid) ? undefined : history.get(spec.uuid))))
  command.historyUuids = specs.filter((_, i) => found[i] !== undefined).map((spec) => spec.uuid)
}

/** Every job of `view`'s graph in history (a graph leaves memory whole), or the job alone. */
export function graphOf(history: HistoryStore, view: JobView): Promise<JobView[]> {
  return view.graphUuid === null ? Promise.resolve([view]) : graphInHistory(history, view.graphUuid)
}

/**
 * The views a tick's decided vacuum, remove and purge commands delete from history (null: none):
 * those their jobs.vacuumed events name, and the `history` list of their jobs.removed events.
 * Command i's events are batch[commandFrom[i]..commandFrom[i + 1]).
 */
export function vacuumedViews(submissions: readonly Submitted[], batch: readonly WharfEvent[], commandFrom: readonly number[]): JobView[] | null {
  let into: JobView[] | null = null
  for (let c = 0; c < submissions.length; c++) {
    const command = submissions[c]!.command
    if (command.type !== 'vacuum' && command.type !== 'remove' && command.type !== 'purge') continue
    for (let i = commandFrom[c]!; i < commandFrom[c + 1]!; i++) {
      const event = batch[i]!
      const named = event.type === 'jobs.vacuumed' ? event.uuids : event.type === 'jobs.removed' ? event.history : null
      if (named === null || named.length === 0) continue
      const set = new Set(named)
      const read = command.type === 'vacuum' ? command.jobs : (command.history ?? []).flat()
      into ??= []
      // Each view once, even if the command lists it twice: a second delete would count it out twice.
      for (const job of read) if (set.delete(job.uuid)) into.push(job)
    }
  }
  return into
}

/** Empty the core's outbox into the history write of the batch being appended. */
export function takeHistoryWrite(state: State, vacuumed: readonly JobView[] | null): HistoryWrite {
  if (state.retired.size === 0 && state.restored.size === 0 && vacuumed === null) return NO_HISTORY_WRITE
  // The records themselves: the store builds views when it needs them (storage/history.ts).
  const put = state.retired.take()
  const del = state.restored.size === 0 ? [] : [...state.restored.values()]
  if (vacuumed !== null) del.push(...vacuumed)
  // Map.clear() allocates a fresh table even for an empty map: not on every tick.
  if (state.restored.size > 0) state.restored.clear()
  return { put, del }
}

/** Forget the outbox: what it holds is already in history (replay), or never will be (rollback). */
export function dropHistoryWrite(state: State): void {
  state.retired.clear()
  if (state.restored.size > 0) state.restored.clear()
}

/** Days a finished job of this channel is kept: the nearest configured remove_after_days. */
function retentionDays(state: State, channel: string, defaultDays: number): number {
  let name: string | null = channel
  while (name !== null) {
    const node = state.channels.get(name)
    if (node !== undefined) {
      for (const n of node.path) if (n.removeAfterDays !== null) return n.removeAfterDays
      return defaultDays
    }
    const dot: number = name.lastIndexOf('.')
    name = dot < 0 ? null : name.slice(0, dot)
  }
  return defaultDays
}

/**
 * Up to about `limit` finished jobs old enough to go, oldest first, whole graphs only (a graph is
 * kept until its last job is old enough). Failed jobs are live, so they are never in history.
 */
export async function vacuumCandidates(state: State, history: HistoryStore, nowMs: number, defaultDays: number, limit: number): Promise<JobView[]> {
  let shortestDays = defaultDays
  for (const node of state.channels.values()) if (node.removeAfterDays !== null && node.removeAfterDays < shortestDays) shortestDays = node.removeAfterDays
  const old = (job: JobView): boolean => finishedAtOf(job) <= nowMs - retentionDays(state, job.channel, defaultDays) * DAY_MS
  const out: JobView[] = []
  const seen = new Set<string>()
  let cursor: FinishedCursor | undefined
  while (out.length < limit) {
    const scanned = await history.finishedUpTo(nowMs - shortestDays * DAY_MS, limit, cursor)
    for (const job of scanned) {
      if (seen.has(job.uuid) || !old(job)) continue
      seen.add(job.uuid)
      // Ticks run between these reads: a job scanned may have left history since (removed from
      // its graph, or its graph brought back); its graph, as it is now, is another job's to find.
      const graph = await graphOf(history, job)
      if (!graph.some((member) => member.uuid === job.uuid) || graph.some((member) => seen.has(member.uuid) && member.uuid !== job.uuid)) continue
      for (const member of graph) seen.add(member.uuid)
      if (graph.every(old)) out.push(...graph)
    }
    if (scanned.length < limit) break
    const last = scanned[scanned.length - 1]!
    cursor = { atMs: finishedAtOf(last), uuid: last.uuid }
  }
  return out
}

/** The graph (or lone job) in history of each of `uuids` not in memory, each graph once. */
async function graphsAway(history: HistoryStore, state: State, uuids: readonly string[]): Promise<JobView[][]> {
  const graphs: JobView[][] = []
  const seen = new Set<string>()
  for (const uuid of uuids) {
    if (state.jobs.has(uuid) || seen.has(uuid)) continue
    const view = await history.get(uuid)
    if (view === undefined) continue
    const graph = await graphOf(history, view)
    for (const member of graph) seen.add(member.uuid)
    graphs.push(graph)
  }
  return graphs
}

/**
 * What one purge decision takes from history: the graphs (or lone jobs) of the oldest jobs in
 * `wanted` that finished before `beforeMs` (null: whenever), until they hold `limit` of them;
 * `more` when it stopped there.
 */
export async function purgeCandidates(
  history: HistoryStore,
  wanted: 'done' | 'cancelled',
  beforeMs: number | null,
  limit: number,
): Promise<{ graphs: JobView[][]; more: boolean }> {
  const matches = (job: JobView): boolean => job.state === wanted && (beforeMs === null || finishedAtOf(job) < beforeMs)
  const graphs: JobView[][] = []
  const seen = new Set<string>()
  let taken = 0
  let cursor: FinishedCursor | undefined
  let after: string | undefined
  for (;;) {
    // Without a time, the state index; with one, the finish-time index (either way, a page).
    const scanned =
      beforeMs === null ? await history.page(historyQuery({ state: wanted, limit, after })) : await history.finishedUpTo(beforeMs - 1, limit, cursor)
    for (const job of scanned) {
      if (seen.has(job.uuid) || !matches(job)) continue
      const graph = await graphOf(history, job)
      for (const member of graph) seen.add(member.uuid)
      graphs.push(graph)
      taken += graph.filter(matches).length
      if (taken >= limit) return { graphs, more: true }
    }
    if (scanned.length < limit) return { graphs, more: false }
    const last = scanned[scanned.length - 1]!
    after = last.uuid
    cursor = { atMs: finishedAtOf(last), uuid: last.uuid }
  }
}
