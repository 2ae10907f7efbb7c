// Autovacuum, judged from the channel configuration rather than from the engine's own reading of
// it: a finished job may go once its nearest configured `remove_after_days` (else the open
// option's removeAfterDays) has passed since it finished, and only with its whole graph. Every
// jobs.vacuumed in the durable log is checked against that (safety); after a vacuum that ran to
// its end, every graph old enough at its start that nothing brought back since must be gone.

import type { ChannelConfig } from '../../src/engine/core/channel-config.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import { AuditError } from './auditor.js'
import { pathOf } from './checks.js'

export const DAY_MS = 86_400_000

/** One jobs.vacuumed event, with what the durable state held just before it was applied. */
export interface VacuumSeen {
  seq: number
  at: number
  /** seq of the last event of its batch (its tick): calls answered with that batch saw it. */
  batchEnd: number
  /** Each job it names: where it was (history: finished and out of memory), and its record. */
  named: { uuid: string; job: JobRecord | undefined; where: 'history' | 'memory' | 'nowhere' }[]
  /** Jobs of the named jobs' graphs that it did not name (a graph goes whole, or not at all). */
  leftBehind: JobRecord[]
}

/** What `state` (the durable fold, before `event`) says about the jobs `event` names. */
export function seeVacuum(state: State, event: Extract<WharfEvent, { type: 'jobs.vacuumed' }>, batchEnd: number): VacuumSeen {
  const uuids = new Set(event.uuids)
  const graphs = new Set<string>()
  const named = event.uuids.map((uuid) => {
    const inHistory = state.retired.get(uuid)
    const job = inHistory ?? state.jobs.get(uuid)
    if (job?.graphUuid != null) graphs.add(job.graphUuid)
    return { uuid, job, where: inHistory !== undefined ? ('history' as const) : job !== undefined ? ('memory' as const) : ('nowhere' as const) }
  })
  const leftBehind: JobRecord[] = []
  for (const jobs of [state.retired.values(), state.jobs.values()]) {
    for (const job of jobs) if (job.graphUuid !== null && graphs.has(job.graphUuid) && !uuids.has(job.uuid)) leftBehind.push(job)
  }
  return { seq: event.seq, at: event.at, batchEnd, named, leftBehind }
}

function isoOf(ms: number | null): string {
  return ms === null ? 'never' : new Date(ms).toISOString()
}

export function finishedAt(job: JobRecord): number | null {
  return job.state === 'done' ? job.doneAt : job.state === 'cancelled' ? job.cancelledAt : null
}

export class Retention {
  private readonly days = new Map<string, number>()

  constructor(
    config: readonly ChannelConfig[],
    readonly defaultDays: number,
  ) {
    for (const c of config) if (c.removeAfterDays !== null) this.days.set(c.name, c.removeAfterDays)
  }

  /** The nearest configured remove_after_days on the channel's path, else the default. */
  daysOf(channel: string): number {
    for (const name of pathOf(channel)) {
      const days = this.days.get(name)
      if (days !== undefined) return days
    }
    return this.defaultDays
  }

  /** When a finished job may first be vacuumed (null: it is not finished). */
  expiresAt(job: JobRecord): number | null {
    const at = finishedAt(job)
    return at === null ? null : at + this.daysOf(job.channel.name) * DAY_MS
  }

  describe(job: JobRecord): string {
    return `${job.uuid} (${job.state} at ${isoOf(finishedAt(job))}, on ${job.channel.name}, kept ${this.daysOf(job.channel.name)} days)`
  }
}

/** Safety: the event removed only finished jobs out of memory, whole graphs, each old enough. */
export function checkVacuumSeen(seen: VacuumSeen, retention: Retention): void {
  const what = `jobs.vacuumed (seq ${seen.seq}, at ${isoOf(seen.at)})`
  for (const { uuid, job, where } of seen.named) {
    if (job === undefined) throw new AuditError(`${what} names ${uuid}, which the log does not hold (never created, or vacuumed before)`)
    if (where !== 'history') throw new AuditError(`${what} names ${uuid}, which is ${job.state} in memory, not finished in history`)
    const expires = retention.expiresAt(job)
    if (expires === null || expires > seen.at) throw new AuditError(`${what} removed ${retention.describe(job)} ${expires === null ? '' : `${((expires - seen.at) / 3_600_000).toFixed(3)} h `}before its time`)
  }
  const left = seen.leftBehind[0]
  if (left !== undefined) throw new AuditError(`${what} removed part of graph ${left.graphUuid}: ${retention.describe(left)} is left behind`)
}

/** Graphs (or lone jobs) in history at `atMs` whose every member is old enough to go. */
export function expiredGroups(state: State, retention: Retention, atMs: number): JobRecord[][] {
  const groups = new Map<string, { jobs: JobRecord[]; expired: boolean }>()
  for (const job of state.retired.values()) {
    const key = job.graphUuid ?? job.uuid
    let group = groups.get(key)
    if (group === undefined) groups.set(key, (group = { jobs: [], expired: true }))
    group.jobs.push(job)
    const expires = retention.expiresAt(job)
    if (expires === null || expires > atMs) group.expired = false
  }
  return [...groups.values()].filter((g) => g.expired).map((g) => g.jobs)
}

/** What a completeness check needs of the durable store now. */
export interface VacuumLedger {
  readonly vacuumed: ReadonlyMap<string, VacuumSeen>
  /** Jobs remove() took (gone as well, on a user's request). */
  readonly removed: ReadonlyMap<string, unknown>
  /** seq of the last jobs.restored naming the uuid. */
  readonly restoredAt: ReadonlyMap<string, number>
}

/**
 * Liveness of a vacuum that ran to its end: every group expired at its start (`expired`, the
 * durable state at seq `sinceSeq`) is gone, unless a command brought it back to memory since.
 * Returns how many groups it found gone.
 */
export function checkVacuumComplete(what: string, expired: readonly JobRecord[][], sinceSeq: number, ledger: VacuumLedger, retention: Retention): number {
  let gone = 0
  for (const jobs of expired) {
    if (jobs.some((job) => (ledger.restoredAt.get(job.uuid) ?? 0) > sinceSeq)) continue
    const kept = jobs.find((job) => !ledger.vacuumed.has(job.uuid) && !ledger.removed.has(job.uuid))
    if (kept !== undefined) throw new AuditError(`${what}: ${retention.describe(kept)} is still in history, its retention passed`)
    gone++
  }
  return gone
}
