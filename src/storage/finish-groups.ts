// History's finish-time index, for autovacuum: one key per group of jobs that finished at the same
// millisecond in the same batch, not one per job — a batch that finishes sixteen jobs writes one
// key here instead of sixteen, on the durable hot path.
//
//   h\0t\0<finished ms, 16 digits>\0<batch seq, 16 digits>   the group's uuids, \0-separated
//
// Entries are hints, checked against the views when read: a job that left history (brought back
// to memory, or vacuumed) may still be listed in an old group, and one that finished again is
// listed in a newer group too. Reading skips such stale entries and remembers them with the
// groups it read; the next batch rewrites those groups without them (or deletes them), together
// with the uuids the batch itself removes from history. So every job in history is listed in a
// group at its finish time, and groups of jobs long gone do not pile up.

import type { Staging } from './level-history.js'
import { mergedAfter, type SortedGroup } from './finish-merge.js'

export const TIME_PREFIX = 'h\x00t\x00'
const DIGITS = 16
/** Groups remembered from reads, awaiting their rewrite: bounded, the oldest are forgotten (they
 * are read and remembered again by the next scan that meets them). */
const REMEMBERED_MAX = 4096

const pad = (n: number): string => String(n).padStart(DIGITS, '0')
const groupKey = (atMs: number, seq: number): string => TIME_PREFIX + pad(atMs) + '\x00' + pad(seq)

/** A job as the index needs it: its (escaped) uuid and finish time. */
export interface Finished {
  uuid: string
  atMs: number
}

/** One entry of the index in (finish time, uuid) order: a candidate the caller checks. */
export interface FinishEntry {
  atMs: number
  uuid: string
}

/** A group as a scan sorted it, with the size it had (FinishGroups.sortedGroups). */
interface CachedGroup extends SortedGroup {
  readonly bytes: number
}

export class FinishGroups {
  /** The groups of the millisecond the last scan read, for the next scan of it (sortedGroups). */
  private lastLevel: { atMs: number; groups: Map<string, CachedGroup> } | null = null
  /** Groups read by scans, as read (or as last rewritten), oldest first. */
  private readonly remembered = new Map<string, readonly string[]>()
  /** For each uuid listed in a remembered group, the groups that list it. */
  private readonly byUuid = new Map<string, Set<string>>()
  /** Remembered groups with stale entries, and which. */
  private readonly stale = new Map<string, Set<string>>()

  /** Stage the groups of jobs entering history in the batch with first seq `seq`. */
  stagePuts(batch: Staging, jobs: readonly Finished[], seq: number): void {
    if (jobs.length === 0) return
    const byMs = new Map<number, string[]>()
    for (const job of jobs) {
      const list = byMs.get(job.atMs)
      if (list === undefined) byMs.set(job.atMs, [job.uuid])
      else list.push(job.uuid)
    }
    for (const [atMs, uuids] of byMs) batch.put(groupKey(atMs, seq), Buffer.from(uuids.join('\x00')))
  }

  /** Stage the rewrite of the remembered groups that list a removed uuid or a stale one. */
  stageCleanup(batch: Staging, removed: readonly string[]): void {
    if (this.remembered.size === 0) return
    const targets = new Set(this.stale.keys())
    for (const uuid of removed) for (const key of this.byUuid.get(uuid) ?? []) targets.add(key)
    const gone = new Set(removed)
    for (const key of targets) {
      const uuids = this.remembered.get(key)!
      const stale = this.stale.get(key)
      const kept = uuids.filter((u) => !gone.has(u) && stale?.has(u) !== true)
      this.forget(key)
      if (kept.length === uuids.length) continue
      if (kept.length === 0) batch.del(key)
      else {
        batch.put(key, Buffer.from(kept.join('\x00')))
        this.remember(key, kept, new Set())
      }
    }
  }

  /**
   * Up to `limit` entries finished at or before `atMs`, after `cursor`, in (time, uuid) order,
   * each checked with `current` (true: the job is in history with that finish time). Reads the
   * groups of one millisecond at a time, since a millisecond's entries are ordered by uuid.
   */
  async scan(
    keysFrom: (gte: string, lt: string) => AsyncIterable<[string, Uint8Array]>,
    atMs: number,
    limit: number,
    cursor: FinishEntry | undefined,
    current: (entries: FinishEntry[]) => Promise<boolean[]>,
  ): Promise<FinishEntry[]> {
    const out: FinishEntry[] = []
    // Nothing finished before 1970 (a clock within removeAfterDays of it asks for that).
    if (atMs < 0) return out
    const from = TIME_PREFIX + pad(cursor?.atMs ?? 0)
    const to = Number.isFinite(atMs) ? TIME_PREFIX + pad(atMs) + '\x01' : TIME_PREFIX.slice(0, -1) + '\x01'
    let level: { atMs: number; groups: [string, Uint8Array][] } | null = null
    const flush = async (): Promise<void> => {
      if (level === null) return
      const { atMs: ms, groups: raw } = level
      level = null
      const groups = this.sortedGroups(ms, raw)
      const entries = mergedAfter(groups, cursor !== undefined && cursor.atMs === ms ? cursor.uuid : undefined)
      // Checked a page's worth at a time: the jobs a tick finished share one millisecond (tens
      // of thousands, on a FakeClock that stands still), and checking all of them for each page
      // read every view of that millisecond again per page.
      const staleUuids = new Set<string>()
      const touched = new Set<SortedGroup>()
      for (let ended = false; !ended && out.length < limit; ) {
        const chunk: FinishEntry[] = []
        while (chunk.length < limit - out.length) {
          const next = entries.next()
          if (next.done === true) {
            ended = true
            break
          }
          chunk.push({ atMs: ms, uuid: next.value.uuid })
          for (const group of next.value.groups) touched.add(group)
        }
        if (chunk.length === 0) break
        const ok = await current(chunk)
        for (let i = 0; i < chunk.length; i++) {
          if (ok[i]) out.push(chunk[i]!)
          else staleUuids.add(chunk[i]!.uuid)
        }
      }
      // Only the groups that listed a job this scan checked: remembering every group of a big
      // millisecond at every scan made paging through it quadratic.
      for (const group of touched) this.remember(group.key, group.uuids, staleUuids)
    }
    for await (const [key, value] of keysFrom(from, to)) {
      const ms = Number(key.slice(TIME_PREFIX.length, TIME_PREFIX.length + DIGITS))
      if (level !== null && level.atMs !== ms) {
        await flush()
        if (out.length >= limit) return out
      }
      level ??= { atMs: ms, groups: [] }
      level.groups.push([key, value])
    }
    await flush()
    return out
  }

  /**
   * The groups of one millisecond, each with its uuids sorted: a group read as the last scan of
   * that millisecond read it (same key and size: a group is only ever rewritten shorter, or
   * deleted) is taken from it, so that paging through a big millisecond sorts each group once.
   */
  private sortedGroups(atMs: number, raw: readonly [string, Uint8Array][]): SortedGroup[] {
    const last = this.lastLevel?.atMs === atMs ? this.lastLevel.groups : null
    const groups = new Map<string, CachedGroup>()
    for (const [key, value] of raw) {
      const known = last?.get(key)
      if (known !== undefined && known.bytes === value.byteLength) groups.set(key, known)
      else groups.set(key, { key, bytes: value.byteLength, uuids: Buffer.from(value).toString('utf8').split('\x00').sort() })
    }
    this.lastLevel = { atMs, groups }
    return [...groups.values()]
  }

  private remember(key: string, uuids: readonly string[], stale: ReadonlySet<string>): void {
    this.forget(key)
    this.remembered.set(key, uuids)
    for (const uuid of uuids) {
      let keys = this.byUuid.get(uuid)
      if (keys === undefined) this.byUuid.set(uuid, (keys = new Set()))
      keys.add(key)
      if (stale.has(uuid)) {
        let marked = this.stale.get(key)
        if (marked === undefined) this.stale.set(key, (marked = new Set()))
        marked.add(uuid)
      }
    }
    if (this.remembered.size > REMEMBERED_MAX) this.forget(this.remembered.keys().next().value!)
  }

  private forget(key: string): void {
    const uuids = this.remembered.get(key)
    if (uuids === undefined) return
    this.remembered.delete(key)
    this.stale.delete(key)
    for (const uuid of uuids) {
      const keys = this.byUuid.get(uuid)!
      keys.delete(key)
      if (keys.size === 0) this.byUuid.delete(uuid)
    }
  }
}
