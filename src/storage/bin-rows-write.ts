// Events into record format 3's binary body: per event its type code (event-rows.ts CODES, one
// byte), `at` as a num offset from the previous event's (the first's from 0), then its fields in
// toRow's order, each in the encoding of its type (bin-writer.ts, bin-values.ts):
//
//   spec (job.created; batch.created's onDone)  uuid id, graphUuid id?, model str, method str,
//       records value, args value, context value, priority num, eta num?, maxRetries num,
//       description str (null: model.method, description.ts), channel str, identityKey id?,
//       dependsOn ids, createdAt − at num
//   events name their job (and batch) by an id, and lists of jobs are ids
//   ids: uint count, then that many id (none null)
//
// bin-rows-read.ts reads each layout back: change both (codec.test.ts round-trips every type).
// Every writer gives up (false) on a field of an unexpected type, and the codec then writes the
// record as format 2's rows, which keep anything JSON keeps.

import type { JobSpec, WharfEvent } from '../engine/core/events.js'
import type { BinWriter } from './bin-writer.js'
import { writeValue } from './bin-values.js'
import { packDescription } from './description.js'
import { CODE_CREATED, CODE_DONE, CODE_ENQUEUED, CODE_OF, CODE_STARTED } from './event-rows.js'

function ids(w: BinWriter, list: unknown): boolean {
  if (!Array.isArray(list)) return false
  w.uint(list.length)
  for (let i = 0; i < list.length; i++) {
    const s: unknown = list[i]
    if (typeof s !== 'string') return false
    w.id(s)
  }
  return true
}

function id(w: BinWriter, s: unknown): boolean {
  if (typeof s !== 'string') return false
  w.id(s)
  return true
}

function text(w: BinWriter, s: unknown): boolean {
  return typeof s === 'string' && w.str(s)
}

function flag(w: BinWriter, b: boolean): true {
  w.byte(b ? 1 : 0)
  return true
}

/** A spec's fields (createdAt as an offset from `at`). */
function spec(w: BinWriter, s: JobSpec, at: number): boolean {
  if (typeof s.description !== 'string' || typeof s.model !== 'string' || typeof s.method !== 'string') return false
  const description = packDescription(s.model, s.method, s.description)
  return (
    id(w, s.uuid) && w.idOrNull(s.graphUuid) && w.str(s.model) && w.str(s.method) &&
    writeValue(w, s.records) && writeValue(w, s.args) && writeValue(w, s.context) &&
    w.num(s.priority) && w.num(s.eta) && w.num(s.maxRetries) && w.str(description === 0 ? null : description) &&
    text(w, s.channel) && w.idOrNull(s.identityKey) && ids(w, s.dependsOn) && typeof s.createdAt === 'number' && w.num(s.createdAt - at)
  )
}

/** `e` (its time as an offset from `prevAt`) into `w`. False: a field this layout cannot hold. */
export function writeEvent(w: BinWriter, e: WharfEvent, prevAt: number): boolean {
  if (typeof e.at !== 'number') return false
  const at = e.at - prevAt
  // The lifecycle's four first: nearly every event written.
  switch (e.type) {
    case 'job.enqueued':
      return head(w, CODE_ENQUEUED, at) && id(w, e.uuid)
    case 'job.started':
      return head(w, CODE_STARTED, at) && id(w, e.uuid) && (e.node === undefined ? w.str(null) : text(w, e.node))
    case 'job.done':
      return head(w, CODE_DONE, at) && id(w, e.uuid) && writeValue(w, e.result) && flag(w, e.manual)
    case 'job.created':
      return head(w, CODE_CREATED, at) && spec(w, e.job, e.at)
    default:
      return head(w, CODE_OF.get(e.type)!, at) && otherFields(w, e)
  }
}

function head(w: BinWriter, code: number, at: number): boolean {
  w.byte(code)
  return w.num(at)
}

/** writeEvent's part for every other type. */
function otherFields(w: BinWriter, e: WharfEvent): boolean {
  switch (e.type) {
    case 'job.postponed':
      return id(w, e.uuid) && w.num(e.eta) && w.str(e.message) && w.num(e.retryAdjust)
    case 'job.failed':
      return id(w, e.uuid) && w.str(e.excName) && w.str(e.excMessage) && w.str(e.excInfo)
    case 'job.cancelled':
      return id(w, e.uuid) && ids(w, e.cascade)
    case 'job.joined_graph':
      return id(w, e.uuid) && w.idOrNull(e.graphUuid) && ids(w, e.dependsOn)
    case 'job.recovered':
      return id(w, e.uuid) && flag(w, e.dead)
    case 'job.run_released':
      return id(w, e.uuid) && w.num(e.run)
    case 'jobs.restored':
      return writeValue(w, e.jobs)
    case 'jobs.vacuumed':
      return ids(w, e.uuids)
    case 'jobs.removed':
      return ids(w, e.memory) && ids(w, e.history)
    case 'channel.paused':
    case 'channel.resumed':
      return text(w, e.channel)
    case 'job.progressed':
      return id(w, e.uuid) && w.num(e.run) && w.num(e.fraction) && w.str(e.message)
    case 'cron.defined': {
      const c = e.cron
      return text(w, c.name) && w.str(c.schedule) && w.str(c.tz) && w.str(c.catchUp) && writeValue(w, c.job) && w.num(e.nextMs)
    }
    case 'cron.removed':
      return text(w, e.name)
    // Paused and resumed share a code, told apart by a flag (as in format 2's rows).
    case 'cron.paused':
      return text(w, e.name) && flag(w, false)
    case 'cron.resumed':
      return text(w, e.name) && flag(w, true) && w.num(e.nextMs)
    case 'cron.fired':
      return text(w, e.name) && writeValue(w, e.fired) && w.num(e.nextMs)
    case 'batch.created':
      return id(w, e.uuid) && w.str(e.name) && ids(w, e.jobs) && onDoneSpecs(w, e.onDone, e.at)
    case 'batch.done':
      return id(w, e.uuid) && flag(w, e.onDone)
    case 'batches.trimmed':
      return writeValue(w, e.batches)
    case 'job.eta_reached':
    case 'job.requeued':
      return id(w, e.uuid)
    default:
      return false
  }
}

/** uint 0 for null, else the count + 1, then each spec. */
function onDoneSpecs(w: BinWriter, specs: JobSpec[] | null, at: number): boolean {
  if (specs === null) {
    w.uint(0)
    return true
  }
  if (!Array.isArray(specs)) return false
  w.uint(specs.length + 1)
  for (const s of specs) if (typeof s !== 'object' || s === null || !spec(w, s, at)) return false
  return true
}
