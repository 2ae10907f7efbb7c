// The boundary of recurring jobs: wharf.cron()'s arguments checked and turned into a cron
// definition (the job each firing stores, its properties settled now), with clear errors before
// anything is written. Times are the shell's (runtime/cron-times.ts); the core only records them.

import type { CatchUp, CronDefinition, CronJob } from '../core/events.js'
import { CATCH_UPS } from '../core/events.js'
import { CRON_NAME_LENGTH_MAX } from '../core/limits.js'
import { describe } from '../core/describe.js'
import { InvalidPropertyError, refusalAt } from '../errors.js'
import type { CronTimes } from '../runtime/cron-times.js'
import { cloneArgs } from '../../storage/serialize.js'
import { Delayable, type GraphHost } from './delayable.js'
import { isOptionsObject } from './options-object.js'
import { DEFAULT_MAX_RETRIES, DEFAULT_PRIORITY, LONE_SURROGATE } from './properties.js'

export type { CronView } from '../core/cron.js'

export interface CronOptions {
  /** IANA time zone the schedule is read in (default: this process's time zone). */
  tz?: string
  /** Firings missed while no engine ran: none of them, the latest one (default), or all (at
   * most CRON_FIRINGS_MAX). */
  catchUp?: CatchUp
}

const OPTION_KEYS = ['tz', 'catchUp']

/** cron()'s arguments, checked at `nowMs`, as the definition to store and its first firing after
 * `nowMs`. `host`: the Wharf called. */
export function cronDefinitionOf(name: unknown, schedule: unknown, job: unknown, options: unknown, host: GraphHost, times: CronTimes, nowMs: number): { cron: CronDefinition; nextMs: number } {
  const checkedName = checkCronName(name, 'cron')
  // A blank name is a mistake, as batch() says of its own: refused when declared. removeCron()
  // and its kin still take it, so that a cron declared before this check can be removed.
  if (checkedName.trim().length === 0) throw new InvalidPropertyError(`cron(): name must not be blank, got ${describe(checkedName)}`)
  // The name is part of each firing's identity key, which history indexes as UTF-8, where a lone
  // surrogate becomes U+FFFD: refused as identityKey refuses it (properties.ts).
  if (LONE_SURROGATE.test(checkedName)) throw new InvalidPropertyError(`cron(): name must be well-formed text (no lone surrogate): it is part of each firing's identity key, got ${describe(checkedName)}`)
  const where = `cron(${JSON.stringify(checkedName)})`
  const { tz, catchUp } = checkCronOptions(options, where)
  if (typeof schedule !== 'string' || schedule.trim().length === 0) {
    throw new InvalidPropertyError(`${where}: schedule must be a cron expression such as '0 2 * * *', got ${describe(schedule)}`)
  }
  let next: number | null
  try {
    next = times.nextAfter(schedule, tz, nowMs)
  } catch (error) {
    throw new InvalidPropertyError(`${where}: schedule ${JSON.stringify(schedule)} is not a valid cron expression (${(error as Error).message})`)
  }
  // From now, not from ever: croner reads a 7th field as the year, and a schedule whose firings
  // are all past would be stored as a cron that never fires.
  if (next === null) throw new InvalidPropertyError(`${where}: schedule ${JSON.stringify(schedule)} never fires after ${new Date(nowMs).toISOString()}`)
  return { cron: { name: checkedName, schedule, tz, catchUp, job: cronJobOf(job, host, where) }, nextMs: next }
}

/** A cron's name: a non-empty string of at most CRON_NAME_LENGTH_MAX characters. */
export function checkCronName(name: unknown, call: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > CRON_NAME_LENGTH_MAX) {
    throw new InvalidPropertyError(`${call}(): name must be a non-empty string of at most ${CRON_NAME_LENGTH_MAX} characters (CRON_NAME_LENGTH_MAX), got ${describe(name)}`)
  }
  return name
}

function checkCronOptions(options: unknown, where: string): { tz: string; catchUp: CatchUp } {
  if (!isOptionsObject(options)) {
    throw new InvalidPropertyError(`${where}: options must be an object such as { tz: 'Europe/Brussels', catchUp: 'one' }, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new InvalidPropertyError(`${where}: unknown option ${JSON.stringify(key)}; known: ${OPTION_KEYS.join(', ')}`)
  }
  const { tz, catchUp } = options as { tz?: unknown; catchUp?: unknown }
  if (catchUp !== undefined && !(CATCH_UPS as readonly unknown[]).includes(catchUp)) {
    throw new InvalidPropertyError(`${where}: catchUp must be one of ${CATCH_UPS.map((c) => `'${c}'`).join(', ')}, got ${describe(catchUp)}`)
  }
  return { tz: checkTimeZone(tz, where), catchUp: (catchUp as CatchUp | undefined) ?? 'one' }
}

/** An IANA time zone Intl knows; none given: this process's, stored by name so that the log
 * says which zone the schedule was read in. */
function checkTimeZone(tz: unknown, where: string): string {
  if (tz === undefined) {
    // A TZ Intl cannot name (':/etc/localtime' in containers, a POSIX rule like 'UTC+3', '') gives
    // undefined or 'Etc/Unknown': no name to store, and croner would refuse the latter.
    const local: unknown = new Intl.DateTimeFormat().resolvedOptions().timeZone
    if (isTimeZone(local)) return local
    throw new InvalidPropertyError(`${where}: this process's time zone has no IANA name (TZ is ${describe(process.env.TZ)}, Intl names ${describe(local)}): pass tz, such as 'UTC' or 'Europe/Brussels'`)
  }
  if (isTimeZone(tz)) return tz
  throw new InvalidPropertyError(`${where}: tz must be an IANA time zone such as 'Europe/Brussels' or 'UTC', got ${describe(tz)}`)
}

function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz.length === 0) return false
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** The job of a delayable of this Wharf: one call, alone, with no eta (each firing has its time);
 * its identity key, if it has one, is every firing's (else each firing's is its own). */
function cronJobOf(job: unknown, host: GraphHost, where: string): CronJob {
  const usage = 'a delayable of a model of this Wharf with its method called, e.g. reports.delayable().build(\'nightly\')'
  if (!(job instanceof Delayable)) throw new InvalidPropertyError(`${where}: job must be ${usage}, got ${describe(job)}`)
  if (job.host !== host) throw new InvalidPropertyError(`${where}: job is a delayable of another Wharf's model; it must be ${usage}`)
  if (job.call === null) throw new InvalidPropertyError(`${where}: the delayable of model ${job.target.model} has no method call; it must be ${usage}`)
  if (job.graph.vertices.size > 1) throw new InvalidPropertyError(`${where}: job must be a single delayable, not part of a graph (onDone, chain, group)`)
  const props = job.props
  if (props.eta !== undefined && props.eta !== null) throw new InvalidPropertyError(`${where}: job must not have an eta (got ${describe(props.eta)}): each firing runs at its time`)
  // A key computed per job would be computed once, here: only a fixed one means what it says.
  if (typeof props.identityKey === 'function') {
    throw new InvalidPropertyError(`${where}: job's identityKey must be a string (each firing's job gets it: a firing while a job with it waits stores nothing), not a function`)
  }
  const { model } = job.target
  const method = job.call.method
  let args: unknown[]
  try {
    args = cloneArgs(job.call.args)
  } catch (error) {
    // cloneArgs names the value (`args[0]…`), not the call: a cron declared at start among
    // others would leave the app guessing which one refused.
    throw refusalAt(error, `${where}: job ${model}.${method}`)
  }
  return {
    model,
    method,
    records: job.target.ids,
    args,
    context: job.target.context,
    priority: props.priority ?? DEFAULT_PRIORITY,
    maxRetries: props.maxRetries ?? DEFAULT_MAX_RETRIES,
    description: props.description ?? `${model}.${method}`,
    channel: props.channel ?? null,
    // Only when given: a definition declared before keys were taken compares equal to its own.
    ...(typeof props.identityKey === 'string' ? { identityKey: props.identityKey } : {}),
  }
}
