// Job properties (withDelay, delayable, set): queue_job's six, checked once here with an error
// that names the bad value; everything past this point trusts them.

import { normalizeChannelName } from '../core/channel-config.js'
import type { RecordId } from '../core/events.js'
import { describe } from '../core/describe.js'
import { DELAY_SECONDS_MAX, TIME_MS_MAX } from '../core/limits.js'
import { InvalidChannelConfigError, InvalidPropertyError } from '../errors.js'
import { isOptionsObject } from './options-object.js'

/** What an identityKey function receives: the job about to be stored. */
export interface IdentityKeyJob {
  model: string
  method: string
  records: readonly RecordId[]
  args: readonly unknown[]
  context: Readonly<Record<string, unknown>>
  priority: number
  eta: number | null
  maxRetries: number
  description: string
  channel: string
}

export interface JobProperties {
  /** Integer; lower runs first. Default 10. */
  priority?: number
  /** A Date, or seconds from now. */
  eta?: Date | number | null
  /** Tries allowed on RetryableJobError; 0 = infinite. Default 5. */
  maxRetries?: number
  description?: string
  /** Complete channel name; default: the function's configured channel, else 'root'. */
  channel?: string
  identityKey?: string | ((job: IdentityKeyJob) => string) | null
}

export const PROPERTY_KEYS: readonly (keyof JobProperties)[] = [
  'priority',
  'eta',
  'maxRetries',
  'description',
  'channel',
  'identityKey',
]
const KNOWN = new Set<string>(PROPERTY_KEYS)
export const DEFAULT_PRIORITY = 10
export const DEFAULT_MAX_RETRIES = 5
export const DESCRIPTION_LENGTH_MAX = 10_000
export const IDENTITY_KEY_LENGTH_MAX = 1_000

/** Checked, normalised properties: channel is complete, eta still relative or absolute. */
export type CheckedProperties = JobProperties

const NO_PROPERTIES: CheckedProperties = Object.freeze({})

export function checkProperties(props: unknown, where: string): CheckedProperties {
  if (props === undefined) return NO_PROPERTIES
  if (!isOptionsObject(props)) {
    throw new InvalidPropertyError(`${where}: properties must be an object, got ${describe(props)}`)
  }
  const out: CheckedProperties = {}
  for (const [key, value] of Object.entries(props)) {
    if (!KNOWN.has(key)) {
      throw new InvalidPropertyError(`${where}: no property ${JSON.stringify(key)}; known: ${PROPERTY_KEYS.join(', ')}`)
    }
    if (value === undefined) continue
    switch (key as keyof JobProperties) {
      case 'priority':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
          throw new InvalidPropertyError(`${where}: priority must be an integer, got ${describe(value)}`)
        }
        out.priority = value
        break
      case 'eta':
        out.eta = checkEta(value, where)
        break
      case 'maxRetries':
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
          throw new InvalidPropertyError(`${where}: maxRetries must be an integer >= 0 (0 = infinite), got ${describe(value)}`)
        }
        out.maxRetries = value
        break
      case 'description':
        if (typeof value !== 'string' || value.length > DESCRIPTION_LENGTH_MAX) {
          throw new InvalidPropertyError(`${where}: description must be a string of at most ${DESCRIPTION_LENGTH_MAX} characters, got ${describe(value)}`)
        }
        // queue_job: an empty description is no description (its getter tests it for truth):
        // absent, so that every default ('<model>.<method>', a split's) applies. Set undefined,
        // not left out, so that it still overrides a description given earlier.
        out.description = value === '' ? undefined : value
        break
      case 'channel':
        // queue_job: an empty channel is no channel (the function's is taken, else root), as above.
        out.channel = value === '' ? undefined : checkChannel(value, where)
        break
      case 'identityKey':
        if (value === null) {
          out.identityKey = null
        } else if (typeof value === 'function') {
          out.identityKey = value as (job: IdentityKeyJob) => string
        } else {
          out.identityKey = checkIdentityKey(value, where)
        }
        break
    }
  }
  return out
}

export function checkIdentityKey(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > IDENTITY_KEY_LENGTH_MAX) {
    throw new InvalidPropertyError(
      `${where}: identityKey must be a non-empty string of at most ${IDENTITY_KEY_LENGTH_MAX} characters (or a function returning one), got ${describe(value)}`,
    )
  }
  // History indexes finished jobs by key, as UTF-8 (LevelDB keys, PostgreSQL text): a lone
  // surrogate would become U+FFFD there, matching another key, and never match its own view.
  if (LONE_SURROGATE.test(value)) throw new InvalidPropertyError(`${where}: identityKey must be well-formed text (no lone surrogate), got ${describe(value)}`)
  return value
}

/** With the u flag, a surrogate pair is one code point: only a lone surrogate matches. */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/** What no job id holds (a custom newId()'s are checked for it as they are made), so that every
 * id can be named in a dashboard or API path and as the CLI's --after cursor, which take ids by
 * the same rule (dashboard/query.ts). */
export const NOT_IN_IDS = /[\s\p{Cc}]/u

/** queue_job: a falsy eta means none. */
function checkEta(value: unknown, where: string): Date | number | null {
  if (value === null || value === 0) return null
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new InvalidPropertyError(`${where}: eta is an invalid Date`)
    if (value.getTime() > TIME_MS_MAX) throw new InvalidPropertyError(`${where}: eta ${describe(value)} is after ${new Date(TIME_MS_MAX).toISOString()}, the latest time Wharf stores (TIME_MS_MAX)`)
    return new Date(value.getTime())
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value > DELAY_SECONDS_MAX) throw new InvalidPropertyError(`${where}: eta ${value} seconds from now is after ${new Date(TIME_MS_MAX).toISOString()}, the latest time Wharf stores (at most DELAY_SECONDS_MAX, ${DELAY_SECONDS_MAX})`)
    // A past eta is due at once (queue_job keeps it as given); one this far back is no time a
    // Date can show (-1e300 seconds), which the dashboard's and the CLI's dates would fail on.
    if (value < -DELAY_SECONDS_MAX) throw new InvalidPropertyError(`${where}: eta ${value} seconds from now is further in the past than DELAY_SECONDS_MAX (${DELAY_SECONDS_MAX}) seconds`)
    return value
  }
  throw new InvalidPropertyError(`${where}: eta must be a Date or a number of seconds from now, got ${describe(value)}`)
}

function checkChannel(value: unknown, where: string): string {
  if (typeof value !== 'string') {
    throw new InvalidPropertyError(`${where}: channel must be a string such as 'root.mail', got ${describe(value)}`)
  }
  try {
    return normalizeChannelName(value)
  } catch (error) {
    if (error instanceof InvalidChannelConfigError) throw new InvalidPropertyError(`${where}: ${error.message}`)
    throw error
  }
}

/** Absolute eta in ms from a checked property value. */
export function etaMs(eta: Date | number | null | undefined, nowMs: number): number | null {
  if (eta === undefined || eta === null) return null
  if (eta instanceof Date) return eta.getTime()
  // checkEta bounds the seconds; from a clock late in year 9999 they could still pass the bound.
  return Math.min(nowMs + Math.round(eta * 1000), TIME_MS_MAX)
}

// Moved to core/describe.ts (the runtime names bad values too); importers keep this path.
export { describe }
