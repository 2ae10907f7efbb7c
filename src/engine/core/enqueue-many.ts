// delayMany's enqueue: several independent graphs (or single jobs) decided as one command, so
// they are stored in one batch or not at all, while identity keys treat each graph as its own
// enqueue, in order — exactly what that many enqueues one after another would decide.

import { fail } from './assert.js'
import type { GraphJoin } from './commands.js'
import type { DecideNote } from './decide.js'
import { EVENT_FORMAT_VERSION as v, type JobSpec, type WharfEvent } from './events.js'
import { GRAPH_JOBS_MAX } from './limits.js'
import type { State } from './state.js'
import { InvalidGraphError, InvalidPropertyError, type WharfError } from '../errors.js'

/**
 * Append job.created for each graph that is stored. A graph is skipped, as a lone enqueue is,
 * when every job of it that has an identity key matches a job holding that key: one stored
 * before, or one an earlier graph of this command stores (the state does not show those yet:
 * the command's events are applied after it is decided). The refusals (uuids, parents, size)
 * were checked on the whole command before.
 *
 * Note: undefined when every graph is stored; else `existing[i]`, for spec i of a skipped graph
 * that has a key, the uuid of the job it matched (null for every other spec).
 */
export function decideEnqueueMany(
  state: State,
  specs: readonly JobSpec[],
  ends: readonly number[],
  joins: readonly GraphJoin[] | undefined,
  nowMs: number,
  out: WharfEvent[],
): DecideNote {
  checkEnds(ends, specs.length)
  if (joins !== undefined) fail('a delayMany enqueue has no joins')
  /** identity key -> the job of this command that holds it first (keys free before it). */
  const heldHere = new Map<string, string>()
  let existing: (string | null)[] | null = null
  let from = 0
  for (const end of ends) {
    let keyed = 0
    let matched = 0
    for (let i = from; i < end; i++) {
      const key = specs[i]!.identityKey
      if (key === null) continue
      keyed++
      const holder = state.identity.get(key)?.[0]?.uuid ?? heldHere.get(key)
      if (holder === undefined) continue
      matched++
      existing ??= new Array<string | null>(specs.length).fill(null)
      existing[i] = holder
    }
    if (keyed > 0 && matched === keyed) {
      from = end
      continue
    }
    for (let i = from; i < end; i++) {
      const spec = specs[i]!
      // Stored after all: a key it matched is held twice now, as by a lone enqueue of the graph.
      if (existing !== null) existing[i] = null
      out.push({ seq: 0, v, at: nowMs, type: 'job.created', job: spec })
      const key = spec.identityKey
      if (key !== null && !state.identity.has(key) && !heldHere.has(key)) heldHere.set(key, spec.uuid)
    }
    from = end
  }
  return existing === null ? undefined : { existing }
}

/** The name of the delayMany (or batch) element that holds spec `index`, for a refusal's message. */
export function elementName(ends: readonly number[], index: number, call = 'delayMany()'): string {
  let lo = 0
  let hi = ends.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (ends[mid]! > index) hi = mid
    else lo = mid + 1
  }
  return `${call}: delayables[${lo}]`
}

/** The shell builds `ends`; a malformed one is a bug, never user input. */
function checkEnds(ends: readonly number[], jobs: number): void {
  if (ends.length === 0 || ends[ends.length - 1] !== jobs) fail(`delayMany ends ${ends.length === 0 ? 'empty' : ends[ends.length - 1]} do not end at ${jobs} jobs`)
  let previous = 0
  for (const end of ends) {
    if (!(Number.isSafeInteger(end) && end > previous)) fail(`delayMany ends are not strictly increasing at ${end}`)
    previous = end
  }
}

/**
 * What no enqueue may do, whatever built it: store more jobs than one tick may write, reuse a uuid
 * (a custom newId() can return one twice), or depend on a job that is neither stored nor earlier
 * in the command. Only the core knows every live uuid, so it refuses here, before evolve would
 * have to assert.
 */
export function enqueueRefusal(
  state: State,
  specs: readonly JobSpec[],
  historyUuids: readonly string[] | undefined,
  ends: readonly number[] | undefined,
  call: string,
): WharfError | null {
  if (historyUuids !== undefined) {
    // A custom newId (the only case the shell reads these): a finished job has the uuid if history
    // had it before the tick, or if a command earlier in this tick finished it (in the outbox).
    const i = specs.findIndex((spec) => historyUuids.includes(spec.uuid) || (state.retired.size > 0 && state.retired.has(spec.uuid)))
    if (i >= 0) return new InvalidPropertyError(`${refusedAt(ends, i, call)}job uuid ${JSON.stringify(specs[i]!.uuid)} is not unique: a finished job already has it; newId() must return a new id on every call`)
  }
  if (specs.length > GRAPH_JOBS_MAX) {
    return new InvalidGraphError(`one enqueue may store at most ${GRAPH_JOBS_MAX} jobs (GRAPH_JOBS_MAX), this one has ${specs.length}; split it`)
  }
  const seen = specs.length > 1 ? new Set<string>() : null
  const ours = ends === undefined ? 'two jobs of this graph have it' : 'an earlier job of this call has it'
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!
    const taken = state.jobs.has(spec.uuid) || reserved(state, spec.uuid) ? 'another job already has it' : seen?.has(spec.uuid) === true ? ours : null
    if (taken !== null) {
      return new InvalidPropertyError(`${refusedAt(ends, i, call)}job uuid ${JSON.stringify(spec.uuid)} is not unique: ${taken}; newId() must return a new id on every call`)
    }
    // Indexed, not for-of: this runs for every job enqueued, and an iterator is an allocation.
    const parents = spec.dependsOn
    for (let p = 0; p < parents.length; p++) {
      const parent = parents[p]!
      if (seen?.has(parent) !== true && !state.jobs.has(parent)) {
        return new InvalidGraphError(`${refusedAt(ends, i, call)}job ${spec.uuid} depends on ${JSON.stringify(parent)}, which is neither stored nor earlier in its graph`)
      }
    }
    seen?.add(spec.uuid)
  }
  return null
}

/** A delayMany or batch refusal names the element (its index in the call) that holds the bad
 * job; a function of its own, not a closure: enqueueRefusal runs for every enqueue. */
function refusedAt(ends: readonly number[] | undefined, i: number, call: string): string {
  return ends === undefined ? '' : `${elementName(ends, i, call)}: `
}

/** A uuid a batch keeps for its onDone jobs, stored when it is done. */
function reserved(state: State, uuid: string): boolean {
  return state.onDoneUuids.size > 0 && state.onDoneUuids.has(uuid)
}
