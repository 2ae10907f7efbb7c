// State-level checks of the simulator, each written from the configuration and the jobs rather
// than from the engine's own counters: capacity on every level, the conditions under which a job
// may start (seen on every committed job.enqueued), replay equivalence (live == fold of the
// durable history == snapshot + tail), and what "converged" means for the liveness phase.

import type { ChannelConfig } from '../../src/engine/core/channel-config.js'
import { initialState } from '../../src/engine/core/channels.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import { fold } from '../../src/engine/core/evolve.js'
import { checkInvariants } from '../../src/engine/core/invariants.js'
import { projectState } from '../../src/engine/core/project.js'
import { restoreState, type StateSnapshot } from '../../src/engine/core/snapshot.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import type { MemoryLog } from '../../src/storage/memory-log.js'
import { AuditError } from './auditor.js'

export interface ChannelRules {
  /** Configured capacity per complete name; null = unlimited. Unconfigured channels: unlimited. */
  capacity: Map<string, number | null>
  sequential: Set<string>
  throttleMs: Map<string, number>
}

export function channelRules(config: readonly ChannelConfig[]): ChannelRules {
  const rules: ChannelRules = { capacity: new Map([['root', 1]]), sequential: new Set(), throttleMs: new Map() }
  for (const c of config) {
    rules.capacity.set(c.name, c.capacity === 0 ? null : c.capacity)
    if (c.sequential) rules.sequential.add(c.name)
    if (c.throttleSeconds > 0) rules.throttleMs.set(c.name, c.throttleSeconds * 1000)
  }
  return rules
}

/** The channel and its ancestors, nearest first, ending at root. */
export function pathOf(channel: string): string[] {
  const parts = channel.split('.')
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('.'))
}

const isRunning = (job: JobRecord): boolean => job.state === 'enqueued' || job.state === 'started'

/** Running jobs (enqueued or started) per channel level, counted from the jobs, within capacity. */
export function checkCapacity(state: State, rules: ChannelRules): void {
  const running = new Map<string, number>()
  for (const job of state.jobs.values()) {
    if (!isRunning(job)) continue
    for (const name of pathOf(job.channel.name)) running.set(name, (running.get(name) ?? 0) + 1)
  }
  for (const [name, n] of running) {
    const capacity = rules.capacity.get(name) ?? null
    if (capacity !== null && n > capacity) throw new AuditError(`channel ${name} runs ${n} jobs, over its capacity ${capacity}`)
  }
}

/** Watches committed events, each on the durable state it was decided on: a job starts only
 * when everything says it may. */
export class StartWatch {
  private readonly lastEnqueueAt = new Map<string, number>()
  /**
   * The latest time any incarnation has seen. A restarted clock may be behind (set back): an
   * eta that passed before then has passed, whatever the new clock says.
   */
  private latestMs = -Infinity

  constructor(private readonly rules: ChannelRules) {}

  /** The store is rebuilt and replays its batches: throttle windows are seen again from the start. */
  forget(): void {
    this.lastEnqueueAt.clear()
  }

  /** Time seen by the simulation (each step, each open). */
  saw(nowMs: number): void {
    if (nowMs > this.latestMs) this.latestMs = nowMs
  }

  onEvent(event: WharfEvent, state: State): void {
    this.saw(event.at)
    if (event.type !== 'job.enqueued') return
    const job = state.jobs.get(event.uuid)
    if (job === undefined) throw new AuditError(`job.enqueued names unknown job ${event.uuid}`)
    const why: string[] = []
    if (job.eta !== null && job.eta > this.latestMs) why.push(`its eta is ${job.eta - this.latestMs} ms ahead of the latest time seen`)
    const waiting = job.parents.filter((p) => p.state !== 'done')
    if (waiting.length > 0) why.push(`parents ${waiting.map((p) => `${p.uuid} (${p.state})`).join(', ')} are not done`)
    for (const name of pathOf(job.channel.name)) {
      const node = state.channels.get(name)
      if (node?.paused === true) why.push(`channel ${name} is paused`)
      if (this.rules.sequential.has(name) && node !== undefined && node.failedOwn > 0) why.push(`sequential channel ${name} has a failed job`)
      const throttle = this.rules.throttleMs.get(name)
      const last = this.lastEnqueueAt.get(name)
      if (throttle !== undefined && last !== undefined && event.at < last + throttle) why.push(`channel ${name} is throttled until +${last + throttle - event.at} ms`)
      this.lastEnqueueAt.set(name, event.at)
    }
    if (why.length > 0) throw new AuditError(`job ${job.uuid} started although ${why.join('; ')}`)
  }
}

/** The state a history describes, audited. */
export function foldHistory(config: readonly ChannelConfig[], events: readonly WharfEvent[]): State {
  const state = fold(initialState(config), events)
  checkInvariants(state)
  return state
}

/** Equal projections, and the same identity holders in the same order (decide reads the oldest). */
export function checkSameState(what: string, have: State, want: State): void {
  const diff = firstDifference(projectState(have), projectState(want), '')
  if (diff !== null) throw new AuditError(`${what}: ${diff}`)
  const holders = (s: State) => [...s.identity].map(([k, hs]) => `${k}=${hs.map((j) => j.uuid).join('/')}`).sort().join(' ')
  if (holders(have) !== holders(want)) throw new AuditError(`${what}: identity holders ${holders(have)} vs ${holders(want)}`)
}

/** Snapshot + tail as the store holds them: must equal the full history's fold. */
export async function storeState(config: readonly ChannelConfig[], log: MemoryLog): Promise<State> {
  const snapshot = await log.readSnapshot()
  const state = snapshot === null ? initialState(config) : restoreState(config, snapshot.state as StateSnapshot)
  for await (const batch of log.read(state.seq)) fold(state, batch)
  checkInvariants(state)
  return state
}

/**
 * Jobs that did not converge: not done, failed or cancelled, and not held by design — pending
 * behind a failed job of a sequential channel on its path, or waiting on a parent that failed,
 * was cancelled, or is itself held. Jobs come in creation order, parents first.
 */
export function stuckJobs(state: State, rules: ChannelRules): JobRecord[] {
  const held = new Set<JobRecord>()
  const stuck: JobRecord[] = []
  for (const job of state.jobs.values()) {
    if (job.state === 'done' || job.state === 'failed' || job.state === 'cancelled') continue
    let excused = false
    if (job.state === 'pending') {
      excused = pathOf(job.channel.name).some((n) => rules.sequential.has(n) && (state.channels.get(n)?.failedOwn ?? 0) > 0)
    } else if (job.state === 'wait_dependencies') {
      excused = job.parents.some((p) => p.state === 'failed' || p.state === 'cancelled' || held.has(p))
    }
    if (excused) held.add(job)
    else stuck.push(job)
  }
  return stuck
}

/** Path and values of the first difference between two JSON-like values, or null. */
export function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (Object.is(a, b)) return null
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return `${path || '.'}: ${short(a)} vs ${short(b)}`
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]${labelOf(a[i] ?? b[i])}`)
      if (d !== null) return d
    }
    return null
  }
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    const d = firstDifference(ra[key], rb[key], `${path}.${key}`)
    if (d !== null) return d
  }
  return null
}

function labelOf(value: unknown): string {
  const v = value as { uuid?: unknown; name?: unknown } | null
  return typeof v?.uuid === 'string' ? `(${v.uuid})` : typeof v?.name === 'string' ? `(${v.name})` : ''
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 160 ? `${text.slice(0, 160)}…` : text
}
