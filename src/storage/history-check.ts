// A check of everything history holds (level-history.ts), in bounded steps, of a store nothing
// writes meanwhile (every history key is written in the batch of the log record it projects:
// views, index keys and counts agree at any committed point of a healthy store). LevelDB does not
// verify its table checksums on reads, and a damaged block can read as fewer entries without an
// error; no single range can tell it lost something, but every job is written to three distant
// places — its view, its index keys, its combo's count — so a loss in one shows against the others:
//
// 1. views, in slices: each decoded (CRC) and tallied per combo and state; the index keys it
//    needs are summed per index range (a combo's state, identity keys, graphs, batches): a count and an
//    order-independent digest (the sum of a hash of each key);
// 2. the index ranges, keys only, summed the same way; a key that parses as no index key is named;
// 3. the counts: each combo's stored [done, cancelled] against the views found;
// 4. only where a range's count or digest differs from its views' (damage): its keys are walked
//    again and each one's view looked up (keys naming no view: the jobs whose views were lost),
//    then the views again, looking up their keys in those ranges (views an index lost).
//
// A healthy store costs one sequential read of history and no point lookup. Memory is bounded by
// the index ranges (a few per channel and function), not by history: findings go to a
// HistoryFindings.

import type { JobView } from '../engine/core/view.js'
import type { FinishedCounts } from './history.js'
import { isLevelCorruption } from './level-corruption.js'
import { COMBO_INDEX, comboOf, COUNT_PREFIX, countText, end, INDEX_PREFIX, indexKeys, unesc, VIEW_PREFIX } from './level-history.js'
import type { Db } from './level-recovery.js'
import { decodeView, ViewDecodeError } from './view-codec.js'

/** Views read per step. */
export const CHECK_VIEWS_PER_STEP = 256
/** Index or count keys read per step. */
export const CHECK_KEYS_PER_STEP = 1000

const IDENTITY_INDEX = INDEX_PREFIX + 'k\x00'
const GRAPH_INDEX = INDEX_PREFIX + 'g\x00'
const BATCH_INDEX = INDEX_PREFIX + 'b\x00'

type Walk = { nextv(size: number): Promise<unknown[]>; close(): Promise<void> }

/**
 * Where a check reports what it finds (escaped uuids and keys, as stored). `raw`: the key's bytes,
 * given when they are no UTF-8 text (a garbled key), since its text form names another key.
 */
export interface HistoryFindings {
  /** A view whose bytes are no finished job's view (checksum, JSON, state). */
  damagedView(uuid: string, raw?: Uint8Array): void
  /** A readable view lacks `key`, one of the index keys it needs. */
  missingIndexKey(key: string, uuid: string): void
  /** An index key that no readable view needs: it names a job with no readable view (`hasView`
   * false), or one whose view files it elsewhere, or parses as no index key (`uuid` null). */
  danglingIndexKey(key: string, uuid: string | null, hasView: boolean, raw?: Uint8Array): void
  /** A combo's stored counts (as stored; null: no count key) differ from its views. */
  wrongCount(combo: string, stored: string | null, found: FinishedCounts, raw?: Uint8Array): void
  /** An index range (holding `found` keys) differs from what its views need (`expected` keys),
   * and no key or view could be named for it (LevelDB reads it inconsistently). */
  inconsistentRange(range: string, expected: number, found: number): void
  /** LevelDB failed a read of history with its own corruption error. */
  unreadable(message: string): void
}

/** The index range an index key belongs to, or null when it is no index key Wharf writes. */
export function indexRangeOf(key: string): string | null {
  const last = key.lastIndexOf('\x00')
  if (last === key.length - 1) return null
  if (key.startsWith(COMBO_INDEX)) {
    // COMBO_INDEX channel \0 state \0 model \0 method \0 uuid, the state a finished one.
    const channelEnd = key.indexOf('\x00', COMBO_INDEX.length)
    const stateEnd = key.indexOf('\x00', channelEnd + 1)
    const modelEnd = stateEnd === -1 ? -1 : key.indexOf('\x00', stateEnd + 1)
    const state = key.slice(channelEnd + 1, stateEnd)
    const methodEnd = modelEnd === -1 ? -1 : key.indexOf('\x00', modelEnd + 1)
    return methodEnd === last && (state === 'done' || state === 'cancelled') ? key.slice(0, last + 1) : null
  }
  for (const prefix of [IDENTITY_INDEX, GRAPH_INDEX, BATCH_INDEX]) {
    if (key.startsWith(prefix)) return key.indexOf('\x00', prefix.length) === last ? prefix : null
  }
  return null
}

/** The index range of a key built by indexKeys() (what indexRangeOf says of it, for less). */
const rangeOfBuilt = (key: string): string =>
  key.startsWith(COMBO_INDEX) ? key.slice(0, key.lastIndexOf('\x00') + 1) : key.slice(0, IDENTITY_INDEX.length) // 'k', 'g' or 'b'

const uuidOfIndexKey = (key: string): string => key.slice(key.lastIndexOf('\x00') + 1)

/** Keys are read as bytes: a garbled key may be no UTF-8, and only its bytes can delete it. */
type RawKey = Uint8Array

const utf8 = (text: string): RawKey => Buffer.from(text, 'utf8')

/** A key's text, and its bytes when the text does not stand for them (no valid UTF-8). */
function keyText(raw: RawKey): [text: string, lossy: RawKey | undefined] {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')
  return [text, text.includes('\ufffd') && Buffer.byteLength(text) !== raw.byteLength ? raw : undefined]
}

/** FNV-1a over the key's UTF-16 units: any one changed unit changes it. */
function keyHash(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Keys of one index range: how many, and the sum of their hashes (mod 2^32). */
interface RangeSum {
  count: number
  sum: number
}

function add(sums: Map<string, RangeSum>, range: string, key: string, sign: 1 | -1 = 1): void {
  let s = sums.get(range)
  if (s === undefined) sums.set(range, (s = { count: 0, sum: 0 }))
  s.count += sign
  s.sum = (s.sum + sign * keyHash(key) + 2 ** 32) % 2 ** 32
}

type Phase = 'views' | 'index' | 'counts' | 'keys' | 'unindexed' | 'done'

export class HistoryCheck {
  /** Readable views read (in the first pass), and keys read (every range, every pass). */
  views = 0
  keys = 0
  private phase: Phase = 'views'
  private walk: Walk | null = null
  /** Views found per combo (escaped channel\0model\0method). */
  private readonly combos = new Map<string, FinishedCounts>()
  /** Per index range: the keys its views need, and the keys it holds. */
  private readonly expected = new Map<string, RangeSum>()
  private readonly found = new Map<string, RangeSum>()
  /** Ranges whose keys differ from what their views need, walked by the last two passes. */
  private readonly suspects: string[] = []
  /** The suspect range the keys pass walks. */
  private suspectAt = 0
  private closed = false

  constructor(
    private readonly db: Db,
    private readonly findings: HistoryFindings,
  ) {}

  /** Read and check one slice of history; false once all of it is checked (then it is closed). */
  async step(): Promise<boolean> {
    if (this.closed) return false
    try {
      if (this.phase === 'views') await this.viewsStep()
      else if (this.phase === 'index') await this.indexStep()
      else if (this.phase === 'counts') await this.countsStep()
      else if (this.phase === 'keys') await this.keysStep()
      else if (this.phase === 'unindexed') await this.unindexedStep()
    } catch (error) {
      if (!isLevelCorruption(error)) throw error
      this.findings.unreadable((error as Error).message)
      this.phase = 'done'
    }
    if (this.phase !== 'done') return true
    await this.close()
    return false
  }

  /** Release the iterator (a step must not be running). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.walk?.close()
    this.walk = null
  }

  /** The next slice of a walk (opened on first use); null once it is exhausted (and closed). */
  private async next<T>(open: () => Walk, size: number): Promise<T[] | null> {
    this.walk ??= open()
    const entries = (await this.walk.nextv(size)) as T[]
    this.keys += entries.length
    if (entries.length > 0) return entries
    await this.walk.close()
    this.walk = null
    return null
  }

  private nextViews(): Promise<Array<[RawKey, Uint8Array]> | null> {
    return this.next(() => this.db.iterator<RawKey, Uint8Array>({ gte: utf8(VIEW_PREFIX), lt: utf8(end(VIEW_PREFIX)), keyEncoding: 'view' }), CHECK_VIEWS_PER_STEP)
  }

  private nextKeys(gte: string): Promise<RawKey[] | null> {
    return this.next(() => this.db.keys<RawKey>({ gte: utf8(gte), lt: utf8(end(gte)), keyEncoding: 'view' }), CHECK_KEYS_PER_STEP)
  }

  private async viewsStep(): Promise<void> {
    const entries = await this.nextViews()
    if (entries === null) {
      this.phase = 'index'
      return
    }
    for (const [raw, bytes] of entries) {
      const [key, lossy] = keyText(raw)
      const uuid = key.slice(VIEW_PREFIX.length)
      const view = readView(bytes, uuid)
      if (view === null) {
        this.findings.damagedView(uuid, lossy)
        continue
      }
      this.views++
      const combo = comboOf(view)
      const counts = this.combos.get(combo) ?? { done: 0, cancelled: 0 }
      counts[view.state as 'done' | 'cancelled']++
      this.combos.set(combo, counts)
      for (const k of indexKeys(view, combo)) add(this.expected, rangeOfBuilt(k), k)
    }
  }

  private async indexStep(): Promise<void> {
    const keys = await this.nextKeys(INDEX_PREFIX)
    if (keys === null) {
      for (const range of new Set([...this.found.keys(), ...this.expected.keys()])) {
        const [e, f] = [this.expected.get(range), this.found.get(range)]
        if (e?.count !== f?.count || e?.sum !== f?.sum) this.suspects.push(range)
      }
      this.phase = 'counts'
      return
    }
    for (const raw of keys) {
      const [key, lossy] = keyText(raw)
      const range = lossy === undefined ? indexRangeOf(key) : null
      if (range === null) this.findings.danglingIndexKey(key, null, false, lossy)
      else add(this.found, range, key)
    }
  }

  private async countsStep(): Promise<void> {
    const entries = await this.next<[RawKey, Uint8Array]>(() => this.db.iterator<RawKey, Uint8Array>({ gte: utf8(COUNT_PREFIX), lt: utf8(end(COUNT_PREFIX)), keyEncoding: 'view' }), CHECK_KEYS_PER_STEP)
    if (entries === null) {
      // Combos with views and no count key (the combos seen are removed as their keys are read).
      for (const [combo, found] of this.combos) this.findings.wrongCount(combo, null, found)
      this.combos.clear()
      this.phase = this.suspects.length > 0 ? 'keys' : 'done'
      return
    }
    for (const [raw, bytes] of entries) {
      const [key, lossy] = keyText(raw)
      const combo = key.slice(COUNT_PREFIX.length)
      const found = (lossy === undefined ? this.combos.get(combo) : undefined) ?? { done: 0, cancelled: 0 }
      if (lossy === undefined) this.combos.delete(combo)
      const stored = Buffer.from(bytes).toString('utf8')
      if (stored !== countText(found)) this.findings.wrongCount(combo, stored, found, lossy)
    }
  }

  /** Walk the suspect ranges, one after the other: every key whose view is missing, unreadable
   * or does not need it. Each is taken out of the range's keys, to see what remains unexplained. */
  private async keysStep(): Promise<void> {
    const range = this.suspects[this.suspectAt]!
    const keys = await this.nextKeys(range)
    if (keys === null) {
      if (++this.suspectAt === this.suspects.length) this.phase = 'unindexed'
      return
    }
    // Keys that parse as no index key of this range were named by the index pass.
    const parsed = keys.map((raw) => keyText(raw)).filter(([key, lossy]) => lossy === undefined && indexRangeOf(key) === range).map(([key]) => key)
    const uuids = parsed.map(uuidOfIndexKey)
    const views = await lookUp(this.db, uuids.map((u) => VIEW_PREFIX + u))
    this.keys += uuids.length
    parsed.forEach((key, i) => {
      const view = views[i] === undefined ? null : readView(views[i]!, uuids[i]!)
      if (view !== null && indexKeys(view, comboOf(view)).includes(key)) return
      this.findings.danglingIndexKey(key, uuids[i]!, view !== null)
      add(this.found, range, key, -1)
    })
  }

  /** Read the views again: every key they need in a suspect range that the range lacks. Then a
   * range whose keys still differ from its views' is one no key or view could be named for. */
  private async unindexedStep(): Promise<void> {
    const entries = await this.nextViews()
    if (entries === null) {
      for (const range of this.suspects) {
        const [e, f] = [this.expected.get(range), this.found.get(range)]
        if ((e?.count ?? 0) !== (f?.count ?? 0) || (e?.sum ?? 0) !== (f?.sum ?? 0)) this.findings.inconsistentRange(range, e?.count ?? 0, f?.count ?? 0)
      }
      this.phase = 'done'
      return
    }
    const needed: Array<{ key: string; range: string; uuid: string }> = []
    for (const [raw, bytes] of entries) {
      const uuid = keyText(raw)[0].slice(VIEW_PREFIX.length)
      const view = readView(bytes, uuid)
      if (view === null) continue
      for (const k of indexKeys(view, comboOf(view))) {
        const range = rangeOfBuilt(k)
        if (this.suspects.includes(range)) needed.push({ key: k, range, uuid })
      }
    }
    const present = await lookUp(this.db, needed.map((n) => n.key))
    this.keys += needed.length
    needed.forEach(({ key, range, uuid }, i) => {
      if (present[i] !== undefined) return
      this.findings.missingIndexKey(key, uuid)
      add(this.expected, range, key, -1)
    })
  }
}

/**
 * The values of `keys` (undefined: absent), looked up with one iterator's seeks rather than
 * get(): a get that consults more than one table charges LevelDB's seek statistics, which
 * schedule a compaction of the table — and compacting a damaged table can abort the process
 * (TableBuilder::Add's assertion on keys out of order), in 'truncate''s audit the app's own.
 */
async function lookUp(db: Db, keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
  const out = new Array<Uint8Array | undefined>(keys.length)
  if (keys.length === 0) return out
  const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0))
  const it = db.iterator({ gte: keys[order[0]!]!, lte: keys[order.at(-1)!]! })
  try {
    for (const i of order) {
      it.seek(keys[i]!)
      const entry = await it.next()
      out[i] = entry !== undefined && entry[0] === keys[i] ? entry[1] : undefined
    }
  } finally {
    await it.close()
  }
  return out
}

/** A finished job's view from its stored bytes, or null when they are not one. */
function readView(bytes: Uint8Array, uuid: string): JobView | null {
  let view: JobView
  try {
    view = decodeView(bytes, unesc(uuid))
  } catch (error) {
    if (error instanceof ViewDecodeError) return null
    throw error
  }
  return view.state === 'done' || view.state === 'cancelled' ? view : null
}

/** Run a check to its end (no other writer: the open's audit, verify on a copy). */
export async function checkAll(check: HistoryCheck): Promise<void> {
  while (await check.step());
}
