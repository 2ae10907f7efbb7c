// The actions: requeue, cancel, set done on many jobs at once, and pause/resume of a channel. The
// body is checked whole before the first job is touched; each uuid then gets its own result, and
// one refusal does not stop the others (they are submitted together, so they share a commit).
// Remove is the exception: wharf.remove() is all or nothing, so one refusal refuses every uuid.
// Purge acts on a state, not on uuids.

import { describe } from '../engine/api/properties.js'
import type { Wharf } from '../engine/api/wharf.js'
import { instantOf, type PurgeOptions } from '../engine/api/removal.js'
import { InvalidGraphError, InvalidPropertyError, JobStateConflictError, UnknownJobError, WharfClosedError } from '../engine/errors.js'
import { ACTION_FROM } from './action-states.js'
import { errorBody, type ErrorBody } from './http-error.js'
import { checkKeys } from './options.js'
import { checkUuidParam } from './query.js'

export const ACTION_UUIDS_MAX = 1000

/** Each acts on a job only in a state of ACTION_FROM: another is left as it is and refused
 * (JobStateConflictError naming its state), so no job is reported changed that was not. */
export const JOB_ACTIONS = {
  requeue: (wharf: Wharf, uuid: string) => wharf.actFrom('requeue', uuid, ACTION_FROM.requeue),
  cancel: (wharf: Wharf, uuid: string) => wharf.actFrom('cancel', uuid, ACTION_FROM.cancel),
  done: (wharf: Wharf, uuid: string) => wharf.actFrom('setDone', uuid, ACTION_FROM.done),
} as const

export type JobAction = keyof typeof JOB_ACTIONS

export type ActionResult = { uuid: string; ok: true } | { uuid: string; ok: false; error: ErrorBody }

export function checkUuids(body: unknown, where: string): string[] {
  const { uuids } = checkKeys(where, body, ['uuids'], 'body')
  if (!Array.isArray(uuids) || uuids.length === 0 || uuids.length > ACTION_UUIDS_MAX) {
    throw new InvalidPropertyError(`${where}: uuids must be an array of 1 to ${ACTION_UUIDS_MAX} job uuids, got ${describe(uuids)}`)
  }
  return uuids.map((uuid, i) => {
    if (typeof uuid !== 'string') throw new InvalidPropertyError(`${where}: uuids[${i}] must be a string, got ${describe(uuid)}`)
    return checkUuidParam(uuid, `${where}: uuids[${i}]`)
  })
}

/** Every uuid's result, in the order given; `allOk` tells 200 from 409. */
export async function runJobAction(wharf: Wharf, action: JobAction, uuids: readonly string[]): Promise<{ allOk: boolean; results: ActionResult[] }> {
  // A uuid given twice is acted on once, and both its places get that result: acted on twice,
  // the second found the job as the first left it (cancelled) and was refused, for a job the
  // call did cancel.
  const distinct = [...new Set(uuids)]
  const outcomes = new Map((await Promise.allSettled(distinct.map((uuid) => JOB_ACTIONS[action](wharf, uuid)))).map((outcome, i) => [distinct[i]!, outcome]))
  const settled = uuids.map((uuid) => outcomes.get(uuid)!)
  // Nothing acted because the Wharf is closed: that refuses the request, not its jobs (503, as
  // every other route answers it), so a client knows to come back rather than give up on them.
  const closed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected' && outcome.reason instanceof WharfClosedError)
  if (closed !== undefined && settled.every((outcome) => outcome.status === 'rejected')) throw closed.reason
  const results = settled.map((outcome, i): ActionResult => {
    const uuid = uuids[i]!
    return outcome.status === 'fulfilled' ? { uuid, ok: true } : { uuid, ok: false, error: errorBody(outcome.reason) }
  })
  return { allOk: results.every((r) => r.ok), results }
}

export function checkChannelBody(body: unknown, where: string): string {
  const { channel } = checkKeys(where, body, ['channel'], 'body')
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new InvalidPropertyError(`${where}: channel must be a complete channel name such as "root.mail", got ${describe(channel)}`)
  }
  return channel
}

/** The body of a cron action: `{ "name": "<cron>" }`. */
export function checkCronBody(body: unknown, where: string): string {
  const { name } = checkKeys(where, body, ['name'], 'body')
  if (typeof name !== 'string' || name.length === 0) throw new InvalidPropertyError(`${where}: name must be a cron's name, got ${describe(name)}`)
  return name
}

/**
 * remove: 200 `{ removed, results }` (each uuid ok); refused (an unknown uuid, a live job, the
 * graph rule): 409 `{ error, removed: 0, results }`, every uuid carrying that error, since nothing
 * was removed. Any other failure is the usual error answer.
 */
export async function runRemove(wharf: Wharf, uuids: readonly string[]): Promise<{ status: number; body: unknown }> {
  try {
    const removed = await wharf.remove(uuids)
    return { status: 200, body: { removed, results: uuids.map((uuid): ActionResult => ({ uuid, ok: true })) } }
  } catch (error) {
    if (!(error instanceof UnknownJobError || error instanceof JobStateConflictError || error instanceof InvalidGraphError)) throw error
    const body = errorBody(error)
    return { status: 409, body: { error: body, removed: 0, results: uuids.map((uuid): ActionResult => ({ uuid, ok: false, error: body })) } }
  }
}

/** purge's body: `{ state, before? }`, before as ISO 8601 text (the state is checked by purge()). */
export function checkPurgeBody(body: unknown, where: string): PurgeOptions {
  const { state, before } = checkKeys(where, body, ['state', 'before'], 'body')
  return before === undefined ? { state: state as PurgeOptions['state'] } : { state: state as PurgeOptions['state'], before: instantOf(before, `${where}: before`) }
}
