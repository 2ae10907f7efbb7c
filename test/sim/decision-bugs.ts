// Deliberately broken scheduling decisions, one per rule the rules audit (rules.ts) checks, to
// prove it can fail. Each wraps one engine's decideTick (the tick's one call into the core) or its
// pick hook and changes what it decides, keeping the live state consistent with the events it
// writes, so that nothing but the rules can tell: the log replays to the live state, every
// invariant holds.

import type { Command } from '../../src/engine/core/commands.js'
import type { JobSpec, WharfEvent } from '../../src/engine/core/events.js'
import { retireFinished } from '../../src/engine/core/retire.js'
import type { RetryPattern } from '../../src/engine/core/retry.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import type { PickAudit, TickOutput } from '../../src/engine/core/tick.js'
import { transition } from '../../src/engine/core/transition.js'
import type { Engine } from '../../src/engine/runtime/engine.js'

export const DECISION_BUGS = ['priority-reversed', 'identity-key-ignored', 'retry-delay-off-by-one', 'cancel-takes-live-children', 'started-parent-counts-done'] as const
export type DecisionBug = (typeof DECISION_BUGS)[number]

export const DECISION_BUG_DESCRIPTIONS: Readonly<Record<DecisionBug, string>> = {
  'priority-reversed': 'engine: the scheduler takes the last job of a channel\'s ready queue instead of the first (priority compared reversed)',
  'identity-key-ignored': 'engine: an enqueue is decided as if its jobs had no identity key, then stored with it',
  'retry-delay-off-by-one': "engine: a retry takes its function's retry pattern one step late (try n gets the delay of try n-1)",
  'cancel-takes-live-children': 'engine: a cancel also cancels waiting children whose other parents are still live',
  'started-parent-counts-done': 'engine: the scheduler counts a started parent as done, so a child may start alongside it',
}

type Submission = { command: Command }
type DecideTick = (outcomes: readonly Command[], submissions: readonly Submission[], now: number) => TickOutput

// The engine's private members these patches reach, typed here rather than as `any`.
interface Internals {
  decideTick: DecideTick
  decider: { input: { auditPick: PickAudit | null } }
}

/** Appended to a key so that the decision finds no holder of it. */
const DISGUISE = '\u0000ignored'

export function breakDecisions(engine: Engine, bug: DecisionBug): void {
  const inside = engine as unknown as Internals
  const decideTick = inside.decideTick
  // Read at each tick: a rollback replaces the engine's state.
  const state = (): State => engine.state
  if (bug === 'retry-delay-off-by-one') {
    inside.decideTick = function (this: Internals, outcomes, submissions, now) {
      return decideTick.call(this, outcomes.map(lateRetryPattern), submissions, now)
    }
  } else if (bug === 'identity-key-ignored') {
    inside.decideTick = function (this: Internals, outcomes, submissions, now) {
      const disguised: JobSpec[] = []
      const calls = submissions.map((s) => (s.command.type === 'enqueue' ? { ...s, command: { ...s.command, jobs: s.command.jobs.map((spec) => disguise(spec, disguised)) } } : s))
      const out = decideTick.call(this, outcomes, calls, now)
      for (const spec of disguised) unmask(state(), spec)
      return out
    }
  } else if (bug === 'priority-reversed') {
    // runTick hands each pick to auditPick before applying it: the one place a pick can change.
    inside.decider.input.auditPick = (event) => {
      if (event.type === 'job.enqueued') event.uuid = state().jobs.get(event.uuid)!.channel.ready.values().at(-1)!.uuid
    }
  } else if (bug === 'started-parent-counts-done') {
    // A pick takes, instead, a child whose unfinished parents have all started; its count of
    // unfinished parents is put right after the tick (a started job may have some: invariants hold).
    let early: JobRecord[] = []
    inside.decider.input.auditPick = (event) => {
      const child = event.type === 'job.enqueued' ? childOfStarted(state()) : undefined
      if (child === undefined) return
      child.unfinishedParents = 0
      transition(state(), child, 'pending', event.at)
      ;(event as { uuid: string }).uuid = child.uuid
      early.push(child)
    }
    inside.decideTick = function (this: Internals, outcomes, submissions, now) {
      early = []
      const out = decideTick.call(this, outcomes, submissions, now)
      for (const child of early) child.unfinishedParents = child.parents.filter((p) => p.state !== 'done').length
      return out
    }
  } else if (bug === 'cancel-takes-live-children') {
    inside.decideTick = function (this: Internals, outcomes, submissions, now) {
      const out = decideTick.call(this, outcomes, submissions, now)
      for (const event of out.events) if (event.type === 'job.cancelled') cancelLiveChildren(state(), event)
      return out
    }
  }
}

/** A finish command whose pattern starts each step one try later. */
function lateRetryPattern(command: Command): Command {
  if (command.type !== 'finish' || command.retryPattern === null) return command
  const late: RetryPattern = command.retryPattern.map(([count, delay]) => [count + 1, delay] as const)
  return { ...command, retryPattern: late }
}

function disguise(spec: JobSpec, disguised: JobSpec[]): JobSpec {
  if (spec.identityKey === null) return spec
  const copy = { ...spec, identityKey: spec.identityKey + DISGUISE }
  disguised.push(copy)
  return copy
}

/** Give a stored job its real key back: in its event (the log), its record and the key index. */
function unmask(state: State, spec: JobSpec): void {
  const masked = spec.identityKey!
  const key = masked.slice(0, -DISGUISE.length)
  spec.identityKey = key
  const job = state.jobs.get(spec.uuid) as { identityKey: string | null } | undefined
  if (job === undefined) return
  job.identityKey = key
  const holders = state.identity.get(masked)
  if (holders === undefined) return
  state.identity.delete(masked)
  state.identity.set(key, [...(state.identity.get(key) ?? []), ...holders])
}

/** A waiting job whose parents are done or started, some started. */
function childOfStarted(state: State): JobRecord | undefined {
  for (const job of state.jobs.values()) {
    if (job.state === 'wait_dependencies' && job.parents.every((p) => p.state === 'done' || p.state === 'started')) return job
  }
  return undefined
}

/** Add to the cancel's cascade, and cancel, the children still waiting on another parent. */
function cancelLiveChildren(state: State, event: Extract<WharfEvent, { type: 'job.cancelled' }>): void {
  const job = state.jobs.get(event.uuid) ?? state.retired.get(event.uuid)
  for (const child of job?.children ?? ([] as JobRecord[])) {
    if (child.state !== 'wait_dependencies') continue
    transition(state, child, 'cancelled', event.at)
    child.cancelledAt = event.at
    event.cascade.push(child.uuid)
  }
  retireFinished(state)
}
