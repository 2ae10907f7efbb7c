// A snapshot's body in parts. V8 holds no string longer than 2^29 - 24 UTF-16 units (about 512
// MiB), so a snapshot written as one JSON text failed past that size — 140,000 live jobs with 4 KB
// of arguments were enough — and, the backlog lasting, failed again at every later attempt: the
// log was never compacted and each open replayed all of it. Each part is a JSON text of its own,
// bounded whatever the backlog: the snapshot without its jobs first, then the jobs, JOBS_PER_PART
// at a time. The body of a snapshot record in format 2 (codec.ts):
//
//   u32 part count, then per part: u8 flags (bit 0: tagged JSON, tagged-json.ts), u32 byte
//   length, the part's UTF-8 JSON

import { needsTagging, tag, untag } from './tagged-json.js'

/**
 * Jobs per part. A job holds at most a few payloads of PAYLOAD_BYTES_MAX (arguments, context, a
 * failed try's result) and texts bounded by limits.ts, a few MB of JSON at worst: 32 of them stay
 * far below V8's longest string, and for common jobs a part is a few KB, whose parse costs the same
 * per job as one text's.
 */
export const JOBS_PER_PART = 32

const FLAG_TAGGED = 1
const PART_HEADER_BYTES = 5

/** Why a body's parts could not be read; codec.ts names the snapshot and its store. */
export class PartsError extends Error {}

/** The JSON texts of a snapshot body: {formatVersion, state} with the state's jobs left out when
 * it has them (as an empty array), then the jobs in parts. */
export function snapshotTexts(formatVersion: number, state: unknown): SnapshotTexts {
  const out: SnapshotTexts = { texts: [], flags: [] }
  for (const _part of textsOf(formatVersion, state, out));
  return out
}

/** snapshotTexts, letting the event loop turn every `partsPerTurn` parts: a snapshot written
 * behind the ticks (maintenance.ts) is encoded between them, not in one block of a second. */
export async function snapshotTextsInTurns(formatVersion: number, state: unknown, partsPerTurn = PARTS_PER_TURN): Promise<SnapshotTexts> {
  const out: SnapshotTexts = { texts: [], flags: [] }
  let parts = 0
  for (const _part of textsOf(formatVersion, state, out)) if (++parts % partsPerTurn === 0) await new Promise<void>((resolve) => setImmediate(resolve))
  return out
}

/** Parts between two turns of the event loop: 2,048 common jobs, a few ms of encoding. */
const PARTS_PER_TURN = 64

export interface SnapshotTexts {
  texts: string[]
  flags: number[]
}

function* textsOf(formatVersion: number, state: unknown, out: SnapshotTexts): Generator<void> {
  const add = (value: unknown): void => {
    const tagged = needsTagging(value)
    out.texts.push(JSON.stringify(tagged ? tag(value) : value))
    out.flags.push(tagged ? FLAG_TAGGED : 0)
  }
  const jobs = jobsOf(state)
  add({ formatVersion, state: jobs === null ? state : { ...(state as object), jobs: [] } })
  yield
  if (jobs === null) return
  for (let i = 0; i < jobs.length; i += JOBS_PER_PART) {
    add(jobs.slice(i, i + JOBS_PER_PART))
    yield
  }
}

function jobsOf(state: unknown): unknown[] | null {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return null
  const jobs = (state as { jobs?: unknown }).jobs
  return Array.isArray(jobs) ? jobs : null
}

/** The bytes `texts` take as parts, after their count. */
export function partsBytes(texts: readonly string[]): { lengths: number[]; total: number } {
  const lengths = texts.map((text) => Buffer.byteLength(text))
  let total = 4
  for (const length of lengths) total += PART_HEADER_BYTES + length
  return { lengths, total }
}

/** Write the parts into `out` from `at` (partsBytes().total bytes). */
export function writeParts(out: Buffer, at: number, texts: readonly string[], flags: readonly number[], lengths: readonly number[]): void {
  out.writeUInt32BE(texts.length, at)
  let pos = at + 4
  for (let i = 0; i < texts.length; i++) {
    out[pos] = flags[i]!
    out.writeUInt32BE(lengths[i]!, pos + 1)
    out.write(texts[i]!, pos + PART_HEADER_BYTES, 'utf8')
    pos += PART_HEADER_BYTES + lengths[i]!
  }
}

/** The {formatVersion, state} of a body in parts (`buf` from `start` to its end), its jobs put
 * back in order. Trusts nothing: a PartsError says what is wrong. */
export function readParts(buf: Buffer, start: number): unknown {
  let at = start
  const need = (bytes: number, what: string): void => {
    if (at + bytes > buf.length) throw new PartsError(`${what} runs past the end of the body`)
  }
  need(4, 'the part count')
  const count = buf.readUInt32BE(at)
  at += 4
  if (count === 0) throw new PartsError('it has no part')
  let body: unknown = null
  let jobs: unknown[] = []
  for (let i = 0; i < count; i++) {
    need(PART_HEADER_BYTES, `part ${i}'s header`)
    const flags = buf[at]!
    const length = buf.readUInt32BE(at + 1)
    at += PART_HEADER_BYTES
    need(length, `part ${i}`)
    if ((flags & ~FLAG_TAGGED) !== 0) throw new PartsError(`part ${i} has unknown flags ${flags}`)
    let value: unknown
    try {
      value = JSON.parse(buf.toString('utf8', at, at + length))
      if (flags & FLAG_TAGGED) value = untag(value)
    } catch (error) {
      throw new PartsError(`part ${i} is unreadable (${(error as Error).message})`)
    }
    at += length
    if (i === 0) {
      body = value
      const state = (value as { state?: unknown } | null)?.state
      const first = jobsOf(state)
      if (count > 1 && first === null) throw new PartsError(`it has ${count - 1} parts of jobs but its state holds no jobs`)
      jobs = first ?? jobs
      continue
    }
    if (!Array.isArray(value)) throw new PartsError(`part ${i} is not an array of jobs`)
    for (let j = 0; j < value.length; j++) jobs.push(value[j])
  }
  if (at !== buf.length) throw new PartsError(`${buf.length - at} bytes follow its last part`)
  return body
}
