// The stored form of a finished job in history. Every finished job is written once, in the batch
// that finishes it, so its bytes are on the durable hot path: a JSON array by position (no field
// names, no uuid — the key holds it — times after createdAt as offsets, the default description
// and the derived execTimeMs left out) is about a quarter of the named JobView's ~480 bytes.
// One format byte comes first; tagged JSON (tagged-json.ts) only when a value needs it. Since
// formats 5 and 6, a CRC32 of the uuid and the JSON follows it: LevelDB does not check its table
// checksums on reads (classic-level cannot ask it to), so a flipped byte in a table would
// otherwise change a finished job's view without an error. Formats 7 and 8 (0.2, with progress)
// are 5 and 6 with the job's progress as [fraction, message] after the 25 fields, left out when it
// is null and no execution time follows. Formats 9 and 10 (0.2, with batches) are 7 and 8 with
// the job's batch uuid after the progress and before an execution time of its own (trailing nulls
// left out as before). Formats 11 and 12 (0.3, clusters) are 9 and 10 with JobView.node, the
// member the latest try ran on, after the batch uuid (trailing nulls left out as before). Formats
// 3 to 10 are still read (progress, batch and node null where absent).

import { JobRecord } from '../engine/core/state.js'
import { frozenProgress, type JobView } from '../engine/core/view.js'
import { channelOf, type FinishedJob } from './history.js'
import { packDescription, unpackDescription } from './description.js'
import { needsTagging, tag, untag } from './tagged-json.js'

import { crc32From, crc32Text } from './crc32.js'
import { JsonBytes } from './json-bytes.js'

const FORMAT_POSITIONAL = 3
const FORMAT_POSITIONAL_TAGGED = 4
const FORMAT_CHECKED = 5
const FORMAT_CHECKED_TAGGED = 6
const FORMAT_PROGRESS = 7
const FORMAT_PROGRESS_TAGGED = 8
const FORMAT_BATCH = 9
const FORMAT_BATCH_TAGGED = 10
const FORMAT_NODE = 11
const FORMAT_NODE_TAGGED = 12
/** Fields every positional view has; progress, batch, node and an own execution time may follow. */
const BASE_FIELDS = 25
/** Format byte, then the CRC32 (u32 big-endian) in the checked formats. */
const CHECKED_HEADER_BYTES = 5

/** The checksum of a checked view: its key's uuid too, so a view moved under another key is seen. */
/** `bytes` from `start` are the JSON. */
const viewCrc = (uuid: string, bytes: Uint8Array, start: number): number => crc32From(bytes, start, crc32Text(uuid))


/** Why a stored view could not be read; the caller names the store and the job. */
export class ViewDecodeError extends Error {}

const offset = (at: number | null, from: number): number | null => (at === null ? null : at - from)
const absolute = (at: unknown, from: number): number | null => (at === null ? null : from + (at as number))

function execTimeOf(view: Pick<JobView, 'state' | 'startedAt' | 'doneAt'>): number | null {
  return view.doneAt !== null && view.startedAt !== null && view.state === 'done' ? view.doneAt - view.startedAt : null
}

const NO_UUIDS: readonly string[] = Object.freeze([])
const uuidsOf = (jobs: readonly JobRecord[]): readonly string[] => (jobs.length === 0 ? NO_UUIDS : jobs.map((j) => j.uuid))

/** Where every encodeView puts the positional fields: filled in place, then cleared, so that a job
 * costs no array (with its growth, it was most of the encoder's garbage). */
const fields: unknown[] = new Array<unknown>(BASE_FIELDS + 4).fill(null)

/** Put the positional fields of a finished job's view in `fields` (read straight from the core's
 * record when it is one); returns how many there are. */
function fillFields(job: FinishedJob): number {
  const record = job instanceof JobRecord
  const c = job.createdAt
  const f = fields
  f[0] = job.graphUuid
  f[1] = job.model
  f[2] = job.method
  f[3] = job.records
  f[4] = job.args
  f[5] = job.context
  f[6] = job.state
  f[7] = job.priority
  f[8] = job.eta
  f[9] = job.maxRetries
  f[10] = job.retry
  f[11] = packDescription(job.model, job.method, job.description)
  f[12] = channelOf(job)
  f[13] = job.identityKey
  f[14] = record ? uuidsOf(job.parents) : job.dependsOn
  f[15] = record ? uuidsOf(job.children) : job.dependents
  f[16] = job.result
  f[17] = job.excName
  f[18] = job.excMessage
  f[19] = job.excInfo
  f[20] = c
  f[21] = offset(job.enqueuedAt, c)
  f[22] = offset(job.startedAt, c)
  f[23] = offset(job.doneAt, c)
  f[24] = offset(job.cancelledAt, c)
  const progress = job.progress ?? null
  f[25] = progress === null ? null : [progress.fraction, progress.message]
  f[26] = record ? (job.batch?.uuid ?? null) : (job.batchUuid ?? null)
  f[27] = job.node ?? null
  // Only a view built some other way than toJobView carries another execution time: keep it.
  if (!record && job.execTimeMs !== execTimeOf(job)) {
    f[28] = job.execTimeMs
    return BASE_FIELDS + 4
  }
  // Trailing nulls after the 25 fields are left out.
  return f[27] !== null ? BASE_FIELDS + 3 : f[26] !== null ? BASE_FIELDS + 2 : f[25] !== null ? BASE_FIELDS + 1 : BASE_FIELDS
}

/** Forget the job whose fields were filled (they hold its payloads). */
function clearFields(): void {
  for (let i = 0; i < fields.length; i++) fields[i] = null
}

/** The stored form of a finished job: written byte by byte (json-bytes.ts) when its values allow,
 * else through tagged JSON; the bytes are the same either way. */
export function encodeView(job: FinishedJob): Buffer {
  try {
    const count = fillFields(job)
    return written(count, job.uuid) ?? stringified(fields.slice(0, count), job.uuid)
  } finally {
    clearFields()
  }
}

/** encodeView through JSON.stringify alone: what every view was encoded with before json-bytes.ts
 * (its test checks that both give the same bytes). */
export function encodeViewStringified(job: FinishedJob): Buffer {
  try {
    return stringified(fields.slice(0, fillFields(job)), job.uuid)
  } finally {
    clearFields()
  }
}

const writer = new JsonBytes()

/** The view in format FORMAT_NODE, or null when a value needs tagging or is not plain data. */
function written(count: number, uuid: string): Buffer | null {
  const w = writer
  w.reset(CHECKED_HEADER_BYTES)
  if (!w.row(fields, count)) return null
  const out = w.copy()
  out[0] = FORMAT_NODE
  out.writeUInt32BE(viewCrc(uuid, out, CHECKED_HEADER_BYTES), 1)
  return out
}

function stringified(fields: unknown[], uuid: string): Buffer {
  const tagged = needsTagging(fields)
  const text = JSON.stringify(tagged ? tag(fields) : fields)
  const out = Buffer.allocUnsafe(Buffer.byteLength(text) + CHECKED_HEADER_BYTES)
  out[0] = tagged ? FORMAT_NODE_TAGGED : FORMAT_NODE
  out.write(text, CHECKED_HEADER_BYTES, 'utf8')
  out.writeUInt32BE(viewCrc(uuid, out, CHECKED_HEADER_BYTES), 1)
  return out
}

/** The view stored under `uuid`; throws ViewDecodeError when the bytes are not one. */
export function decodeView(bytes: Uint8Array, uuid: string): JobView {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const format = buf[0]!
  if (!(format >= FORMAT_POSITIONAL && format <= FORMAT_NODE_TAGGED)) throw new ViewDecodeError(`unknown format ${format}`)
  const checked = format >= FORMAT_CHECKED
  const withProgress = format >= FORMAT_PROGRESS
  const withBatch = format >= FORMAT_BATCH
  const withNode = format >= FORMAT_NODE
  const start = checked ? CHECKED_HEADER_BYTES : 1
  if (checked && (buf.length < start || buf.readUInt32BE(1) !== viewCrc(uuid, buf, start))) throw new ViewDecodeError('damaged (checksum mismatch)')
  let parsed: unknown
  try {
    parsed = JSON.parse(buf.toString('utf8', start))
  } catch (error) {
    throw new ViewDecodeError(`unreadable (${(error as Error).message})`)
  }
  // Every tagged format is even, the plain one before it odd (3/4 … 11/12).
  const tagged = format % 2 === 0
  const f = (tagged ? untag(parsed) : parsed) as unknown[]
  const optional = (withProgress ? 1 : 0) + (withBatch ? 1 : 0) + (withNode ? 1 : 0) + 1
  const batchUuid = withBatch && Array.isArray(f) ? f[BASE_FIELDS + 1] : null
  const node = withNode && Array.isArray(f) ? f[BASE_FIELDS + 2] : null
  if (!Array.isArray(f) || f.length < BASE_FIELDS || f.length > BASE_FIELDS + optional || typeof f[20] !== 'number' || !progressShaped(withProgress ? f[25] : null) || !textOrAbsent(batchUuid) || !textOrAbsent(node)) {
    throw new ViewDecodeError(`holds ${JSON.stringify(f)?.slice(0, 100)}`)
  }
  const c = f[20]
  const model = f[1] as string
  const method = f[2] as string
  const view: JobView = {
    uuid, graphUuid: f[0] as string | null, model, method, records: f[3] as JobView['records'], args: f[4] as unknown[],
    context: f[5] as Record<string, unknown>, state: f[6] as JobView['state'], priority: f[7] as number,
    eta: f[8] as number | null, maxRetries: f[9] as number, retry: f[10] as number,
    description: unpackDescription(model, method, f[11]),
    channel: f[12] as string, identityKey: f[13] as string | null, dependsOn: f[14] as string[], dependents: f[15] as string[],
    result: f[16], excName: f[17] as string | null, excMessage: f[18] as string | null, excInfo: f[19] as string | null,
    createdAt: c, enqueuedAt: absolute(f[21], c), startedAt: absolute(f[22], c), doneAt: absolute(f[23], c),
    cancelledAt: absolute(f[24], c), execTimeMs: null, progress: null, node: (node as string | null | undefined) ?? null, batchUuid: (batchUuid as string | null | undefined) ?? null,
  }
  const execAt = BASE_FIELDS + optional - 1
  view.execTimeMs = f.length > execAt ? (f[execAt] as number | null) : execTimeOf(view)
  const progress = withProgress ? (f[25] as [number, string | null] | null | undefined) : null
  if (progress !== undefined && progress !== null) view.progress = frozenProgress(progress[0], progress[1])
  return view
}

/** A stored batch uuid or node: absent, null, or a string. */
const textOrAbsent = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string'

/** A stored progress: absent, null, or [fraction, message]. */
function progressShaped(p: unknown): boolean {
  return p === undefined || p === null || (Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && (p[1] === null || typeof p[1] === 'string'))
}
