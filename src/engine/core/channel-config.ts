// Parser for queue_job's channel configuration string (`ChannelManager.parse_simple_config`
// plus the option interpretation of `Channel.configure`), e.g. 'root:4,mail:2:throttle=1,seq:1:sequential'.
// Pure: no I/O, no clock. Deviations from queue_job are deliberate and marked "Wharf:".

import { InvalidChannelConfigError } from '../errors.js'
import { CHANNEL_DEPTH_MAX, DELAY_SECONDS_MAX } from './limits.js'

export const ROOT = 'root'

export interface ChannelConfig {
  /** Complete name: 'root' or 'root.'-prefixed. */
  name: string
  /**
   * Always a number when produced by parseChannelConfig (an entry without capacity means 1).
   * null is for channels nobody configured (auto-created: unlimited, bounded by ancestors).
   * 0 is returned as is: unlimited on a subchannel, runner disabled on root; callers decide.
   */
  capacity: number | null
  sequential: boolean
  /** Seconds between two dispatches from this channel; 0 = no throttle. */
  throttleSeconds: number
  paused: boolean
  /** Per-channel autovacuum age (Wharf option); null = engine default. */
  removeAfterDays: number | null
}

type OptionValue = string | true

/** The options an entry may carry after its capacity. Wharf: queue_job ignores unknown keys, so a
 * typo ('sequentail', 'throtle=10') silently configured nothing; here it is refused. */
const OPTIONS = ['sequential', 'throttle', 'paused', 'remove_after_days'] as const
const KNOWN_OPTIONS = new Set<string>(OPTIONS)

/** Letters, digits, '_' and '-' (ASCII): no spaces, dots or ':' inside a segment. */
const SEGMENT = /^[A-Za-z0-9_-]+$/

const quote = (s: string): string => JSON.stringify(s)

// Wharf: only plain ASCII digits, within the safe-integer range. Python's int() would also take
// '+3', '-1', '1_000' and non-ASCII digits; a negative capacity silently blocks a channel there.
function parseNonNegativeInt(text: string): number | null {
  if (!/^[0-9]+$/.test(text)) return null
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : null
}

/**
 * A boolean option: a bare key or 'true' is true, 'false' is false, anything else is null.
 * Wharf: queue_job applies Python's bool(), so 'sequential=false' meant sequential there.
 */
function parseFlag(value: OptionValue | undefined): boolean | null {
  if (value === undefined || value === 'false') return false
  return value === true || value === 'true' ? true : null
}

/** The complete name for `name`, or why it is not a valid channel name. */
function checkName(name: string): { complete: string } | { reason: string } {
  const trimmed = name.trim()
  if (trimmed === '' || trimmed === ROOT) return { complete: ROOT }
  const complete = trimmed.startsWith(ROOT + '.') ? trimmed : `${ROOT}.${trimmed}`
  const parts = complete.split('.')
  // 'Root.mail' would otherwise be the short name of 'root.Root.mail': surely not what was meant.
  if (parts[1]!.toLowerCase() === ROOT && parts[1] !== ROOT && !trimmed.startsWith(ROOT + '.')) {
    return { reason: `the first segment must be ${quote(ROOT)} (lowercase), got ${quote(parts[1]!)}` }
  }
  for (const part of parts) {
    if (part === '') return { reason: 'empty segment' }
    if (!SEGMENT.test(part)) return { reason: `segment ${quote(part)} may hold only letters, digits, '_' and '-'` }
  }
  if (parts.length > CHANNEL_DEPTH_MAX) {
    return { reason: `deeper than ${CHANNEL_DEPTH_MAX} levels (root included)` }
  }
  return { complete }
}

/**
 * Normalize a user-supplied channel name the way queue_job's `get_channel_by_name` resolves it:
 * undefined/null/''/'root' -> 'root', 'a.b' -> 'root.a.b', 'root.a' unchanged.
 */
export function normalizeChannelName(name?: string | null): string {
  const result = checkName(name ?? '')
  if ('reason' in result) {
    throw new InvalidChannelConfigError(`Invalid channel name ${quote(name ?? '')}: ${result.reason}`)
  }
  return result.complete
}

/** Parent complete name, or null for root. Accepts short names ('a.b' -> 'root.a'). */
export function parentChannelName(name: string): string | null {
  const complete = normalizeChannelName(name)
  if (complete === ROOT) return null
  return complete.slice(0, complete.lastIndexOf('.'))
}

function parseEntry(entry: string): ChannelConfig {
  const fail: (what: string) => never = (what) => {
    throw new InvalidChannelConfigError(`Invalid channel config ${quote(entry)}: ${what}`)
  }
  const items = entry.split(':').map((s) => s.trim())
  const rawName = items[0] ?? ''
  if (rawName === '') fail('missing channel name')
  const checked = checkName(rawName)
  if ('reason' in checked) fail(`invalid channel name ${quote(rawName)}: ${checked.reason}`)
  const name = checked.complete

  let capacity = 1
  const rawCapacity = items[1]
  if (rawCapacity !== undefined) {
    const n = parseNonNegativeInt(rawCapacity)
    if (n === null) fail(`invalid capacity ${quote(rawCapacity)}`)
    capacity = n
  }

  // 'name' and 'capacity' are pre-seeded because queue_job keeps them in the same dict as the
  // options, so 'a:1:capacity=2' is a duplicate key there.
  const options = new Map<string, OptionValue>([
    ['name', rawName],
    ['capacity', rawCapacity ?? '1'],
  ])
  for (const item of items.slice(2)) {
    const kv = item.split('=').map((s) => s.trim())
    if (kv.length > 2) fail(`incorrect config item ${quote(item)}`)
    const key = kv[0] ?? ''
    if (options.has(key)) fail(`duplicate key ${quote(key)}`)
    if (!KNOWN_OPTIONS.has(key)) fail(`unknown option ${quote(key)}; options: ${OPTIONS.join(', ')}`)
    options.set(key, kv.length === 2 ? (kv[1] ?? '') : true)
  }

  const flag = (key: 'sequential' | 'paused'): boolean => {
    const value = options.get(key)
    const parsed = parseFlag(value)
    if (parsed === null) fail(`invalid ${key} value ${quote(String(value))}; use ${key}, ${key}=true or ${key}=false`)
    return parsed
  }
  const sequential = flag('sequential')
  const paused = flag('paused')

  let throttleSeconds = 0
  const throttle = options.get('throttle')
  // A bare 'throttle' is int(True) == 1 second in queue_job.
  if (throttle === true) throttleSeconds = 1
  else if (throttle !== undefined) {
    const n = parseNonNegativeInt(throttle)
    if (n === null) fail(`invalid throttle ${quote(throttle)}`)
    // Wharf: in ms a longer one is no exact integer, and its window ends past any time stored.
    if (n > DELAY_SECONDS_MAX) fail(`invalid throttle ${quote(throttle)}: at most DELAY_SECONDS_MAX (${DELAY_SECONDS_MAX}) seconds`)
    throttleSeconds = n
  }

  let removeAfterDays: number | null = null
  const removeAfter = options.get('remove_after_days')
  if (removeAfter !== undefined) {
    const n = removeAfter === true ? null : parseNonNegativeInt(removeAfter)
    if (n === null || n === 0) fail(`invalid remove_after_days ${quote(String(removeAfter))}`)
    removeAfterDays = n
  }

  if (sequential && capacity !== 1) fail('A sequential channel must have a capacity of 1')
  return { name, capacity, sequential, throttleSeconds, paused, removeAfterDays }
}

/** Parse a config string; returns one entry per non-empty entry, in order (later duplicates are NOT merged here). */
export function parseChannelConfig(text: string): ChannelConfig[] {
  return text
    .replace(/\n/g, ',')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseEntry)
}

/**
 * Apply entries in order like queue_job's `simple_configure`: a later entry for the same
 * complete name replaces the earlier one entirely (options it omits fall back to defaults).
 * The map keeps the order in which names were first seen.
 */
export function mergeChannelConfig(entries: ChannelConfig[]): Map<string, ChannelConfig> {
  const merged = new Map<string, ChannelConfig>()
  for (const entry of entries) merged.set(entry.name, { ...entry })
  return merged
}

/** One entry as the grammar writes it, every option it holds spelled out: parseChannelConfig
 * reads it back as the same entry ('root.mail:2:throttle=10:paused'). */
export function formatChannelEntry(entry: ChannelConfig): string {
  let text = `${entry.name}:${entry.capacity ?? 0}`
  if (entry.sequential) text += ':sequential'
  if (entry.throttleSeconds > 0) text += `:throttle=${entry.throttleSeconds}`
  if (entry.paused) text += ':paused'
  if (entry.removeAfterDays !== null) text += `:remove_after_days=${entry.removeAfterDays}`
  return text
}

/** A configuration in canonical form: one entry per channel (merged), in the order first seen. */
export function formatChannelConfig(config: readonly ChannelConfig[]): string {
  return [...mergeChannelConfig([...config]).values()].map(formatChannelEntry).join(',')
}
