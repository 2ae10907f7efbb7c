// The oracle's per-decision rules (queue_job's, written from the spec, not from the core): may
// this job take a slot now, may this cancel take these descendants, who holds an identity key,
// how long a retry waits. Each answers with the problem as text (null: allowed), so the property
// harness can assert on it and the simulator's auditor can report it, from one written rule.

import type { WharfEvent } from '../../src/engine/core/events.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import { isBlocking, readyFirst, type Oracle } from './oracle.js'

/** queue_job's RETRY_INTERVAL: the delay when neither the error nor a retry pattern gives one. */
export const RETRY_INTERVAL_SECONDS = 600

/** A job function's retry pattern as configured: try count -> seconds, or a [min, max] range. */
export type RetryPatternConfig = Readonly<Record<number, number | readonly [number, number]>>

/** Ready jobs (pending, eta passed) that sort before `job`: each must be held back for it to start. */
export function betterReady(state: State, job: JobRecord): JobRecord[] {
  const out: JobRecord[] = []
  for (const k of state.jobs.values()) if (k.state === 'pending' && !k.waitingEta && readyFirst(k, job)) out.push(k)
  return out
}

/**
 * Why the scheduler may not take a slot for `job` at `nowMs`, given `state` just before it did:
 * the job is not ready, a dependency is not done, a due eta was not promoted first, its channel
 * path forbids it (the oracle's reasons), or a job that sorts first was ready and free to start.
 */
export function pickProblem(oracle: Oracle, state: State, job: JobRecord, nowMs: number): string | null {
  const waiting = job.parents.filter((p) => p.state !== 'done')
  if (waiting.length > 0) return `it started before its dependencies ${waiting.map((p) => `${p.uuid} (${p.state})`).join(', ')} were done`
  if (job.state !== 'pending' || job.waitingEta) return `it was ${job.state}${job.waitingEta ? ', waiting for its eta' : ''}, not ready`
  for (const j of state.jobs.values()) {
    if (j.state === 'pending' && j.waitingEta && j.eta! <= nowMs) return `the eta of ${j.uuid} had passed and was not promoted first`
  }
  const reasons = oracle.reasons(state, nowMs)
  const why = reasons.get(job.channel.name) ?? null
  if (why !== null) return `its channel may not start a job: ${why}`
  const free = betterReady(state, job).filter((k) => reasons.get(k.channel.name) === null)
  if (free.length === 0) return null
  const k = free.reduce((a, b) => (readyFirst(a, b) ? a : b))
  return `priority order: ${k.uuid} on ${k.channel.name} (${orderKey(k)}) sorts before it (${orderKey(job)}) and was free to start`
}

export function orderKey(job: JobRecord): string {
  return `priority ${job.priority}, created ${job.createdAt}, seq ${job.seq}`
}

/**
 * Why `job`'s cancel may not take exactly `cascade` along (null: it may). Wharf cascades through
 * every level (queue_job only the direct children): a descendant goes when it waits for its
 * parents and every one of them ends up cancelled; no other job goes.
 */
export function cascadeProblem(job: JobRecord, cascade: readonly JobRecord[]): string | null {
  if (job.state === 'cancelled') return `${job.uuid} was cancelled already`
  const taken = new Set<JobRecord>([job, ...cascade])
  const waits = (c: JobRecord): boolean => c.state === 'wait_dependencies' || (c.state === 'pending' && c.parents.every((p) => p.state === 'done'))
  const live = (c: JobRecord): JobRecord[] => c.parents.filter((p) => p.state !== 'cancelled' && !taken.has(p))
  for (const c of cascade) {
    if (c === job || !waits(c)) return `the cascade takes ${c.uuid}, which is ${c.state}`
    if (live(c).length > 0) return `the cascade takes ${c.uuid}, whose parents ${live(c).map((p) => `${p.uuid} (${p.state})`).join(', ')} are not cancelled`
  }
  for (const c of [...taken].flatMap((j) => j.children)) {
    if (!taken.has(c) && c.state !== 'cancelled' && waits(c) && live(c).length === 0) return `the cascade leaves ${c.uuid} waiting on cancelled parents only`
  }
  return null
}

/**
 * Why a job that `batch[i]` (a retry or a recovery) sends back to waiting breaks the cascade rule
 * (null: it does not). With every parent cancelled, nothing would ever release it: the next event
 * must cancel it. `job` is as the event found it.
 */
export function orphanProblem(job: JobRecord, batch: readonly WharfEvent[], i: number): string | null {
  if (job.parents.length === 0 || !job.parents.every((p) => p.state === 'cancelled')) return null
  const next = batch[i + 1]
  if (next?.type === 'job.cancelled' && next.uuid === job.uuid) return null
  return `it goes back to waiting on parents that are all cancelled (${job.parents.map((p) => p.uuid).join(', ')}), and is not cancelled with them`
}

/** Jobs holding `key` (in a blocking state: waiting, pending or enqueued), recomputed from the jobs. */
export function keyHolders(state: State, key: string): JobRecord[] {
  const out: JobRecord[] = []
  for (const j of state.jobs.values()) if (j.identityKey === key && isBlocking(j)) out.push(j)
  return out
}

/**
 * The delay of a retry, [min, max] in seconds (equal unless the pattern gives a range): the
 * error's own `seconds` if it gave one (Wharf keeps 0: retry at once); else the pattern sorted
 * by count, starting from RETRY_INTERVAL, taking each delay whose count `retry` (this try's
 * number) has reached, stopping at the first it has not.
 */
export function retryDelayRange(pattern: RetryPatternConfig | null, retry: number, seconds: number | undefined): [number, number] {
  if (seconds !== undefined) return [seconds, seconds]
  let delay: number | readonly [number, number] = RETRY_INTERVAL_SECONDS
  const steps = Object.entries(pattern ?? {}).map(([count, d]) => [Number(count), d] as const).sort((a, b) => a[0] - b[0])
  for (const [count, d] of steps) {
    if (retry < count) break
    delay = d
  }
  return typeof delay === 'number' ? [delay, delay] : [delay[0], delay[1]]
}
