// Events as rows: the body of a record in format 2 is a JSON array of rows, one per event, each a
// small array by position — [type code, at, fields…] — instead of an object with named fields.
// A record's events are written together, so what they share is not repeated: seq is the record's
// first seq plus the row's index, the event format version is in the header, and `at` is an
// offset from the previous row's (the first row's from 0). The common job's four events take
// about a third of their named JSON's bytes, and stringify and parse faster: log bytes are
// written, then rewritten by every LevelDB compaction, and parsed by every replay.
//
// A row layout belongs to an event format version: when v2 changes an event's fields, rows of
// v1 records are still read with this layout and then upcast (codec.ts). Since format 3 (binary,
// bin-rows-write.ts, which shares these type codes) rows are written only for a batch holding a
// value binary does not (a class instance, a toJSON): tagged JSON keeps it as it always did.

import type { CatchUp, CronJob, JobSpec, WharfEvent } from '../engine/core/events.js'
import type { JobView } from '../engine/core/view.js'
import { packDescription, unpackDescription } from './description.js'
import { contextOrShared } from '../engine/core/empty-context.js'

/** Type codes: stable, they are in every record written. Never renumber; only append. */
export const CODES = [
  'job.created', 'job.eta_reached', 'job.enqueued', 'job.started', 'job.done', 'job.postponed', 'job.failed',
  'job.cancelled', 'job.requeued', 'job.joined_graph', 'job.recovered', 'job.run_released', 'jobs.restored',
  'jobs.vacuumed', 'channel.paused', 'channel.resumed', 'job.progressed', 'jobs.removed',
  'cron.defined', 'cron.removed', 'cron.paused', 'cron.fired', // 20 holds cron.paused and cron.resumed, told apart by a flag
  'batch.created', 'batch.done', 'batches.trimmed',
] as const satisfies readonly WharfEvent['type'][]
export const CODE_OF = new Map<string, number>(CODES.map((type, code) => [type, code]))
CODE_OF.set('cron.resumed', CODE_OF.get('cron.paused')!)

/** The type code a row of event type `type` starts with. */
export const CODE_CREATED = CODE_OF.get('job.created')!
export const CODE_ENQUEUED = CODE_OF.get('job.enqueued')!
export const CODE_STARTED = CODE_OF.get('job.started')!
export const CODE_DONE = CODE_OF.get('job.done')!

/** Fields after [code, at] per code: a row of another length is not one this build wrote. */
const FIELDS = [15, 1, 1, 1, 3, 4, 4, 2, 1, 3, 2, 2, 1, 1, 1, 1, 4, 2, 6, 1, 3, 3, 4, 2, 1] as const

/** job.started has a second layout: a cluster's start, with the worker that runs it (0.3). A
 * build before it refuses such a row (a log it cannot replay faithfully), as it should. */
const STARTED_CODE = CODE_OF.get('job.started')!
const STARTED_ON_FIELDS = 2

/** Why a row is not an event; the codec names the record and seq. */
export class RowError extends Error {}

/** A spec's fields after `code` and `rowAt` (the head of a job.created row), createdAt as an
 * offset from `at`: one array, since every job's first event is one. */
function specRow(code: number, rowAt: number, s: JobSpec, at: number): unknown[] {
  return [
    code, rowAt, s.uuid, s.graphUuid, s.model, s.method, s.records, s.args, s.context, s.priority, s.eta, s.maxRetries,
    packDescription(s.model, s.method, s.description), s.channel, s.identityKey,
    s.dependsOn, s.createdAt - at,
  ]
}

/** The row of `e`, `at` written as an offset from `prevAt`. */
export function toRow(e: WharfEvent, prevAt: number): unknown[] {
  const code = CODE_OF.get(e.type)!
  const at = e.at - prevAt
  switch (e.type) {
    case 'job.created':
      return specRow(code, at, e.job, e.at)
    case 'job.done':
      return [code, at, e.uuid, e.result, e.manual ? 1 : 0]
    case 'job.postponed':
      return [code, at, e.uuid, e.eta, e.message, e.retryAdjust]
    case 'job.failed':
      return [code, at, e.uuid, e.excName, e.excMessage, e.excInfo]
    case 'job.cancelled':
      return [code, at, e.uuid, e.cascade]
    case 'job.joined_graph':
      return [code, at, e.uuid, e.graphUuid, e.dependsOn]
    case 'job.recovered':
      return [code, at, e.uuid, e.dead ? 1 : 0]
    case 'job.run_released':
      return [code, at, e.uuid, e.run]
    case 'jobs.restored':
      return [code, at, e.jobs]
    case 'jobs.vacuumed':
      return [code, at, e.uuids]
    case 'jobs.removed':
      return [code, at, e.memory, e.history]
    case 'channel.paused':
    case 'channel.resumed':
      return [code, at, e.channel]
    case 'job.progressed':
      return [code, at, e.uuid, e.run, e.fraction, e.message]
    case 'cron.defined':
      return [code, at, e.cron.name, e.cron.schedule, e.cron.tz, e.cron.catchUp, e.cron.job, e.nextMs]
    case 'cron.removed':
      return [code, at, e.name]
    case 'cron.paused':
      return [code, at, e.name, 0, null]
    case 'cron.resumed':
      return [code, at, e.name, 1, e.nextMs]
    case 'cron.fired':
      return [code, at, e.name, e.fired, e.nextMs]
    case 'batch.created':
      return [code, at, e.uuid, e.name, e.jobs, e.onDone === null ? null : e.onDone.map((s) => specRow(0, 0, s, e.at).slice(2))]
    case 'batch.done':
      return [code, at, e.uuid, e.onDone ? 1 : 0]
    case 'batches.trimmed':
      return [code, at, e.batches]
    case 'job.started':
      // A cluster's start names its worker in a second field (STARTED_ON_FIELDS); embedded, none.
      return e.node === undefined ? [code, at, e.uuid] : [code, at, e.uuid, e.node]
    default:
      return [code, at, e.uuid]
  }
}

/** The spec of a job.created row (its fields start at r[2]). */
function specOf(r: unknown[], at: number): JobSpec {
  const model = r[4] as string
  const method = r[5] as string
  // Built in the field order of the API's specs, so that both share one object shape.
  return {
    uuid: r[2] as string, graphUuid: r[3] as string | null, model, method, records: r[6] as JobSpec['records'],
    args: r[7] as unknown[], context: contextOrShared(r[8]), priority: r[9] as number, eta: r[10] as number | null,
    maxRetries: r[11] as number, description: unpackDescription(model, method, r[12]),
    channel: r[13] as string, identityKey: r[14] as string | null, dependsOn: r[15] as string[], createdAt: at + (r[16] as number),
  }
}

/**
 * The event of row `r`, at `seq` and format version `v`; `prevAt` is the previous row's time.
 * Checks the row's shape, not its fields' types: evolve's preconditions catch a wrong value.
 */
export function fromRow(r: unknown, seq: number, v: number, prevAt: number): WharfEvent {
  if (!Array.isArray(r) || typeof r[0] !== 'number' || typeof r[1] !== 'number') throw new RowError(`is not a row: ${JSON.stringify(r)?.slice(0, 80)}`)
  const code = r[0]
  const fields = FIELDS[code as keyof typeof FIELDS] as number | undefined
  if (fields === undefined || fields < 0) throw new RowError(`has unknown event type code ${code}`)
  if (r.length !== 2 + fields && !(code === STARTED_CODE && r.length === 2 + STARTED_ON_FIELDS)) throw new RowError(`is a ${CODES[code]} row of ${r.length - 2} fields, not ${fields}`)
  const at = prevAt + r[1]
  const uuid = r[2] as string
  // `v` as stored: a version other than the current one is upcast by the caller. Plain literals in
  // decide's field order, not spreads of a shared base: replay builds one per event, and a spread
  // costs several times a literal.
  const ver = v as 1
  switch (CODES[code]!) {
    case 'job.created':
      return { seq, v: ver, at, type: 'job.created', job: specOf(r, at) }
    case 'job.eta_reached':
      return { seq, v: ver, at, type: 'job.eta_reached', uuid }
    case 'job.enqueued':
      return { seq, v: ver, at, type: 'job.enqueued', uuid }
    case 'job.started':
      return r.length === 2 + STARTED_ON_FIELDS ? { seq, v: ver, at, type: 'job.started', uuid, node: r[3] as string } : { seq, v: ver, at, type: 'job.started', uuid }
    case 'job.done':
      return { seq, v: ver, at, type: 'job.done', uuid, result: r[3], manual: r[4] === 1 }
    case 'job.postponed':
      return { seq, v: ver, at, type: 'job.postponed', uuid, eta: r[3] as number, message: r[4] as string, retryAdjust: r[5] as 0 | -1 }
    case 'job.failed':
      return { seq, v: ver, at, type: 'job.failed', uuid, excName: r[3] as string, excMessage: r[4] as string, excInfo: r[5] as string }
    case 'job.cancelled':
      return { seq, v: ver, at, type: 'job.cancelled', uuid, cascade: r[3] as string[] }
    case 'job.requeued':
      return { seq, v: ver, at, type: 'job.requeued', uuid }
    case 'job.joined_graph':
      return { seq, v: ver, at, type: 'job.joined_graph', uuid, graphUuid: r[3] as string, dependsOn: r[4] as string[] }
    case 'job.recovered':
      return { seq, v: ver, at, type: 'job.recovered', uuid, dead: r[3] === 1 }
    case 'job.run_released':
      return { seq, v: ver, at, type: 'job.run_released', uuid, run: r[3] as number }
    case 'jobs.restored':
      return { seq, v: ver, at, type: 'jobs.restored', jobs: r[2] as JobView[] }
    case 'jobs.vacuumed':
      return { seq, v: ver, at, type: 'jobs.vacuumed', uuids: r[2] as string[] }
    case 'jobs.removed':
      return { seq, v: ver, at, type: 'jobs.removed', memory: r[2] as string[], history: r[3] as string[] }
    case 'channel.paused':
      return { seq, v: ver, at, type: 'channel.paused', channel: r[2] as string }
    case 'channel.resumed':
      return { seq, v: ver, at, type: 'channel.resumed', channel: r[2] as string }
    case 'job.progressed':
      return { seq, v: ver, at, type: 'job.progressed', uuid, run: r[3] as number, fraction: r[4] as number, message: r[5] as string | null }
    default:
      return cronOrBatchOf(CODES[code]!, r, seq, ver, at)
  }
}

/** fromRow's part for the crons' and batches' events (codes 18 to 24). */
function cronOrBatchOf(type: (typeof CODES)[number], r: unknown[], seq: number, ver: 1, at: number): WharfEvent {
  const uuid = r[2] as string
  switch (type) {
    case 'cron.defined': {
      const [, , name, schedule, tz, catchUp, job, nextMs] = r as [number, number, string, string, string, CatchUp, CronJob, number | null]
      return { seq, v: ver, at, type: 'cron.defined', cron: { name, schedule, tz, catchUp, job }, nextMs }
    }
    case 'cron.removed':
      return { seq, v: ver, at, type: 'cron.removed', name: r[2] as string }
    case 'cron.paused':
      if (r[3] === 1) return { seq, v: ver, at, type: 'cron.resumed', name: r[2] as string, nextMs: r[4] as number | null }
      return { seq, v: ver, at, type: 'cron.paused', name: r[2] as string }
    case 'cron.fired':
      return { seq, v: ver, at, type: 'cron.fired', name: r[2] as string, fired: r[3] as number[], nextMs: r[4] as number | null }
    case 'batch.created': {
      // Each onDone spec is a job.created row's fields, without its [code, at].
      const onDone = r[5] === null ? null : (r[5] as unknown[][]).map((row) => specOf([null, null, ...row], at))
      return { seq, v: ver, at, type: 'batch.created', uuid, name: r[3] as string, jobs: r[4] as string[], onDone }
    }
    case 'batch.done':
      return { seq, v: ver, at, type: 'batch.done', uuid, onDone: r[3] === 1 }
    case 'batches.trimmed':
      return { seq, v: ver, at, type: 'batches.trimmed', batches: r[2] as [string, number, number][] }
    default:
      throw new RowError(`has event type ${type}, which fromRow reads itself`)
  }
}
