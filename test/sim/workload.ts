// What the simulated users and handlers do, all drawn from the run's seed: the channel tree (a
// random valid queue_job config string, retention included), job properties, graph shapes (nested
// chains and groups), and each handler's duration and outcome. Outcomes are a pure function of (salt, token, try):
// a job that runs again after a crash or a requeue behaves the same on the same try.

import { chain, group, type Delayable, type DelayableChain, type DelayableGroup } from '../../src/engine/api/delayable.js'
import type { JobProperties } from '../../src/engine/api/properties.js'
import type { Wharf } from '../../src/engine/api/wharf.js'
import { FailedJobError, NothingToDoJob, RetryableJobError } from '../../src/engine/errors.js'
import type { JobContext } from '../../src/engine/runtime/runner.js'
import type { RetryPatternConfig } from '../property/oracle-rules.js'
import { mix32, type Rng } from './prng.js'
import { turns } from './store.js'
import { CRON_TOKEN_BASE } from './crons.js'

/** Channels a config may name (short or complete form), and some nobody configures. */
export const CONFIGURABLE_CHANNELS = ['root.a', 'root.a.x', 'root.b', 'root.b.y', 'root.c'] as const
export const UNKNOWN_CHANNELS = ['root.a.new', 'root.zz', 'root.b.y.deep'] as const
export const ALL_CHANNELS = ['root', ...CONFIGURABLE_CHANNELS, ...UNKNOWN_CHANNELS] as const
export const IDENTITY_KEYS = ['k0', 'k1', 'k2', 'k3'] as const
/** A try at or past this number always succeeds: with retries, every job ends (liveness). */
export const ALWAYS_SUCCEEDS_FROM_TRY = 4
/** ignoreRetry does not count the try: allowed only on a job's first few runs, or it could loop. */
export const IGNORE_RETRY_RUNS_MAX = 2
export const SLOW_TIMEOUT_MS = 2000

export const MODEL_JOB = 'sim.job' // async, sleeps on the clock
export const MODEL_QUICK = 'sim.quick' // synchronous handler
export const MODEL_SLOW = 'sim.slow' // async, configured with a timeout it sometimes exceeds
export const MODELS = [MODEL_JOB, MODEL_QUICK, MODEL_SLOW] as const
export type ModelName = (typeof MODELS)[number]

/** The single argument of every simulated job: a unique token names the job across crashes. */
export interface Plan {
  token: number
}

/** A queue_job channel string. Root always has a runner (root:0 would, rightly, run nothing). */
export function channelConfigText(rng: Rng): string {
  const entry = (name: string, capacity: number): string => {
    const short = name === 'root' || rng.chance(0.5) ? name : name.slice('root.'.length)
    let text = `${short}:${capacity}`
    if (capacity === 1 && rng.chance(name === 'root' ? 0.05 : 0.3)) text += ':sequential'
    if (rng.chance(name === 'root' ? 0.05 : 0.15)) text += rng.chance(0.2) ? ':throttle' : `:throttle=${rng.between(1, 2)}`
    if (rng.chance(name === 'root' ? 0.03 : 0.08)) text += ':paused'
    if (rng.chance(name === 'root' ? 0.15 : 0.25)) text += `:remove_after_days=${rng.between(1, 3)}`
    return text
  }
  const entries = [entry('root', rng.between(1, 4))]
  for (const name of CONFIGURABLE_CHANNELS) if (rng.chance(0.6)) entries.push(entry(name, rng.pick([0, 1, 1, 2, 3])))
  return rng.shuffle(entries).join(',')
}

/**
 * Wharf.open's removeAfterDays for the run: days, or a fraction of one; sometimes the default,
 * which the simulated days never reach (then only channels that configure less ever vacuum).
 */
export function retentionDays(rng: Rng): number {
  return rng.pick([0.5, 1, 2, 30])
}

/** Function configuration, the same for every incarnation of a run. */
export interface FunctionSetup {
  jobChannel: string | null
  quickChannel: string | null
}

export function functionSetup(rng: Rng): FunctionSetup {
  const some = (): string | null => (rng.chance(0.5) ? rng.pick(ALL_CHANNELS) : null)
  return { jobChannel: some(), quickChannel: some() }
}

export function configuredChannel(setup: FunctionSetup, model: ModelName): string | null {
  return model === MODEL_JOB ? setup.jobChannel : model === MODEL_QUICK ? setup.quickChannel : null
}

export type Outcome =
  | { kind: 'return' }
  | { kind: 'retry'; seconds: number | undefined; ignoreRetry: boolean }
  | { kind: 'fail' }
  | { kind: 'nothing' }
  | { kind: 'throw' }

export interface RunDecision {
  sleepMs: number
  /** A run that does not sleep on the clock may still wait for I/O: these event-loop turns. Its
   * outcome then reaches the engine while the batch of a later tick is being written, which is
   * what puts several ticks in flight (and a failed write in the middle of them). */
  ioTurns: number
  outcome: Outcome
}

const SLEEPS_MS = [0, 0, 10, 100, 500, 1500, 4000] as const
const SLOW_SLEEPS_MS = [300, 1500, 2500, 6000] as const

/** What try `retry` of job `token` does; `runs` = earlier runs of it in this simulation. */
export function decideRun(salt: number, model: ModelName, token: number, retry: number, runs: number): RunDecision {
  const h = mix32(salt, token, retry)
  const sleepMs = model === MODEL_QUICK ? 0 : model === MODEL_SLOW ? SLOW_SLEEPS_MS[h % 4]! : SLEEPS_MS[h % 7]!
  const ioTurns = model === MODEL_JOB && sleepMs === 0 && token < CRON_TOKEN_BASE ? (h >>> 24) % 4 : 0
  if (retry >= ALWAYS_SUCCEEDS_FROM_TRY) return { sleepMs, ioTurns, outcome: { kind: 'return' } }
  const roll = (h >>> 8) % 100
  let outcome: Outcome
  if (roll < 55) outcome = { kind: 'return' }
  else if (roll < 72) outcome = { kind: 'retry', seconds: 1 + ((h >>> 16) % 60), ignoreRetry: false }
  else if (roll < 77) outcome = { kind: 'retry', seconds: undefined, ignoreRetry: false }
  else if (roll < 80) outcome = { kind: 'retry', seconds: 1 + ((h >>> 16) % 5), ignoreRetry: runs < IGNORE_RETRY_RUNS_MAX }
  else if (roll < 88) outcome = { kind: 'fail' }
  else if (roll < 95) outcome = { kind: 'nothing' }
  else outcome = { kind: 'throw' }
  return { sleepMs, ioTurns, outcome }
}

/** Return or throw as the outcome says. */
export function settleOutcome(outcome: Outcome, token: number): string {
  switch (outcome.kind) {
    case 'return':
      return `ok ${token}`
    case 'retry':
      throw new RetryableJobError(`try again ${token}`, { ...(outcome.seconds === undefined ? {} : { seconds: outcome.seconds }), ignoreRetry: outcome.ignoreRetry })
    case 'fail':
      throw new FailedJobError(`gave up ${token}`)
    case 'nothing':
      throw new NothingToDoJob(`nothing to do ${token}`)
    case 'throw':
      throw new TypeError(`bug in handler ${token}`)
  }
}

/** Each model's configured retry pattern (null: queue_job's default delay). */
export const RETRY_PATTERNS: Readonly<Record<ModelName, RetryPatternConfig | null>> = {
  [MODEL_JOB]: null,
  [MODEL_QUICK]: { 1: 1, 3: [2, 6] },
  [MODEL_SLOW]: { 1: 5, 2: [1, 30] },
}

/**
 * The retry try `retry` of job `token` asks for, from its plan alone (null: none): the seconds
 * its RetryableJobError gives, or none (the pattern decides) when a slow try outlives its timeout.
 */
export function retryAsked(salt: number, model: ModelName, token: number, retry: number): { seconds: number | undefined } | null {
  const d = decideRun(salt, model, token, retry, 0)
  if (model === MODEL_SLOW && d.sleepMs > SLOW_TIMEOUT_MS) return { seconds: undefined }
  return d.outcome.kind === 'retry' ? { seconds: d.outcome.seconds } : null
}

/** Called by every handler as it starts: returns what this run does. */
export type RunHook = (model: ModelName, context: JobContext, plan: Plan) => RunDecision

export type SimRecordsets = ReturnType<typeof installModels>

/** Define the three models and configure their functions on a fresh Wharf. */
export function installModels(wharf: Wharf, setup: FunctionSetup, hook: RunHook) {
  const job = wharf.model(MODEL_JOB, {
    async run(plan: Plan) {
      const d = hook(MODEL_JOB, this, plan)
      // Progress goes through faults and crashes too (reads and replay audits compare it).
      this.progress(0.5, `halfway ${plan.token}`)
      if (d.sleepMs > 0) await this.sleep(d.sleepMs)
      else if (d.ioTurns > 0) await turns(d.ioTurns)
      return settleOutcome(d.outcome, plan.token)
    },
  })
  const quick = wharf.model(MODEL_QUICK, {
    run(plan: Plan) {
      return settleOutcome(hook(MODEL_QUICK, this, plan).outcome, plan.token)
    },
  })
  const slow = wharf.model(MODEL_SLOW, {
    async run(plan: Plan) {
      const d = hook(MODEL_SLOW, this, plan)
      this.progress(0)
      await this.sleep(d.sleepMs)
      this.progress(1, 'slept') // held when the sleep was short, written as the try ends
      return settleOutcome(d.outcome, plan.token)
    },
  })
  if (setup.jobChannel !== null) wharf.configure(`${MODEL_JOB}.run`, { channel: setup.jobChannel })
  wharf.configure(`${MODEL_QUICK}.run`, { ...(setup.quickChannel === null ? {} : { channel: setup.quickChannel }), retryPattern: RETRY_PATTERNS[MODEL_QUICK]! })
  wharf.configure(`${MODEL_SLOW}.run`, { timeoutMs: SLOW_TIMEOUT_MS, retryPattern: RETRY_PATTERNS[MODEL_SLOW]! })
  return { [MODEL_JOB]: job, [MODEL_QUICK]: quick, [MODEL_SLOW]: slow } as const
}

/** Properties of one job as the simulated user asks for them. */
export interface DrawnProps {
  props: JobProperties
  /** eta in seconds from the call (the expected eta is call time + this). */
  etaSeconds: number | null
}

export function drawProps(rng: Rng): DrawnProps {
  const props: JobProperties = {}
  let etaSeconds: number | null = null
  if (rng.chance(0.6)) props.priority = rng.pick([0, 5, 10, 15])
  if (rng.chance(0.6)) {
    const name: string = rng.pick(ALL_CHANNELS)
    props.channel = name !== 'root' && rng.chance(0.3) ? name.slice('root.'.length) : name
  }
  if (rng.chance(0.25)) props.eta = etaSeconds = rng.pick([1, 2, 5, 30, 60])
  if (rng.chance(0.5)) props.maxRetries = rng.pick([0, 1, 2, 3])
  if (rng.chance(0.3)) props.identityKey = rng.pick(IDENTITY_KEYS)
  if (rng.chance(0.2)) props.description = `described ${rng.below(1000)}`
  return { props, etaSeconds }
}

/** A graph shape: leaves are jobs; chains run members in order; groups side by side. */
export type Shape = { kind: 'leaf'; leaf: number } | { kind: 'chain' | 'group'; members: Shape[] }

export const GRAPH_LEAVES_MAX = 6

/** A random nested shape of 2..GRAPH_LEAVES_MAX leaves, numbered in order. */
export function drawShape(rng: Rng): { shape: Shape; leaves: number } {
  let next = 0
  const budget = rng.between(2, GRAPH_LEAVES_MAX)
  const build = (size: number, depth: number): Shape => {
    if (size === 1) return { kind: 'leaf', leaf: next++ }
    // Nesting stops at depth 2: deeper levels hold leaves only.
    const parts = depth >= 2 ? size : rng.between(2, Math.min(size, 3))
    const sizes = new Array<number>(parts).fill(1)
    for (let i = parts; i < size; i++) sizes[rng.below(parts)]!++
    return { kind: rng.chance(0.5) ? 'chain' : 'group', members: sizes.map((s) => build(s, depth + 1)) }
  }
  return { shape: build(budget, 0), leaves: budget }
}

/** Entry (head) or exit (tail) leaves of a shape, written independently of delayable.ts. */
function ends(shape: Shape, side: 'head' | 'tail'): number[] {
  if (shape.kind === 'leaf') return [shape.leaf]
  if (shape.kind === 'group') return shape.members.flatMap((m) => ends(m, side))
  return ends(side === 'head' ? shape.members[0]! : shape.members.at(-1)!, side)
}

/** The edges a shape means: parents[leaf] = leaves it waits for. */
export function expectedParents(shape: Shape, leaves: number): Set<number>[] {
  const parents = Array.from({ length: leaves }, () => new Set<number>())
  const walk = (s: Shape): void => {
    if (s.kind === 'leaf') return
    s.members.forEach(walk)
    if (s.kind === 'chain') {
      for (let i = 1; i < s.members.length; i++) {
        for (const p of ends(s.members[i - 1]!, 'tail')) for (const c of ends(s.members[i]!, 'head')) parents[c]!.add(p)
      }
    }
  }
  walk(shape)
  return parents
}

type Node = Delayable | DelayableChain | DelayableGroup

/**
 * Compose the delayables as the shape says. A top-level two-member chain is sometimes written
 * `a.onDone(b)` (same edges; nested, onDone would return `a` and change the exits).
 */
export function composeShape(shape: Shape, leaves: readonly Delayable[], rng: Rng, top = true): Node {
  if (shape.kind === 'leaf') return leaves[shape.leaf]!
  const members = shape.members.map((m) => composeShape(m, leaves, rng, false))
  if (shape.kind === 'group') return group(...members)
  if (top && members.length === 2 && rng.chance(0.3)) return members[0]!.onDone(members[1]!)
  return chain(...members)
}
