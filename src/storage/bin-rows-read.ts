// Events out of record format 3's binary body, straight from its bytes (bin-rows-write.ts has the
// layouts): no intermediate rows, each event one object literal in the field order of fromRow's
// (event-rows.ts), so that replay's evolve sees one shape per type whichever format it read.
// Checks the layout, not the fields' types: evolve's preconditions catch a wrong value.

import type { CatchUp, CronJob, JobSpec, WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import { BodyError, type BinReader } from './bin-reader.js'
import { readValue } from './bin-values.js'
import { readRecords } from './bin-records.js'
import { unpackDescription } from './description.js'
import { contextOrShared } from '../engine/core/empty-context.js'
import { CODES } from './event-rows.js'

function ids(r: BinReader): string[] {
  const n = r.uint()
  if (n > r.end - r.pos) throw new BodyError(`has a list of ${n} strings in ${r.end - r.pos} bytes`)
  if (n === 0) return []
  // Its size: a push onto [] reserves 17 slots, and a job keeps its dependsOn.
  const list = new Array<string>(n)
  for (let i = 0; i < n; i++) list[i] = r.id()
  return list
}

function number(r: BinReader): number {
  const n = r.num()
  if (n === null) throw new BodyError('has null where a number must be')
  return n
}

function flag(r: BinReader): boolean {
  const b = r.byte()
  if (b > 1) throw new BodyError(`has flag ${b}, not 0 or 1`)
  return b === 1
}

/** A spec's fields (createdAt as an offset from `at`). */
function spec(r: BinReader, at: number): JobSpec {
  const uuid = r.id()
  const graphUuid = r.idOrNull()
  const model = r.text()
  const method = r.text()
  const records = readRecords(r)
  const args = readValue(r) as unknown[]
  const context = contextOrShared(readValue(r))
  const priority = r.num() as number
  const eta = r.num()
  const maxRetries = r.num() as number
  const stored = r.str()
  const description = unpackDescription(model, method, stored === null ? 0 : stored)
  const channel = r.text()
  const identityKey = r.idOrNull()
  const dependsOn = ids(r)
  const createdAt = at + number(r)
  // In the field order of the API's specs (event-rows.ts specOf), so that all share one shape.
  return { uuid, graphUuid, model, method, records, args, context, priority, eta, maxRetries, description, channel, identityKey, dependsOn, createdAt }
}

/** The next event in `r`, at `seq` and format version `v`; `prevAt` is the previous event's time. */
export function readEvent(r: BinReader, seq: number, v: number, prevAt: number): WharfEvent {
  const code = r.byte()
  const at = prevAt + number(r)
  // `v` as stored: a version other than the current one is upcast by the caller.
  const ver = v as 1
  switch (code) {
    case 0:
      return { seq, v: ver, at, type: 'job.created', job: spec(r, at) }
    case 2:
      return { seq, v: ver, at, type: 'job.enqueued', uuid: r.id() }
    case 3: {
      const uuid = r.id()
      const node = r.str()
      return node === null ? { seq, v: ver, at, type: 'job.started', uuid } : { seq, v: ver, at, type: 'job.started', uuid, node }
    }
    case 4: {
      const uuid = r.id()
      const result = readValue(r)
      return { seq, v: ver, at, type: 'job.done', uuid, result, manual: flag(r) }
    }
    default:
      return otherEvent(r, code, seq, ver, at)
  }
}

/** readEvent's part for every other type. */
function otherEvent(r: BinReader, code: number, seq: number, ver: 1, at: number): WharfEvent {
  const type = CODES[code]
  switch (type) {
    case 'job.eta_reached':
      return { seq, v: ver, at, type, uuid: r.id() }
    case 'job.postponed': {
      const uuid = r.id()
      const eta = number(r)
      const message = r.str() as string
      return { seq, v: ver, at, type, uuid, eta, message, retryAdjust: number(r) as 0 | -1 }
    }
    case 'job.failed': {
      const uuid = r.id()
      const excName = r.str() as string
      const excMessage = r.str() as string
      return { seq, v: ver, at, type, uuid, excName, excMessage, excInfo: r.str() as string }
    }
    case 'job.cancelled': {
      const uuid = r.id()
      return { seq, v: ver, at, type, uuid, cascade: ids(r) }
    }
    case 'job.requeued':
      return { seq, v: ver, at, type, uuid: r.id() }
    case 'job.joined_graph': {
      const uuid = r.id()
      const graphUuid = r.idOrNull() as string
      return { seq, v: ver, at, type, uuid, graphUuid, dependsOn: ids(r) }
    }
    case 'job.recovered': {
      const uuid = r.id()
      return { seq, v: ver, at, type, uuid, dead: flag(r) }
    }
    case 'job.run_released': {
      const uuid = r.id()
      return { seq, v: ver, at, type, uuid, run: number(r) }
    }
    case 'jobs.restored':
      return { seq, v: ver, at, type, jobs: readValue(r) as JobView[] }
    case 'jobs.vacuumed':
      return { seq, v: ver, at, type, uuids: ids(r) }
    case 'jobs.removed': {
      const memory = ids(r)
      return { seq, v: ver, at, type, memory, history: ids(r) }
    }
    case 'channel.paused':
    case 'channel.resumed':
      return { seq, v: ver, at, type, channel: r.text() }
    case 'job.progressed': {
      const uuid = r.id()
      const run = number(r)
      const fraction = number(r)
      return { seq, v: ver, at, type, uuid, run, fraction, message: r.str() }
    }
    default:
      return cronOrBatchEvent(r, code, seq, ver, at)
  }
}

/** otherEvent's part for the crons' and batches' events (codes 18 to 24). */
function cronOrBatchEvent(r: BinReader, code: number, seq: number, ver: 1, at: number): WharfEvent {
  const type = CODES[code]
  switch (type) {
    case 'cron.defined': {
      const name = r.text()
      const schedule = r.str() as string
      const tz = r.str() as string
      const catchUp = r.str() as CatchUp
      const job = readValue(r) as CronJob
      return { seq, v: ver, at, type, cron: { name, schedule, tz, catchUp, job }, nextMs: r.num() }
    }
    case 'cron.removed':
      return { seq, v: ver, at, type, name: r.text() }
    case 'cron.paused': {
      const name = r.text()
      if (flag(r)) return { seq, v: ver, at, type: 'cron.resumed', name, nextMs: r.num() }
      return { seq, v: ver, at, type: 'cron.paused', name }
    }
    case 'cron.fired': {
      const name = r.text()
      const fired = readValue(r) as number[]
      return { seq, v: ver, at, type, name, fired, nextMs: r.num() }
    }
    case 'batch.created': {
      const uuid = r.id()
      const name = r.str() as string
      const jobs = ids(r)
      return { seq, v: ver, at, type, uuid, name, jobs, onDone: onDoneSpecs(r, at) }
    }
    case 'batch.done': {
      const uuid = r.id()
      return { seq, v: ver, at, type, uuid, onDone: flag(r) }
    }
    case 'batches.trimmed':
      return { seq, v: ver, at, type, batches: readValue(r) as [string, number, number][] }
    default:
      throw new BodyError(`has unknown event type code ${code}`)
  }
}

function onDoneSpecs(r: BinReader, at: number): JobSpec[] | null {
  const n = r.uint()
  if (n === 0) return null
  if (n - 1 > r.end - r.pos) throw new BodyError(`has ${n - 1} onDone jobs in ${r.end - r.pos} bytes`)
  const specs: JobSpec[] = []
  for (let i = 1; i < n; i++) specs.push(spec(r, at))
  return specs
}
