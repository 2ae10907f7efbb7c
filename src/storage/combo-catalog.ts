// The combos of LevelDB history — each (channel, model, method) that finished jobs have — with
// their counts per finished state, as level-history.ts keeps them. A page filtered by channel,
// state or function walks one composite-index range per matching combo and state (level-history-
// reads.ts), so it must find its combos without parsing every one, and skip those the counts say
// are empty: an app with a channel per tenant has thousands of combos, and a page of done jobs
// read a range of each (2.9 s a page at 20,000 combos).

import type { FinishedCounts } from './history.js'
import { unesc } from './key-escape.js'

const STATES = ['done', 'cancelled'] as const
const NONE: readonly string[] = []

/** A combo's names, unescaped. */
export interface ComboName {
  readonly channel: string
  readonly model: string
  readonly method: string
}

/** Per finished state, over every combo: its jobs, and the combos that have some. */
export interface StateTotals {
  readonly jobs: FinishedCounts
  readonly combos: FinishedCounts
}

/** Counts per combo, and their sums, at one moment. */
export interface ComboCounts extends StateTotals {
  count(combo: string): FinishedCounts | undefined
}

/** The counts at the moment a read was pinned: what changed since is kept as it was then
 * (copy on write: a copy of every combo's counts per read cost 3 ms at 20,000 combos). */
class PinnedCounts implements ComboCounts {
  /** The combos changed since the pin, with their counts before (undefined: not known then). */
  readonly before = new Map<string, FinishedCounts | undefined>()
  readonly jobs: FinishedCounts
  readonly combos: FinishedCounts
  constructor(
    private readonly live: ReadonlyMap<string, FinishedCounts>,
    totals: StateTotals,
  ) {
    this.jobs = { ...totals.jobs }
    this.combos = { ...totals.combos }
  }

  count(combo: string): FinishedCounts | undefined {
    return this.before.has(combo) ? this.before.get(combo) : this.live.get(combo)
  }
}

export class ComboCatalog implements ComboCounts {
  private readonly perCombo = new Map<string, FinishedCounts>()
  /** Every combo ever known, parsed once (only added to, like `byChannel`). */
  private readonly names = new Map<string, ComboName>()
  private readonly byChannel = new Map<string, string[]>()
  private readonly all: string[] = []
  /** The reads pinned now (pin() to release()). */
  private readonly pins = new Set<PinnedCounts>()
  readonly jobs = { done: 0, cancelled: 0 }
  readonly combos = { done: 0, cancelled: 0 }

  get counts(): ReadonlyMap<string, FinishedCounts> {
    return this.perCombo
  }

  count(combo: string): FinishedCounts | undefined {
    return this.perCombo.get(combo)
  }

  /** `combo`'s counts are `c` now (a new object: the one replaced may be held by a read). */
  set(combo: string, c: FinishedCounts): void {
    const was = this.perCombo.get(combo)
    for (const pin of this.pins) if (!pin.before.has(combo)) pin.before.set(combo, was)
    for (const state of STATES) {
      const before = was?.[state] ?? 0
      this.jobs[state] += c[state] - before
      this.combos[state] += Number(c[state] > 0) - Number(before > 0)
    }
    this.perCombo.set(combo, c)
    if (this.names.has(combo)) return
    this.all.push(combo)
    const [channel, model, method] = combo.split('\x00').map(unesc) as [string, string, string]
    this.names.set(combo, { channel, model, method })
    const combos = this.byChannel.get(channel)
    if (combos === undefined) this.byChannel.set(channel, [combo])
    else combos.push(combo)
  }

  /** Forget every combo (the store is loaded again; no read is pinned then). */
  clear(): void {
    this.perCombo.clear()
    this.names.clear()
    this.byChannel.clear()
    this.all.length = 0
    this.pins.clear()
    this.jobs.done = this.jobs.cancelled = this.combos.done = this.combos.cancelled = 0
  }

  /** The counts as they are now, for a read of this moment, until `unpin`. */
  pin(): ComboCounts {
    const pin = new PinnedCounts(this.perCombo, this)
    this.pins.add(pin)
    return pin
  }

  unpin(pin: ComboCounts): void {
    this.pins.delete(pin as PinnedCounts)
  }

  /** The combos of `channel`, or every combo when undefined, in the order they became known. */
  of(channel: string | undefined): readonly string[] {
    return channel === undefined ? this.all : (this.byChannel.get(channel) ?? NONE)
  }

  name(combo: string): ComboName {
    return this.names.get(combo)!
  }
}
