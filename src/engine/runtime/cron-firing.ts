// Which crons fire in this tick, and with what: the shell's half of a firing. It reads the due
// crons from the state, computes their firing times per catchUp (cron-times.ts) and the jobs
// they store, and hands the core fireCron commands; the core checks them against the state it
// decides on and writes the jobs and the cron's move in one batch.
//
// catchUp, for the firings due when the tick runs (usually one, the one the timer woke for):
// 'all' fires every one (at most CRON_FIRINGS_MAX, then warns and skips the rest), 'one' the
// latest, 'none' the latest only if it fell while this engine was running — firings missed while
// no engine ran (closed, crashed, stopped) are skipped.

import type { Command } from '../core/commands.js'
import { cronKeyPrefix, type CronRecord } from '../core/cron.js'
import type { JobSpec } from '../core/events.js'
import { CRON_FIRINGS_MAX } from '../core/limits.js'
import type { State } from '../core/state.js'
import { cloneArgs } from '../../storage/serialize.js'
import type { CronTimes } from './cron-times.js'
import type { Warn } from './warnings.js'

export interface CronFiringDeps {
  times: CronTimes
  newId: () => string
  /** The configured channel of a job function (null: root). */
  channelOf(model: string, method: string): string | null
  /** Where the warning of firings skipped goes: the engine's (the app's logger too). */
  warn: Warn
}

export interface CronFires {
  commands: Command[]
  /** Due crons were left for the next tick (this one has CRON_FIRINGS_MAX firings already). */
  more: boolean
}

const NO_FIRES: CronFires = Object.freeze({ commands: Object.freeze([]) as unknown as Command[], more: false })

/** The fireCron commands of the crons due at `nowMs`, earliest first; `runningSinceMs`: when
 * this engine last started (catchUp 'none' skips what fell before). */
export function dueCronFires(state: State, nowMs: number, runningSinceMs: number, deps: CronFiringDeps): CronFires {
  let due: CronRecord[] | null = null
  for (const cron of state.crons.values()) {
    if (!cron.paused && cron.nextMs !== null && cron.nextMs <= nowMs) (due ??= []).push(cron)
  }
  if (due === null) return NO_FIRES
  due.sort((a, b) => a.nextMs! - b.nextMs!) // stable: declaration order breaks ties
  const commands: Command[] = []
  let firings = 0
  for (const cron of due) {
    const { times: fired, more } = firedTimes(cron, nowMs, runningSinceMs, deps)
    if (commands.length > 0 && firings + fired.length > CRON_FIRINGS_MAX) return { commands, more: true }
    // Warned only for the firings this tick keeps: a cron left for the next tick is warned
    // about there, once, not at every tick that looks at it.
    if (more) warnSkipped(cron, fired, deps)
    firings += fired.length
    commands.push(fireCommand(cron, fired, nowMs, deps))
  }
  return { commands, more: false }
}

/** The scheduled times this firing stores jobs for, ascending; `more`: catchUp 'all' keeps the
 * first CRON_FIRINGS_MAX of them and skips the later ones up to now. */
function firedTimes(cron: CronRecord, nowMs: number, runningSinceMs: number, deps: CronFiringDeps): { times: number[]; more: boolean } {
  const { schedule, tz, catchUp } = cron.definition
  const fromMs = cron.nextMs!
  if (catchUp === 'all') return deps.times.between(schedule, tz, fromMs, nowMs, CRON_FIRINGS_MAX)
  const latest = Math.max(fromMs, deps.times.latestAtOrBefore(schedule, tz, nowMs) ?? fromMs)
  return { times: catchUp === 'none' && latest < runningSinceMs ? [] : [latest], more: false }
}

function warnSkipped(cron: CronRecord, fired: readonly number[], deps: CronFiringDeps): void {
  const last = new Date(fired[fired.length - 1]!).toISOString()
  deps.warn(
    `wharf: cron ${JSON.stringify(cron.definition.name)} missed more than ${CRON_FIRINGS_MAX} firings (CRON_FIRINGS_MAX) with catchUp 'all': ` +
      `the ${CRON_FIRINGS_MAX} from ${new Date(cron.nextMs!).toISOString()} to ${last} fire, the later ones up to now are skipped`,
    'WHARF_CRON_FIRINGS_SKIPPED',
  )
}

function fireCommand(cron: CronRecord, fired: number[], nowMs: number, deps: CronFiringDeps): Command {
  const { name, schedule, tz } = cron.definition
  const jobs = fired.map((atMs) => cronJobSpec(cron, atMs, nowMs, deps))
  // After now, which is after every firing kept or skipped: none is stored twice.
  const nextMs = deps.times.nextAfter(schedule, tz, nowMs)
  return { type: 'fireCron', name, fromMs: cron.nextMs!, fired, jobs, nextMs }
}

/**
 * Under trapJobs() a firing stores no job — nothing is stored while trapped — but the cron must
 * still move past it, or it would fire again at every tick: each command keeps its times and
 * stores nothing (as a firing catchUp skips), and its jobs are handed back, by cron name, for the
 * trap to take once that move is committed.
 */
export function divertFires(fires: CronFires): { fires: CronFires; jobs: Map<string, JobSpec[]> } {
  const jobs = new Map<string, JobSpec[]>()
  const commands = fires.commands.map((command) => {
    if (command.type !== 'fireCron') return command
    jobs.set(command.name, command.jobs)
    return { ...command, fired: [], jobs: [] }
  })
  return { fires: { commands, more: fires.more }, jobs }
}

/** The identity key of the firing of cron `name` scheduled at `atMs`. */
export function cronIdentityKey(name: string, atMs: number): string {
  return `${cronKeyPrefix(name)}${new Date(atMs).toISOString()}`
}

function cronJobSpec(cron: CronRecord, atMs: number, nowMs: number, deps: CronFiringDeps): JobSpec {
  const job = cron.definition.job
  return {
    uuid: deps.newId(),
    graphUuid: null,
    model: job.model,
    method: job.method,
    records: job.records,
    // A copy per job: a handler may change its arguments, never the cron's.
    args: cloneArgs(job.args),
    context: job.context,
    priority: job.priority,
    eta: null,
    maxRetries: job.maxRetries,
    description: job.description,
    channel: job.channel ?? deps.channelOf(job.model, job.method) ?? 'root',
    identityKey: job.identityKey ?? cronIdentityKey(cron.definition.name, atMs),
    dependsOn: [],
    createdAt: nowMs,
  }
}
