// projectState: a canonical, JSON-comparable copy of everything the state lets anyone observe.
// Heaps, maps and sets keep their contents in an order that depends on how they were built
// (heap layout, insertion order); this projection sorts everything by name or uuid, so two states
// that behave the same project to deep-equal values. Tests use it to prove fold(log) == live
// state, and snapshot + tail == full fold.

import type { JobState } from './events.js'
import { JOB_STATES } from './events.js'
import type { State } from './state.js'
import { toJobView, type JobView } from './view.js'
import { toBatchView, type BatchView } from './batch.js'

/** A job's public view plus the bookkeeping that steers later decisions. */
export interface JobProjection extends JobView {
  /** seq of its job.created event: the last tie-breaker of every ordering. */
  createdSeq: number
  /** Starts ever made: decides whether a handler completion is stale. */
  runs: number
  unfinishedParents: number
  /** When it last failed: explain() reports it. */
  failedAt: number | null
}

export interface ChannelProjection {
  name: string
  capacity: number | null
  sequential: boolean
  throttleMs: number
  paused: boolean
  running: number
  /** Slots held by superseded handlers that have not settled. */
  held: number
  failedOwn: number
  throttleUntil: number
  /** This channel's own jobs per state. */
  counts: Record<JobState, number>
}

export interface StateProjection {
  seq: number
  dispatchDisabled: boolean
  /** Sorted by uuid; dependsOn and dependents sorted too. */
  jobs: JobProjection[]
  /** Sorted by name. */
  channels: ChannelProjection[]
  counts: Record<JobState, number>
  /**
   * [key, holders] sorted by key, holders' uuids sorted. Note: the index keeps holders oldest
   * first and decide reports the oldest, so a snapshot must preserve that order itself.
   */
  identity: [string, string[]][]
  /** Pending jobs still behind their eta, sorted by uuid. */
  waitingEta: string[]
  /** Pending jobs free to compete for a slot, sorted by uuid. */
  ready: string[]
  /** Superseded runs whose handler has not settled, as 'uuid#run', sorted. */
  superseded: string[]
  /** Batches sorted by uuid, with what steers their later decisions. */
  batches: BatchProjection[]
}

export interface BatchProjection extends BatchView {
  counts: Record<JobState, number>
  begun: boolean
}

export function projectState(state: State): StateProjection {
  const jobs: JobProjection[] = []
  const waitingEta: string[] = []
  const ready: string[] = []
  for (const job of state.jobs.values()) {
    const view = toJobView(job)
    view.dependsOn.sort(compareText)
    view.dependents.sort(compareText)
    jobs.push({ ...view, createdSeq: job.seq, runs: job.runs, unfinishedParents: job.unfinishedParents, failedAt: job.failedAt })
    if (job.state === 'pending') (job.waitingEta ? waitingEta : ready).push(job.uuid)
  }
  jobs.sort((a, b) => compareText(a.uuid, b.uuid))
  waitingEta.sort(compareText)
  ready.sort(compareText)

  const channels: ChannelProjection[] = []
  for (const node of state.channels.values()) {
    channels.push({
      name: node.name,
      capacity: node.capacity,
      sequential: node.sequential,
      throttleMs: node.throttleMs,
      paused: node.paused,
      running: node.running,
      held: node.held,
      failedOwn: node.failedOwn,
      throttleUntil: node.throttleUntil,
      counts: countsByState(node.counts),
    })
  }
  channels.sort((a, b) => compareText(a.name, b.name))

  const identity: [string, string[]][] = []
  for (const [key, holders] of state.identity) {
    identity.push([key, holders.map((j) => j.uuid).sort(compareText)])
  }
  identity.sort((a, b) => compareText(a[0], b[0]))

  return {
    seq: state.seq,
    dispatchDisabled: state.dispatchDisabled,
    jobs,
    channels,
    counts: countsByState(state.counts),
    identity,
    waitingEta,
    ready,
    superseded: [...state.superseded].flatMap(([uuid, runs]) => runs.map((r) => `${uuid}#${r.run}`)).sort(compareText),
    batches: [...state.batches.values()]
      .map((b) => ({ ...toBatchView(b), counts: countsByState(b.counts), begun: b.begun }))
      .sort((a, b) => compareText(a.uuid, b.uuid)),
  }
}

// Code-unit order, not localeCompare: the projection must not depend on the host's locale.
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function countsByState(counts: readonly number[]): Record<JobState, number> {
  const out = {} as Record<JobState, number>
  for (let i = 0; i < JOB_STATES.length; i++) out[JOB_STATES[i]!] = counts[i]!
  return out
}
