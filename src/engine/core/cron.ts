// Recurring jobs (crons): their decisions and evolve's part. The core never reads a calendar: the
// shell computes every firing time with the cron library and hands the times over as data (a
// definition's next firing, a due cron's firings and the one after them), or, for a resume, as a
// pure function of a definition and a time (CronClock), since only the tick knows the definition
// it resumes. Here the times are compared, checked and recorded, so a replay needs no cron
// library and no clock.
//
// A firing is never stored twice: its job.created and the cron.fired that moves the cron past it
// are in one batch (one atomic record), every fired time is after the cron's last firing, and the
// job carries the identity key `cron:<name>:<ISO time>` (a job waiting with it is not stored again).
// A definition whose job has an identity key of its own gives it to every firing instead: a firing
// while a job with that key waits (or that an earlier firing of the same catch-up took) stores
// nothing, so a slow or held-up cron job does not pile up.

import { fail } from './assert.js'
import type { Command } from './commands.js'
import { EVENT_FORMAT_VERSION as v, type CronDefinition, type CronFired, type WharfEvent } from './events.js'
import { CRONS_MAX, CRON_FIRINGS_MAX } from './limits.js'
import type { State } from './state.js'
import { InvalidPropertyError, UnknownCronError, type WharfError } from '../errors.js'

/** A cron in the state: its definition, times, and pause. */
export interface CronRecord {
  definition: CronDefinition
  /** Next scheduled firing (ms since epoch); null: the expression never fires again. */
  nextMs: number | null
  /** The latest scheduled time that stored its job; null: none yet. */
  lastMs: number | null
  paused: boolean
}

/** A cron as the API shows it (JSON-safe, times in ms since epoch like JobView's). */
export interface CronView {
  name: string
  schedule: string
  tz: string
  catchUp: CronDefinition['catchUp']
  /** When it fires next; null while paused, or when the expression never fires again. */
  nextFireAt: number | null
  /** The scheduled time of its latest firing; null before the first. */
  lastFireAt: number | null
  paused: boolean
  /** The job function each firing calls, '<model>.<method>', and the job's description. */
  function: string
  description: string
  /** The identity key every firing's job carries when the cron's job has its own (a firing while
   * a job with it waits stores nothing); null: each firing's is `cron:<name>:<ISO time>`. */
  identityKey: string | null
}

/** The identity keys of cron `name`'s firings: this, then the scheduled time in ISO 8601 (the
 * shell formats it; the core reads no calendar). */
export function cronKeyPrefix(name: string): string {
  return `cron:${name}:`
}

export function cronViewOf(cron: CronRecord): CronView {
  const d = cron.definition
  return {
    name: d.name,
    schedule: d.schedule,
    tz: d.tz,
    catchUp: d.catchUp,
    nextFireAt: cron.paused ? null : cron.nextMs,
    lastFireAt: cron.lastMs,
    paused: cron.paused,
    function: `${d.job.model}.${d.job.method}`,
    description: d.job.description,
    identityKey: d.job.identityKey ?? null,
  }
}

type CronCommand = Extract<Command, { type: 'defineCron' | 'removeCron' | 'pauseCron' | 'resumeCron' | 'fireCron' }>

/** The shell's cron clock: the first firing of a definition strictly after a time (null: none ever). */
export type CronClock = (definition: CronDefinition, afterMs: number) => number | null

/** The decision of a cron command: its events appended to `out`, or a refusal. `cronNext` times a
 * resume by the cron as decided so far (see Command); without it, the resume's own `nextMs`. */
export function decideCron(state: State, command: CronCommand, nowMs: number, out: WharfEvent[], cronNext?: CronClock | null): { error: WharfError } | undefined {
  const cron = state.crons.get(command.type === 'defineCron' ? command.cron.name : command.name)
  switch (command.type) {
    case 'defineCron': {
      if (cron === undefined && state.crons.size >= CRONS_MAX) {
        return { error: new InvalidPropertyError(`cron(): at most ${CRONS_MAX} crons (CRONS_MAX); remove one first (removeCron)`) }
      }
      if (cron !== undefined && sameDefinition(cron.definition, command.cron)) return undefined
      // Same times: the stored next firing stays (a firing missed while no engine ran stays due).
      const keep = cron !== undefined && cron.definition.schedule === command.cron.schedule && cron.definition.tz === command.cron.tz
      if (keep) {
        out.push({ seq: 0, v, at: nowMs, type: 'cron.defined', cron: command.cron, nextMs: cron.nextMs })
        return undefined
      }
      const next = afterLastFiring(command.cron, command.nextMs, cron?.lastMs ?? null, cronNext)
      if ('error' in next) return next
      out.push({ seq: 0, v, at: nowMs, type: 'cron.defined', cron: command.cron, nextMs: next.nextMs })
      return undefined
    }
    case 'removeCron':
      if (cron === undefined) return { error: new UnknownCronError(command.name) }
      out.push({ seq: 0, v, at: nowMs, type: 'cron.removed', name: command.name })
      return undefined
    case 'pauseCron':
      if (cron === undefined) return { error: new UnknownCronError(command.name) }
      if (!cron.paused) out.push({ seq: 0, v, at: nowMs, type: 'cron.paused', name: command.name })
      return undefined
    case 'resumeCron':
      if (cron === undefined) return { error: new UnknownCronError(command.name) }
      if (!cron.paused) return undefined
      // (A call without its time, from a follower of an older build, keeps the next firing it has.)
      const timed = cronNext != null && Number.isFinite(command.atMs) ? cronNext(cron.definition, command.atMs) : command.nextMs
      const next = afterLastFiring(cron.definition, timed, cron.lastMs, cronNext)
      if ('error' in next) return next
      out.push({ seq: 0, v, at: nowMs, type: 'cron.resumed', name: command.name, nextMs: next.nextMs })
      return undefined
    case 'fireCron':
      // Decided on a state that moved on since the shell read it: nothing is due any more.
      if (cron === undefined || cron.paused || cron.nextMs !== command.fromMs || command.fromMs > nowMs) return undefined
      decideFire(state, command, nowMs, out)
      return undefined
  }
}

/**
 * A next firing timed by the caller's clock, checked against the cron's last firing. A clock
 * behind that firing (set back since it, or a store reopened on a machine whose clock is behind)
 * would schedule a time at or before it, which evolve refuses: a scheduled time never fires
 * twice. The first firing after the last one is taken instead. Without the shell's cron clock
 * that firing cannot be timed here, and the call is refused rather than fire a time twice.
 */
function afterLastFiring(definition: CronDefinition, nextMs: number | null, lastMs: number | null, cronNext: CronClock | null | undefined): { nextMs: number | null } | { error: WharfError } {
  if (nextMs === null || lastMs === null || nextMs > lastMs) return { nextMs }
  if (cronNext == null) {
    return { error: new InvalidPropertyError(`cron ${JSON.stringify(definition.name)}: its next firing (${nextMs}) is not after its last (${lastMs}); the clock is behind it`) }
  }
  return { nextMs: cronNext(definition, lastMs) }
}

function decideFire(state: State, command: Extract<Command, { type: 'fireCron' }>, nowMs: number, out: WharfEvent[]): void {
  const { name, fired, jobs, nextMs } = command
  if (fired.length !== jobs.length) fail(`cron ${name}: ${fired.length} firings with ${jobs.length} jobs`)
  if (fired.length > CRON_FIRINGS_MAX) fail(`cron ${name}: ${fired.length} firings at once, more than CRON_FIRINGS_MAX`)
  const ownKey = state.crons.get(name)!.definition.job.identityKey
  const taken = new Set<string>()
  for (let i = 0; i < jobs.length; i++) {
    const spec = jobs[i]!
    const key = spec.identityKey
    if (key === null || (key !== ownKey && !key.startsWith(cronKeyPrefix(name)))) fail(`cron ${name}: job ${spec.uuid} has identity key ${key}`)
    if (state.jobs.has(spec.uuid)) fail(`cron ${name}: job uuid ${spec.uuid} is taken`)
    // A job still waiting with this key — for this very firing (a log written by hand, a key
    // reused), or with the definition's own key — or a job of this event holding it: not twice.
    if (state.identity.has(key) || taken.has(key)) continue
    taken.add(key)
    out.push({ seq: 0, v, at: nowMs, type: 'job.created', job: spec })
  }
  out.push({ seq: 0, v, at: nowMs, type: 'cron.fired', name, fired, nextMs })
}

function sameDefinition(a: CronDefinition, b: CronDefinition): boolean {
  return a.schedule === b.schedule && a.tz === b.tz && a.catchUp === b.catchUp && sameValue(a.job, b.job)
}

/** Deep equality of stored payloads (JSON values, Dates, and the numbers JSON cannot hold):
 * JSON text would take NaN for null and an invalid Date for null. Walked with a stack. */
function sameValue(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]]
  while (stack.length > 0) {
    const [x, y] = stack.pop()!
    if (Object.is(x, y)) continue
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false
    if (x instanceof Date || y instanceof Date) {
      if (!(x instanceof Date && y instanceof Date && Object.is(x.getTime(), y.getTime()))) return false
      continue
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false
    const keys = Object.keys(x)
    if (keys.length !== Object.keys(y).length) return false
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(y, key)) return false
      stack.push([(x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key]])
    }
  }
  return true
}

export type CronEvent = Extract<WharfEvent, { type: `cron.${string}` }>

export function isCronEvent(event: WharfEvent): event is CronEvent {
  return event.type.startsWith('cron.')
}

/** evolve's part for the cron events. */
export function applyCron(state: State, event: CronEvent): void {
  switch (event.type) {
    case 'cron.defined': {
      const cron = state.crons.get(event.cron.name)
      if (cron === undefined) {
        state.crons.set(event.cron.name, { definition: event.cron, nextMs: event.nextMs, lastMs: null, paused: false })
      } else {
        cron.definition = event.cron
        cron.nextMs = event.nextMs
      }
      checkTimes(state.crons.get(event.cron.name)!)
      return
    }
    case 'cron.removed':
      if (!state.crons.delete(event.name)) fail(`cron ${event.name} removed but not defined`)
      return
    case 'cron.paused': {
      const cron = cronOf(state, event.name)
      if (cron.paused) fail(`cron ${event.name} paused twice`)
      cron.paused = true
      return
    }
    case 'cron.resumed': {
      const cron = cronOf(state, event.name)
      if (!cron.paused) fail(`cron ${event.name} resumed while not paused`)
      cron.paused = false
      cron.nextMs = event.nextMs
      checkTimes(cron)
      return
    }
    case 'cron.fired':
      fired(cronOf(state, event.name), event)
      return
  }
}

function fired(cron: CronRecord, event: CronFired): void {
  if (cron.paused) fail(`cron ${event.name} fired while paused`)
  let last = cron.lastMs
  for (const atMs of event.fired) {
    if (last !== null && !(atMs > last)) fail(`cron ${event.name} fired at ${atMs}, not after its firing at ${last}`)
    if (atMs > event.at) fail(`cron ${event.name} fired at ${atMs}, before it was due (${event.at})`)
    last = atMs
  }
  cron.lastMs = last
  cron.nextMs = event.nextMs
  if (event.nextMs !== null && !(event.nextMs > event.at)) fail(`cron ${event.name} fired with its next firing ${event.nextMs} not after ${event.at}`)
  checkTimes(cron)
}

/** A cron's next firing is always after its last: a scheduled time never fires twice. */
function checkTimes(cron: CronRecord): void {
  if (cron.nextMs !== null && cron.lastMs !== null && !(cron.nextMs > cron.lastMs)) {
    fail(`cron ${cron.definition.name} fires next at ${cron.nextMs}, not after its last firing at ${cron.lastMs}`)
  }
}

function cronOf(state: State, name: string): CronRecord {
  return state.crons.get(name) ?? fail(`event names unknown cron ${name}`)
}

/** The earliest next firing of the crons that are not paused (null: none). */
export function nextCronMs(state: State): number | null {
  let next: number | null = null
  for (const cron of state.crons.values()) {
    if (!cron.paused && cron.nextMs !== null && (next === null || cron.nextMs < next)) next = cron.nextMs
  }
  return next
}
