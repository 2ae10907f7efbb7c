// A record's rows written straight into its bytes (codec.ts encodeBatch): the four events of every
// job's lifecycle (created, enqueued, started, done) go from the event to the JSON of its row
// without the row array toRow builds — those arrays were the largest garbage of a durable tick
// (~400 bytes a job). The bytes are those of JsonBytes.row(toRow(e, prevAt)) — one value() per
// element, commas between, in toRow's order — so the stored format does not change; every other
// event still goes through toRow.

import type { WharfEvent } from '../engine/core/events.js'
import { packDescription } from './description.js'
import { CODE_CREATED, CODE_DONE, CODE_ENQUEUED, CODE_STARTED, toRow } from './event-rows.js'
import type { JsonBytes } from './json-bytes.js'

const OPEN = 0x5b
const CLOSE = 0x5d
const COMMA = 0x2c

/** `[code,at,"uuid"` of a lifecycle row, left open for its other fields. */
function head(w: JsonBytes, code: number, at: number, uuid: string): boolean {
  w.byte(OPEN)
  w.number(code)
  w.byte(COMMA)
  if (!w.number(at)) return false
  w.byte(COMMA)
  w.string(uuid)
  return true
}

/** `,value` (false: as JsonBytes.value()). */
function next(w: JsonBytes, v: unknown): boolean {
  w.byte(COMMA)
  return w.value(v)
}

/** The JSON of `e`'s row (`at` as an offset from `prevAt`) into `w`. False: as JsonBytes.value(),
 * a value it cannot write plainly (the caller takes the general path). */
export function writeRow(w: JsonBytes, e: WharfEvent, prevAt: number): boolean {
  const at = e.at - prevAt
  switch (e.type) {
    case 'job.enqueued':
      if (!head(w, CODE_ENQUEUED, at, e.uuid)) return false
      break
    case 'job.started':
      if (e.node !== undefined) return w.row(toRow(e, prevAt))
      if (!head(w, CODE_STARTED, at, e.uuid)) return false
      break
    case 'job.done':
      if (!head(w, CODE_DONE, at, e.uuid) || !next(w, e.result) || !next(w, e.manual ? 1 : 0)) return false
      break
    case 'job.created': {
      // toRow's specRow: the spec's fields in order, createdAt as an offset from the event's time.
      const s = e.job
      const written =
        head(w, CODE_CREATED, at, s.uuid) && next(w, s.graphUuid) && next(w, s.model) && next(w, s.method) &&
        next(w, s.records) && next(w, s.args) && next(w, s.context) && next(w, s.priority) && next(w, s.eta) &&
        next(w, s.maxRetries) && next(w, packDescription(s.model, s.method, s.description)) && next(w, s.channel) &&
        next(w, s.identityKey) && next(w, s.dependsOn) && next(w, s.createdAt - e.at)
      if (!written) return false
      break
    }
    default:
      return w.row(toRow(e, prevAt))
  }
  w.byte(CLOSE)
  return true
}
