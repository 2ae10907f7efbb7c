// What a check of history (history-check.ts) found, said the same way wherever it is told: the
// background scrub's warning and wharf.integrity(), `wharf verify`, and the repair 'truncate'
// makes (which also plans its writes here). Sets grow with the damage found, never with history.

import type { FinishedCounts } from './history.js'
import type { HistoryFindings } from './history-check.js'
import { COMPLETE_KEY, COUNT_PREFIX, countText, unesc, VIEW_PREFIX } from './level-history.js'
import type { Op } from './level-recovery.js'

/** Items of one kind named in a message, at most (the count says how many there are). */
const NAMED_MAX = 20
const EMPTY = new Uint8Array(0)

/** A repair's write: a key that is no UTF-8 text (a garbled one) is deleted by its bytes. */
export type RepairOp = Op | { type: 'del'; key: Uint8Array; keyEncoding: 'view' }

interface WrongCount {
  combo: string
  stored: string | null
  found: FinishedCounts
}

export class HistoryDamage implements HistoryFindings {
  /** Views that cannot be read (escaped uuids). */
  readonly damaged = new Set<string>()
  /** Jobs an index names that have no view, and no damaged one either: lost (escaped uuids). */
  readonly lost = new Set<string>()
  /** Index keys naming a job without a readable view. */
  dangling = 0
  /** Index keys no view needs although they name one, or that parse as no index key (garbled). */
  garbled = 0
  /** Readable views missing from an index (escaped uuids), and the keys they miss. */
  readonly unindexed = new Set<string>()
  missingKeys = 0
  readonly wrongCounts: WrongCount[] = []
  readonly other: string[] = []
  /** The writes that repair it all, when asked for: damaged views and dangling keys deleted,
   * missing index keys put back, counts rewritten from the views. */
  readonly ops: RepairOp[] | null

  constructor(options: { planRepair: boolean }) {
    this.ops = options.planRepair ? [] : null
  }

  damagedView(uuid: string, raw?: Uint8Array): void {
    this.damaged.add(uuid)
    this.ops?.push(del(VIEW_PREFIX + uuid, raw))
  }

  missingIndexKey(key: string, uuid: string): void {
    this.unindexed.add(uuid)
    this.missingKeys++
    this.ops?.push({ type: 'put', key, value: EMPTY })
  }

  danglingIndexKey(key: string, uuid: string | null, hasView: boolean, raw?: Uint8Array): void {
    if (uuid === null || hasView) this.garbled++
    else {
      this.dangling++
      if (!this.damaged.has(uuid)) this.lost.add(uuid)
    }
    this.ops?.push(del(key, raw))
  }

  wrongCount(combo: string, stored: string | null, found: FinishedCounts, raw?: Uint8Array): void {
    this.wrongCounts.push({ combo, stored, found })
    if (found.done === 0 && found.cancelled === 0) this.ops?.push(del(COUNT_PREFIX + combo, raw))
    else this.ops?.push({ type: 'put', key: COUNT_PREFIX + combo, value: Buffer.from(countText(found)) })
  }

  /** History holds entries but not the mark that it is complete (COMPLETE_KEY): an open would
   * take the store for one written before history existed and file its finished jobs again. */
  completeMarkMissing(): void {
    this.other.push(`history holds finished jobs but its completeness mark (key ${JSON.stringify(COMPLETE_KEY)}) is missing`)
    this.ops?.push({ type: 'put', key: COMPLETE_KEY, value: EMPTY })
  }

  inconsistentRange(range: string, expected: number, found: number): void {
    this.other.push(`history index range ${JSON.stringify(range)} differs from what its views need (${found} key(s) for ${expected}), yet no key or view of it could be named: LevelDB reads it inconsistently`)
  }

  unreadable(message: string): void {
    this.other.push(`LevelDB cannot read history: ${message}`)
  }

  /** One line per kind of damage found; empty when there is none. */
  problems(): string[] {
    const out: string[] = []
    if (this.damaged.size > 0) out.push(`${this.damaged.size} finished job view(s) in history are damaged (checksum or JSON): ${listed(this.damaged)}`)
    if (this.lost.size > 0) out.push(`${this.lost.size} finished job(s) named by a history index have no view (lost from history): ${listed(this.lost)}`)
    if (this.dangling > 0) out.push(`${this.dangling} history index key(s) name a job without a readable view`)
    if (this.garbled > 0) out.push(`${this.garbled} history index key(s) are keys no view needs (garbled)`)
    if (this.unindexed.size > 0) {
      out.push(`${this.unindexed.size} finished job(s) in history are missing from a history index (${this.missingKeys} key(s); jobs() filters miss them): ${listed(this.unindexed)}`)
    }
    if (this.wrongCounts.length > 0) out.push(`${this.wrongCounts.length} history count(s) differ from the views in history: ${countsListed(this.wrongCounts)}`)
    return [...out, ...this.other]
  }

  /** What a repair with `ops` did, for the warning of 'truncate'. */
  repairSummary(): string {
    const lost = this.damaged.size === 0 ? 'no view was damaged' : `${this.damaged.size} finished job(s) whose view was damaged are lost from history (${listed(this.damaged)})`
    const missing = this.lost.size === 0 ? '' : ` (${this.lost.size} finished job(s) named by an index have no view: lost from history: ${listed(this.lost)})`
    return (
      `history repaired: ${lost}; ${this.dangling} index key(s) naming a job without a view dropped${missing}; ` +
      `${this.garbled} garbled index key(s) dropped; ${this.missingKeys} index key(s) a view missed put back; ${this.wrongCounts.length} count(s) rewritten` +
      (this.other.length === 0 ? '' : `; ${this.other.join('; ')}`)
    )
  }
}

/** The delete of a key, by its bytes when its text does not stand for them. */
function del(key: string, raw: Uint8Array | undefined): RepairOp {
  return raw === undefined ? { type: 'del', key } : { type: 'del', key: raw, keyEncoding: 'view' }
}

function listed(uuids: Iterable<string>): string {
  const all = [...uuids]
  return all.slice(0, NAMED_MAX).map(unesc).join(', ') + (all.length > NAMED_MAX ? `, and ${all.length - NAMED_MAX} more` : '')
}

function countsListed(counts: readonly WrongCount[]): string {
  const said = counts.slice(0, NAMED_MAX).map(({ combo, stored, found }) => {
    const [channel, model, method] = combo.split('\x00').map(unesc)
    const what = method === undefined ? `key ${JSON.stringify(combo)}` : `channel ${channel}, function ${model}.${method}`
    const pair = stored === null ? null : /^\[(\d+),(\d+)\]$/.exec(stored)
    const claimed = stored === null ? 'no count' : pair === null ? `count ${JSON.stringify(stored.slice(0, 40))}` : `counted ${pair[1]} done, ${pair[2]} cancelled`
    return `${what}: ${claimed}, views ${found.done} done, ${found.cancelled} cancelled`
  })
  return said.join('; ') + (counts.length > NAMED_MAX ? `; and ${counts.length - NAMED_MAX} more` : '')
}
