// The boundary of remove() and purge(): their arguments, checked before anything is decided, and
// what their decisions answer.

import type { RemovableState } from '../core/commands.js'
import { REMOVE_UUIDS_MAX } from '../core/limits.js'
import { InvalidPropertyError } from '../errors.js'
import type { ResultOf } from '../runtime/engine.js'
import { isOptionsObject } from './options-object.js'
import { describe } from './properties.js'

export interface PurgeOptions {
  state: RemovableState
  /** Only jobs that entered `state` strictly before this time. */
  before?: Date
}

const REMOVABLE: readonly string[] = ['done', 'cancelled', 'failed'] satisfies RemovableState[]

/** remove(uuids): an array of at most REMOVE_UUIDS_MAX uuids, each named once in the answer. */
export function checkRemoveUuids(uuids: unknown): string[] {
  if (!Array.isArray(uuids)) throw new InvalidPropertyError(`remove(): uuids must be an array of job uuids, got ${describe(uuids)}`)
  if (uuids.length > REMOVE_UUIDS_MAX) {
    throw new InvalidPropertyError(`remove(): at most ${REMOVE_UUIDS_MAX} uuids per call (REMOVE_UUIDS_MAX), got ${uuids.length}; split the call, or use purge()`)
  }
  uuids.forEach((uuid: unknown, i) => {
    if (typeof uuid !== 'string' || uuid.length === 0) throw new InvalidPropertyError(`remove(): uuids[${i}] must be a job uuid (a non-empty string), got ${describe(uuid)}`)
  })
  return [...new Set(uuids as string[])]
}

export function checkPurgeOptions(options: unknown): { state: RemovableState; beforeMs: number | null } {
  if (!isOptionsObject(options)) {
    throw new InvalidPropertyError(`purge(): options must be an object such as { state: 'failed' }, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (key !== 'state' && key !== 'before') throw new InvalidPropertyError(`purge(): unknown option ${JSON.stringify(key)}; known: state, before`)
  }
  const { state, before } = options as { state?: unknown; before?: unknown }
  if (typeof state !== 'string' || !REMOVABLE.includes(state)) {
    throw new InvalidPropertyError(`purge(): state must be one of ${REMOVABLE.map((s) => `'${s}'`).join(', ')}, got ${describe(state)}`)
  }
  if (before === undefined) return { state: state as RemovableState, beforeMs: null }
  if (!(before instanceof Date) || !Number.isFinite(before.getTime())) {
    throw new InvalidPropertyError(`purge(): before must be a valid Date, got ${describe(before)}`)
  }
  return { state: state as RemovableState, beforeMs: before.getTime() }
}

/** A date (YYYY-MM-DD, midnight UTC) or a date-time with its zone (Z or ±hh:mm). */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/

/** purge's `before` as text (the dashboard's JSON, the CLI's --before): an ISO 8601 instant.
 * `where` names the value in the error. */
export function instantOf(text: unknown, where: string): Date {
  const date = typeof text === 'string' && ISO_INSTANT.test(text) && isCalendarDay(text) ? new Date(text) : null
  if (date === null || !Number.isFinite(date.getTime())) {
    throw new InvalidPropertyError(`${where} must be an ISO 8601 date or date-time with its zone, such as "2026-05-01" or "2026-05-01T12:00:00Z", got ${describe(text)}`)
  }
  return date
}

/** Whether the text's YYYY-MM-DD is a day of the calendar: Date rolls a day past the end of its
 * month into the next (2026-02-30 is March 2), which would purge more than was asked. */
function isCalendarDay(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number]
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
  return days !== undefined && day >= 1 && day <= days
}

/** What a remove or purge decision says: jobs removed, and (purge) whether more may be left. */
export const removedAndMore: ResultOf<{ removed: number; more: boolean }> = (note) => {
  if (note === undefined || !('removed' in note)) return { removed: 0, more: false }
  return { removed: note.removed, more: 'more' in note && note.more }
}
