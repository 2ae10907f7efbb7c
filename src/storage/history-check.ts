// A check of everything history holds (level-history.ts), in bounded steps, through one LevelDB
// snapshot: one committed point, whole batches only, so appends and vacuums may go on meanwhile
// (every history key is written in the batch of the log record it projects: views, index keys
// and counts always agree at any committed point of a healthy store). LevelDB does not verify its
// table checksums on reads, and a damaged block can read as fewer entries without an error; no
// single range can tell it lost something, but every job is written to three distant places —
// its view, its index keys, its combo's count — so a loss in one shows against the others:
//
// 1. views, in slices: each decoded (CRC), tallied per combo and state, and its index keys
//    looked up (hasMany) — a view missing from an index is named;
// 2. the index ranges, keys only: counted per range (a combo's state, identity keys, graphs);
//    a key that parses as no index key is named;
// 3. the counts: each combo's stored [done, cancelled] against the views found;
// 4. a range holding more keys than its views account for holds keys naming no view (the jobs
//    whose views were lost): only those ranges are walked again, looking each key's view up.
//
// Memory is bounded by the combos, not by history: what is found goes to a HistoryFindings.

import type { FinishedCounts } from './history.js'
import { COMBO_INDEX, comboOf, COUNT_PREFIX, countText, end, INDEX_PREFIX, indexKeys, unesc, VIEW_PREFIX } from './level-history.js'
import type { Db } from './level-recovery.js'
import { decodeView, ViewDecodeError } from './view-codec.js'
import type { JobView } from '../engine/core/view.js'

/** Views read per step (each also looks up its one to three index keys). */
export const CHECK_VIEWS_PER_STEP = 256
/** Index or count keys read per step. */
export const CHECK_KEYS_PER_STEP = 1000

const IDENTITY_INDEX = INDEX_PREFIX + 'k\x00'
const GRAPH_INDEX = INDEX_PREFIX + 'g\x00'

type Snapshot = ReturnType<Db['snapshot']>
type Walk = { nextv(size: number): Promise<unknown[]>; close(): Promise<void> }

/** Where a check reports what it finds (escaped uuids and keys, as stored). */
export interface HistoryFindings {
  /** A view whose bytes are no finished job's view (checksum, JSON, state). */
  damagedView(uuid: string): void
  /** A readable view lacks `key`, one of the index keys it needs. */
  missingIndexKey(key: string, uuid: string): void
  /** An index key naming no readable view (`uuid`), or one that parses as no index key (null). */
  danglingIndexKey(key: string, uuid: string | null): void
  /** A combo's stored counts (as stored; null: no count key) differ from its views. */
  wrongCount(combo: string, stored: string | null, found: FinishedCounts): void
  /** An index range holds `found` keys where its views need `expected`, and a walk of it could
   * not say which keys are wrong (LevelDB reads the range inconsistently). */
  inconsistentRange(range: string, expected: number, found: number): void
  /** LevelDB failed a read of history with its own corruption error. */
  unreadable(message: string): void
}

/** The index range an index key belongs to (a combo's state, identity keys, graphs), or null when
 * it is no index key Wharf writes. */
export function indexRangeOf(key: string): string | null {
  if (key.startsWith(COMBO_INDEX)) {
    const fields = key.slice(COMBO_INDEX.length).split('\x00')
    const ok = fields.length === 5 && (fields[1] === 'done' || fields[1] === 'cancelled') && fields[4] !== ''
    return ok ? key.slice(0, key.lastIndexOf('\x00') + 1) : null
  }
  for (const prefix of [IDENTITY_INDEX, GRAPH_INDEX]) {
    if (key.startsWith(prefix)) return key.slice(prefix.length).split('\x00').length === 2 && !key.endsWith('\x00') ? prefix : null
  }
  return null
}

const uuidOfIndexKey = (key: string): string => key.slice(key.lastIndexOf('\x00') + 1)

type Phase = 'views' | 'index' | 'counts' | 'dangling' | 'done'

export class HistoryCheck {
  /** Readable views read, and keys read (every range). */
  views = 0
  keys = 0
  private phase: Phase = 'views'
  private walk: Walk | null = null
  /** Views found per combo (escaped channel\0model\0method). */
  private readonly combos = new Map<string, FinishedCounts>()
  /** Per index range: keys its views need that were found, and keys the range holds. */
  private readonly expected = new Map<string, number>()
  private readonly found = new Map<string, number>()
  /** Ranges holding more (or fewer) keys than their views need: walked for the keys naming no view. */
  private suspects: Array<{ range: string; expected: number; found: number; named: number }> = []
  private closed = false

  /** `snapshot`: read through it (and close it when done); null: read the db as it is (nothing
   * may write meanwhile). */
  constructor(
    private readonly db: Db,
    private readonly snapshot: Snapshot | null,
    private readonly findings: HistoryFindings,
  ) {}

  get finished(): boolean {
    return this.phase === 'done'
  }

  /** Read and check one slice of history; false once all of it is checked (then it is closed). */
  async step(): Promise<boolean> {
    if (this.closed) return false
    try {
      if (this.phase === 'views') await this.viewsStep()
      else if (this.phase === 'index') await this.indexStep()
      else if (this.phase === 'counts') await this.countsStep()
      else if (this.phase === 'dangling') await this.danglingStep()
    } catch (error) {
      if ((error as { code?: unknown })?.code !== 'LEVEL_CORRUPTION') throw error
      this.findings.unreadable((error as Error).message)
      this.phase = 'done'
    }
    if (this.phase !== 'done') return true
    await this.close()
    return false
  }

  /** Release the iterator and the snapshot (a step must not be running). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.walk?.close()
    this.walk = null
    await this.snapshot?.close()
  }

  /** Read `range` from where the last step left it; null once it is exhausted (and closed). */
  private async next<T>(open: () => Walk, size: number): Promise<T[] | null> {
    this.walk ??= open()
    const entries = (await this.walk.nextv(size)) as T[]
    this.keys += entries.length
    if (entries.length > 0) return entries
    await this.walk.close()
    this.walk = null
    return null
  }

  private range(gte: string, lt: string): { gte: string; lt: string; snapshot?: Snapshot } {
    return this.snapshot === null ? { gte, lt } : { gte, lt, snapshot: this.snapshot }
  }

  private async viewsStep(): Promise<void> {
    const entries = await this.next<[string, Uint8Array]>(() => this.db.iterator(this.range(VIEW_PREFIX, end(VIEW_PREFIX))), CHECK_VIEWS_PER_STEP)
    if (entries === null) {
      this.phase = 'index'
      return
    }
    const needed: string[] = []
    const owners: string[] = []
    for (const [key, bytes] of entries) {
      const uuid = key.slice(VIEW_PREFIX.length)
      const view = readView(bytes, uuid)
      if (view === null) {
        this.findings.damagedView(uuid)
        continue
      }
      this.views++
      const combo = comboOf(view)
      const counts = this.combos.get(combo) ?? { done: 0, cancelled: 0 }
      counts[view.state as 'done' | 'cancelled']++
      this.combos.set(combo, counts)
      for (const k of indexKeys(view, combo)) (needed.push(k), owners.push(uuid))
    }
    const present = needed.length === 0 ? [] : await this.db.hasMany(needed, this.snapshot === null ? {} : { snapshot: this.snapshot })
    this.keys += needed.length
    for (let i = 0; i < needed.length; i++) {
      if (present[i]) bump(this.expected, indexRangeOf(needed[i]!)!)
      else this.findings.missingIndexKey(needed[i]!, owners[i]!)
    }
  }

  private async indexStep(): Promise<void> {
    const keys = await this.next<string>(() => this.db.keys(this.range(INDEX_PREFIX, end(INDEX_PREFIX))), CHECK_KEYS_PER_STEP)
    if (keys === null) {
      for (const range of new Set([...this.found.keys(), ...this.expected.keys()])) {
        const [expected, found] = [this.expected.get(range) ?? 0, this.found.get(range) ?? 0]
        if (expected !== found) this.suspects.push({ range, expected, found, named: 0 })
      }
      this.phase = 'counts'
      return
    }
    for (const key of keys) {
      const range = indexRangeOf(key)
      if (range === null) this.findings.danglingIndexKey(key, null)
      else bump(this.found, range)
    }
  }

  private async countsStep(): Promise<void> {
    const entries = await this.next<[string, Uint8Array]>(() => this.db.iterator(this.range(COUNT_PREFIX, end(COUNT_PREFIX))), CHECK_KEYS_PER_STEP)
    if (entries === null) {
      // Combos with views and no count key (the combos seen are removed as their keys are read).
      for (const [combo, found] of this.combos) this.findings.wrongCount(combo, null, found)
      this.combos.clear()
      this.phase = this.suspects.length > 0 ? 'dangling' : 'done'
      return
    }
    for (const [key, bytes] of entries) {
      const combo = key.slice(COUNT_PREFIX.length)
      const found = this.combos.get(combo) ?? { done: 0, cancelled: 0 }
      this.combos.delete(combo)
      const stored = Buffer.from(bytes).toString('utf8')
      if (stored !== countText(found)) this.findings.wrongCount(combo, stored, found)
    }
  }

  /** Walk the first suspect range: every key whose view is missing, unreadable or elsewhere. */
  private async danglingStep(): Promise<void> {
    const suspect = this.suspects[0]!
    const keys = await this.next<string>(() => this.db.keys(this.range(suspect.range, end(suspect.range))), CHECK_KEYS_PER_STEP)
    if (keys === null) {
      if (suspect.expected + suspect.named !== suspect.found) this.findings.inconsistentRange(suspect.range, suspect.expected, suspect.found)
      this.suspects.shift()
      if (this.suspects.length === 0) this.phase = 'done'
      return
    }
    const parsed = keys.filter((key) => indexRangeOf(key) !== null) // the others were named already
    const uuids = parsed.map(uuidOfIndexKey)
    const views = await this.db.getMany(uuids.map((u) => VIEW_PREFIX + u), this.snapshot === null ? {} : { snapshot: this.snapshot })
    this.keys += uuids.length
    parsed.forEach((key, i) => {
      const view = views[i] === undefined ? null : readView(views[i]!, uuids[i]!)
      if (view !== null && indexKeys(view, comboOf(view)).includes(key)) return
      this.findings.danglingIndexKey(key, uuids[i]!)
      suspect.named++
    })
  }
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

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}

/** Run a check to its end (no other writer: the open's audit, verify on a copy). */
export async function checkAll(check: HistoryCheck): Promise<void> {
  while (await check.step());
}
