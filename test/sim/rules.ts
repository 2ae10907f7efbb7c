// The scheduling rules, checked on every decision the durable log records, against the rules
// oracle of the property tests (test/property/oracle*.ts). The store folds each event it accepts;
// just before, this judges the event on that fold — exactly the state the engine decided it on,
// since a tick decides on the durable state plus its own earlier events, and a failed append rolls
// back. Times are the events' own (`at`), so a restarted clock set back misleads nothing.
//  - priority: a job takes a slot only if no ready job that sorts first was free to start;
//  - etas: a job leaves its eta queue only once its eta passed, and starts only from the ready one;
//  - graphs: a job starts only when every dependency is done; a cancel takes exactly the waiting
//    descendants whose parents all end cancelled (a failed parent holds its children for ever),
//    and a retry or recovery that sends a job back to waiting on parents that are all cancelled
//    cancels it;
//  - identity keys: a keyed job is stored, or requeued, only if no job holds its key — save a
//    graph stored because another of its keyed jobs had no twin (queue_job's rule);
//  - retries: a postponed job's new eta is the delay its try asked for, or its function's retry
//    pattern for that try's number, and it is postponed only with tries left;
//  - removals: remove() takes only done, cancelled and failed jobs, never one whose parent or child
//    stays behind live, and from history only whole graphs.

import type { ChannelConfig } from '../../src/engine/core/channel-config.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import { isBlocking, Oracle } from '../property/oracle.js'
import { cascadeProblem, keyHolders, orphanProblem, pickProblem, retryDelayRange, type RetryPatternConfig } from '../property/oracle-rules.js'

/** What a try that ended in a retryable error asked for; null when the try asked for no retry. */
export type RetryAsked = { seconds: number | undefined } | null

export interface RulesHost {
  /** The retry the try now ending asked for (the job's `retry` counts that try). */
  asked(job: JobRecord): RetryAsked
  /** The retry pattern configured for the job's function. */
  pattern(job: JobRecord): RetryPatternConfig | null
  /** A rule was broken (raised after the step: the store must keep writing). */
  problem(check: string): void
}

export class RulesAudit {
  private readonly oracle: Oracle
  /** Graphs seen: whether one of their keyed jobs had no twin when stored (duplicates allowed). */
  private readonly graphs = new Map<string, boolean>()
  /** Decisions judged, per rule (how much the run exercised each). */
  readonly judged = { picks: 0, keyed: 0, retries: 0, cancels: 0, removals: 0, orphans: 0 }

  constructor(config: readonly ChannelConfig[], private readonly host: RulesHost) {
    this.oracle = new Oracle(config)
  }

  /** `state`: the durable fold just before `batch[i]` is applied to it. */
  before(state: State, batch: readonly WharfEvent[], i: number): void {
    const event = batch[i]!
    let problem: string | null
    try {
      problem = this.judge(state, batch, i)
    } catch (error) {
      problem = `the audit itself failed: ${error instanceof Error ? error.message : String(error)}`
    }
    if (problem !== null) this.host.problem(`rules: event ${event.seq} ${event.type}${'uuid' in event ? ` of ${event.uuid}` : ''} at ${event.at}: ${problem}`)
  }

  /** After the event is applied: what the oracle follows (pauses, throttles, superseded runs). */
  after(state: State, event: WharfEvent): void {
    try {
      this.oracle.observe(event, state)
    } catch (error) {
      this.host.problem(`rules: after event ${event.seq} ${event.type}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  private judge(state: State, batch: readonly WharfEvent[], i: number): string | null {
    const e = batch[i]!
    switch (e.type) {
      case 'job.created':
        return this.created(state, batch, i)
      case 'job.eta_reached': {
        const job = state.jobs.get(e.uuid)
        return job !== undefined && job.eta !== null && job.eta > e.at ? `its eta is ${job.eta - e.at} ms ahead` : null
      }
      case 'job.enqueued': {
        const job = state.jobs.get(e.uuid)
        if (job === undefined) return 'no such job in memory'
        this.judged.picks++
        return pickProblem(this.oracle, state, job, e.at)
      }
      case 'job.started': {
        const waiting = state.jobs.get(e.uuid)?.parents.filter((p) => p.state !== 'done') ?? []
        return waiting.length > 0 ? `it started before its dependencies ${waiting.map((p) => p.uuid).join(', ')} were done` : null
      }
      case 'job.postponed': {
        const job = state.jobs.get(e.uuid)
        return this.postponed(job, e) ?? (job === undefined ? null : this.orphan(job, batch, i))
      }
      case 'job.recovered': {
        const job = state.jobs.get(e.uuid)
        return job === undefined || e.dead ? null : this.orphan(job, batch, i)
      }
      case 'job.cancelled': {
        const job = state.jobs.get(e.uuid)
        this.judged.cancels++
        return job === undefined ? 'no such job in memory' : cascadeProblem(job, e.cascade.map((u) => state.jobs.get(u)!))
      }
      case 'job.requeued': {
        const job = state.jobs.get(e.uuid)
        if (job?.identityKey == null || isBlocking(job)) return null
        const holders = keyHolders(state, job.identityKey)
        return holders.length > 0 ? `requeued with identity key ${job.identityKey}, held by ${holders.map((h) => `${h.uuid} (${h.state})`).join(', ')}` : null
      }
      case 'jobs.removed':
        this.judged.removals++
        return removalProblem(state, e)
      default:
        return null
    }
  }

  /** A keyed job is stored only when nobody holds its key, or with a graph that had to be stored. */
  private created(state: State, batch: readonly WharfEvent[], i: number): string | null {
    const spec = (batch[i] as Extract<WharfEvent, { type: 'job.created' }>).job
    const g = spec.graphUuid
    if (g !== null && !this.graphs.has(g)) {
      // The graph's first job: decide stored the graph only if some keyed job of it had no twin.
      const keys: string[] = []
      for (let j = i; j < batch.length; j++) {
        const f = batch[j]!
        if (f.type !== 'job.created' || f.job.graphUuid !== g) break
        if (f.job.identityKey !== null) keys.push(f.job.identityKey)
      }
      const unmatched = keys.some((key) => keyHolders(state, key).length === 0)
      this.graphs.set(g, unmatched)
      if (keys.length > 0 && !unmatched) return `graph ${g} was stored although every one of its identity keys [${keys}] was held`
    }
    if (spec.identityKey === null) return null
    this.judged.keyed++
    const holders = keyHolders(state, spec.identityKey)
    if (holders.length === 0 || (g !== null && this.graphs.get(g) === true)) return null
    return `job ${spec.uuid} was stored with identity key ${spec.identityKey}, held by ${holders.map((h) => `${h.uuid} (${h.state})`).join(', ')}: the enqueue should have returned that job`
  }

  /** A job sent back to waiting on parents that are all cancelled is cancelled with them. */
  private orphan(job: JobRecord, batch: readonly WharfEvent[], i: number): string | null {
    const problem = orphanProblem(job, batch, i)
    if (job.parents.length > 0 && job.parents.every((p) => p.state === 'cancelled')) this.judged.orphans++
    return problem
  }

  private postponed(job: JobRecord | undefined, e: Extract<WharfEvent, { type: 'job.postponed' }>): string | null {
    if (job === undefined) return 'no such job in memory'
    this.judged.retries++
    if (e.retryAdjust === 0 && job.maxRetries !== 0 && job.retry >= job.maxRetries) return `postponed on try ${job.retry} of ${job.maxRetries}: it should have failed`
    const asked = this.host.asked(job)
    if (asked === null) return `postponed on try ${job.retry}, which asked for no retry`
    // An ignored try (retryAdjust -1) takes the step of the tries that count, as in queue_job.
    const [min, max] = retryDelayRange(this.host.pattern(job), job.retry + e.retryAdjust, asked.seconds)
    const delayMs = e.eta - e.at
    if (delayMs % 1000 === 0 && delayMs >= min * 1000 && delayMs <= max * 1000) return null
    const wanted = min === max ? `${min} s` : `${min}..${max} s`
    return `retry delay ${delayMs / 1000} s on try ${job.retry} (${asked.seconds === undefined ? `pattern ${JSON.stringify(this.host.pattern(job))}` : `the error asked ${asked.seconds} s`}), expected ${wanted}`
  }
}

const LIVE = /^(wait_dependencies|pending|enqueued|started)$/

function removalProblem(state: State, e: Extract<WharfEvent, { type: 'jobs.removed' }>): string | null {
  const named = new Set([...e.memory, ...e.history])
  for (const uuid of e.memory) {
    const job = state.jobs.get(uuid)
    if (job === undefined) return `it names ${uuid}, which is not in memory`
    if (LIVE.test(job.state)) return `it removes ${uuid}, which is ${job.state}`
    const left = [...job.parents, ...job.children].find((other) => LIVE.test(other.state) && !named.has(other.uuid))
    if (left !== undefined) return `it removes ${uuid} and leaves its ${job.parents.includes(left) ? 'parent' : 'child'} ${left.uuid} (${left.state}) behind`
  }
  for (const uuid of e.history) {
    const job = state.retired.get(uuid)
    if (job === undefined) return `it names ${uuid}, which is not in history`
    const left = job.graphUuid === null ? undefined : [...state.retired.values()].find((other) => other.graphUuid === job.graphUuid && !named.has(other.uuid))
    if (left !== undefined) return `it removes part of graph ${job.graphUuid} from history: ${left.uuid} is left behind`
  }
  return null
}
