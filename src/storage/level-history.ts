// History in the LevelDB of the event log, beside its records. LevelLog.append writes the ops of a
// HistoryWrite in the same db.batch as the log record, so the two are durable or absent together.
//
// Keys (utf8; every field escaped so that it holds no \x00, and \x00 separates fields):
//   h\0j\0<uuid>                         the final JobView (one format byte + JSON, tagged if needed)
//   h\0i\0<index>\0<field>…\0<uuid>      secondary indexes (empty value): a page of a query walks
//                                        the most selective one in uuid order and filters the rest
//   h\0t\0<finished ms, 16 digits>\0<uuid>   finish-time order, for autovacuum
//   h\0n\0<channel>                      [done, cancelled] counts of that channel, for stats()

import type { JobView } from '../engine/core/view.js'
import { LogCorruptionError } from '../engine/errors.js'
import {
  countInto,
  finishedAtOf,
  matchesHistoryQuery,
  mergeByUuid,
  type FinishedCounts,
  type FinishedCursor,
  type HistoryQuery,
  type HistoryStore,
  type HistoryWrite,
} from './history.js'
import type { Db, Op } from './level-recovery.js'
import { needsTagging, tag, untag } from './tagged-json.js'

const VIEW_PREFIX = 'h\x00j\x00'
const INDEX_PREFIX = 'h\x00i\x00'
const TIME_PREFIX = 'h\x00t\x00'
const COUNT_PREFIX = 'h\x00n\x00'
/** Present once history holds every finished job of the log (from the first event, or migrated). */
export const COMPLETE_KEY = 'h\x00complete'
/** Just past every key that starts with `prefix` (prefixes end with the \x00 separator). */
const end = (prefix: string): string => prefix.slice(0, -1) + '\x01'

const FORMAT_PLAIN = 1
const FORMAT_TAGGED = 2
const TIME_DIGITS = 16
/** Keys read per native round trip when walking an index. */
const SCAN_CHUNK = 128

/**
 * Indexes, most selective first; a query uses the first whose fields it all fixes. Every entry
 * is one more key in the batch that finishes a job, so there are few: a channel-only query merges
 * the channel's two channel+state ranges, and a model-only one walks the views.
 */
const INDEXES: ReadonlyArray<{ name: string; fields: readonly (keyof HistoryQuery & keyof JobView)[] }> = [
  { name: 'k', fields: ['identityKey'] },
  { name: 'g', fields: ['graphUuid'] },
  { name: 'cs', fields: ['channel', 'state'] },
  { name: 'f', fields: ['model', 'method'] },
  { name: 's', fields: ['state'] },
]

/** Order-preserving escape: \x00 -> \x01\x01, \x01 -> \x01\x02, so fields never hold a separator. */
function esc(field: string): string {
  return field.includes('\x00') || field.includes('\x01') ? field.replace(/\x01/g, '\x01\x02').replace(/\x00/g, '\x01\x01') : field
}

function unesc(field: string): string {
  return field.includes('\x01') ? field.replace(/\x01\x01/g, '\x00').replace(/\x01\x02/g, '\x01') : field
}

function indexKeys(view: JobView): string[] {
  const keys: string[] = []
  const uuid = esc(view.uuid)
  for (const index of INDEXES) {
    let key = INDEX_PREFIX + index.name + '\x00'
    let complete = true
    for (const field of index.fields) {
      const value = view[field]
      if (value === null) complete = false
      else key += esc(String(value)) + '\x00'
    }
    if (complete) keys.push(key + uuid)
  }
  keys.push(TIME_PREFIX + String(finishedAtOf(view)).padStart(TIME_DIGITS, '0') + '\x00' + uuid)
  return keys
}

function encodeView(view: JobView): Buffer {
  const tagged = needsTagging(view)
  const body = Buffer.from(JSON.stringify(tagged ? tag(view) : view), 'utf8')
  const out = Buffer.allocUnsafe(body.length + 1)
  out[0] = tagged ? FORMAT_TAGGED : FORMAT_PLAIN
  body.copy(out, 1)
  return out
}

const EMPTY = new Uint8Array(0)

export class LevelHistory implements HistoryStore {
  private readonly perChannel = new Map<string, FinishedCounts>()
  complete = false

  constructor(
    private readonly db: () => Db,
    private readonly path: string,
  ) {}

  /**
   * Read the counts and whether history is complete (LevelLog.open calls this once the db is
   * open). A store with no event and no snapshot starts complete.
   */
  async load(db: Db, emptyLog: boolean, writeOptions: { sync: boolean }): Promise<void> {
    this.complete = (await db.get(COMPLETE_KEY)) !== undefined
    if (!this.complete && emptyLog) {
      await db.put(COMPLETE_KEY, EMPTY, writeOptions)
      this.complete = true
    }
    this.perChannel.clear()
    for await (const [key, value] of db.iterator({ gte: COUNT_PREFIX, lt: end(COUNT_PREFIX) })) {
      const channel = unesc(key.slice(COUNT_PREFIX.length))
      const parsed = this.json(Buffer.from(value).toString('utf8'), `the counts of channel ${JSON.stringify(channel)}`)
      if (!Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((n) => Number.isSafeInteger(n) && n >= 0)) {
        throw this.corrupt(`history counts of channel ${JSON.stringify(channel)} are ${JSON.stringify(parsed)}`)
      }
      this.perChannel.set(channel, { done: parsed[0], cancelled: parsed[1] })
    }
  }

  /** The ops that make `write` durable; pass them in the log record's batch, then commit(). */
  ops(write: HistoryWrite): Op[] {
    const ops: Op[] = []
    for (const view of write.del) {
      ops.push({ type: 'del', key: VIEW_PREFIX + esc(view.uuid) })
      for (const key of indexKeys(view)) ops.push({ type: 'del', key })
    }
    for (const view of write.put) {
      ops.push({ type: 'put', key: VIEW_PREFIX + esc(view.uuid), value: encodeView(view) })
      for (const key of indexKeys(view)) ops.push({ type: 'put', key, value: EMPTY })
    }
    // The counts after this write, for every channel it touches.
    const next = new Map<string, FinishedCounts>()
    for (const view of [...write.del, ...write.put]) {
      const c = this.perChannel.get(view.channel)
      if (!next.has(view.channel)) next.set(view.channel, { done: c?.done ?? 0, cancelled: c?.cancelled ?? 0 })
    }
    const adjusted = new Map(next)
    countInto(adjusted, write.del, -1)
    countInto(adjusted, write.put, 1)
    for (const channel of next.keys()) {
      const c = adjusted.get(channel)
      const key = COUNT_PREFIX + esc(channel)
      if (c === undefined) ops.push({ type: 'del', key })
      else ops.push({ type: 'put', key, value: Buffer.from(JSON.stringify([c.done, c.cancelled])) })
    }
    return ops
  }

  /** The ops that fill an incomplete history, marking it complete in the same batch. */
  initOps(views: readonly JobView[]): Op[] {
    const ops = this.ops({ put: views, del: [] })
    ops.push({ type: 'put', key: COMPLETE_KEY, value: EMPTY })
    return ops
  }

  /** The batch holding initOps(views) is durable. */
  commitInit(views: readonly JobView[]): void {
    this.commit({ put: views, del: [] })
    this.complete = true
  }

  /** The batch holding ops(write) is durable: count it. */
  commit(write: HistoryWrite): void {
    countInto(this.perChannel, write.del, -1)
    countInto(this.perChannel, write.put, 1)
  }

  async get(uuid: string): Promise<JobView | undefined> {
    const bytes = await this.db().get(VIEW_PREFIX + esc(uuid))
    return bytes === undefined ? undefined : this.decode(bytes, uuid)
  }

  async page(q: HistoryQuery): Promise<JobView[]> {
    const index = INDEXES.find((i) => i.fields.every((f) => q[f] !== undefined))
    if (index === undefined && q.channel !== undefined) {
      const [done, cancelled] = await Promise.all([this.page({ ...q, state: 'done' }), this.page({ ...q, state: 'cancelled' })])
      return mergeByUuid(done, cancelled, q.desc, q.limit)
    }
    if (index === undefined) return this.scanViews(q)
    let prefix = INDEX_PREFIX + index.name + '\x00'
    for (const field of index.fields) prefix += esc(String(q[field])) + '\x00'
    const range = this.range(prefix, q)
    const out: JobView[] = []
    const it = this.db().keys({ ...range, reverse: q.desc })
    try {
      while (out.length < q.limit) {
        const keys = await it.nextv(Math.min(SCAN_CHUNK, Math.max(16, 2 * (q.limit - out.length))))
        if (keys.length === 0) break
        const uuids = keys.map((key) => unesc(key.slice(key.lastIndexOf('\x00') + 1)))
        const values = await this.db().getMany(uuids.map((u) => VIEW_PREFIX + esc(u)))
        for (let i = 0; i < values.length && out.length < q.limit; i++) {
          const bytes = values[i]
          if (bytes === undefined) throw this.corrupt(`index ${index.name} names job ${uuids[i]}, which is not in history`)
          const view = this.decode(bytes, uuids[i]!)
          if (matchesHistoryQuery(view, q)) out.push(view)
        }
      }
    } finally {
      await it.close()
    }
    return out
  }

  async finishedUpTo(atMs: number, limit: number, cursor?: FinishedCursor): Promise<JobView[]> {
    const from = cursor === undefined ? TIME_PREFIX : TIME_PREFIX + String(cursor.atMs).padStart(TIME_DIGITS, '0') + '\x00' + esc(cursor.uuid)
    const to = Number.isFinite(atMs) ? TIME_PREFIX + String(Math.max(0, atMs)).padStart(TIME_DIGITS, '0') + '\x01' : end(TIME_PREFIX)
    const keys = await this.db().keys({ ...(cursor === undefined ? { gte: from } : { gt: from }), lt: to, limit }).all()
    const uuids = keys.map((key) => unesc(key.slice(key.lastIndexOf('\x00') + 1)))
    const values = await this.db().getMany(uuids.map((u) => VIEW_PREFIX + esc(u)))
    return values.map((bytes, i) => {
      if (bytes === undefined) throw this.corrupt(`the finish-time index names job ${uuids[i]}, which is not in history`)
      return this.decode(bytes, uuids[i]!)
    })
  }

  counts(): ReadonlyMap<string, FinishedCounts> {
    return this.perChannel
  }

  /** No index fits: walk the views themselves in uuid order. */
  private async scanViews(q: HistoryQuery): Promise<JobView[]> {
    const out: JobView[] = []
    const it = this.db().iterator({ ...this.range(VIEW_PREFIX, q), reverse: q.desc })
    try {
      while (out.length < q.limit) {
        const entries = await it.nextv(SCAN_CHUNK)
        if (entries.length === 0) break
        for (const [key, bytes] of entries) {
          const view = this.decode(bytes, unesc(key.slice(VIEW_PREFIX.length)))
          if (matchesHistoryQuery(view, q) && out.length < q.limit) out.push(view)
        }
      }
    } finally {
      await it.close()
    }
    return out
  }

  /** The key range of `prefix` after the query's cursor, in its order. */
  private range(prefix: string, q: HistoryQuery): { gt?: string; gte?: string; lt?: string; lte?: string } {
    if (q.after === undefined) return { gte: prefix, lt: end(prefix) }
    const cursor = prefix + esc(q.after)
    return q.desc ? { gte: prefix, lt: cursor } : { gt: cursor, lt: end(prefix) }
  }

  private decode(bytes: Uint8Array, uuid: string): JobView {
    const view = this.parse(bytes, `job ${uuid}`) as JobView | null
    if (typeof view !== 'object' || view === null || view.uuid !== uuid) throw this.corrupt(`the history entry of job ${uuid} holds ${JSON.stringify(view)?.slice(0, 100)}`)
    return view
  }

  private parse(bytes: Uint8Array, what: string): unknown {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const format = buf[0]
    if (format !== FORMAT_PLAIN && format !== FORMAT_TAGGED) {
      throw this.corrupt(`the history entry of ${what} has unknown format ${format}`)
    }
    const parsed = this.json(buf.toString('utf8', 1), what)
    return format === FORMAT_TAGGED ? untag(parsed) : parsed
  }

  private json(text: string, what: string): unknown {
    try {
      return JSON.parse(text)
    } catch (error) {
      throw this.corrupt(`the history entry of ${what} is unreadable (${(error as Error).message})`)
    }
  }

  private corrupt(what: string): LogCorruptionError {
    return new LogCorruptionError(`corrupt history in ${JSON.stringify(this.path)}: ${what}`, 0)
  }
}
