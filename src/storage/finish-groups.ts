// History's finish-time index, for autovacuum: one key per group of jobs that finished at the same
// millisecond in the same batch, not one per job — a batch that finishes sixteen jobs writes one
// key here instead of sixteen, on the durable hot path.
//
//   h\0t\0<finished ms, 16 digits>\0<batch seq, 16 digits>   the group's refs, \0\0-separated
//
// A ref is where a job's view is in history (level-history.ts: its escaped place and uuid,
// \0-separated, so it never holds \0\0), which lets a reader fetch the view without a lookup.
// Entries are hints, checked against the views when read: a job that left history (brought back
// to memory, or vacuumed) may still be listed in an old group, and one that finished again is
// listed in a newer group too. Reading skips such stale entries and remembers them with the
// groups it read; the next batch rewrites those groups without them (or deletes them), together
// with the refs the batch itself removes from history. So every job in history is listed in a
// group at its finish time, and groups of jobs long gone do not pile up.

import type { Staging } from './level-history.js'

export const TIME_PREFIX = 'h\x00t\x00'
const DIGITS = 16
/** Groups remembered from reads, awaiting their rewrite: bounded, the oldest are forgotten (they
 * are read and remembered again by the next scan that meets them). */
const REMEMBERED_MAX = 4096

const pad = (n: number): string => String(n).padStart(DIGITS, '0')
const groupKey = (atMs: number, seq: number): string => TIME_PREFIX + pad(atMs) + '\x00' + pad(seq)

const SEPARATOR = '\x00\x00'

/** A job as the index needs it: its ref and finish time. */
export interface Finished {
  ref: string
  atMs: number
}

/** One entry of the index in (finish time, uuid) order: a candidate the caller checks. */
export interface FinishEntry {
  atMs: number
  ref: string
}

/** The escaped uuid of a ref: its last field. Entries of one millisecond are in this order. */
export const uuidOfRef = (ref: string): string => ref.slice(ref.lastIndexOf('\x00') + 1)

const byUuid = (a: FinishEntry, b: FinishEntry): number => {
  const x = uuidOfRef(a.ref)
  const y = uuidOfRef(b.ref)
  return x < y ? -1 : x > y ? 1 : a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0
}

export class FinishGroups {
  /** Groups read by scans, as read (or as last rewritten), oldest first. */
  private readonly remembered = new Map<string, string[]>()
  /** For each ref listed in a remembered group, the groups that list it. */
  private readonly byRef = new Map<string, Set<string>>()
  /** Remembered groups with stale entries, and which. */
  private readonly stale = new Map<string, Set<string>>()

  /** Stage the groups of jobs entering history in the batch with first seq `seq`. */
  stagePuts(batch: Staging, jobs: readonly Finished[], seq: number): void {
    if (jobs.length === 0) return
    const byMs = new Map<number, string[]>()
    for (const job of jobs) {
      const list = byMs.get(job.atMs)
      if (list === undefined) byMs.set(job.atMs, [job.ref])
      else list.push(job.ref)
    }
    for (const [atMs, refs] of byMs) batch.put(groupKey(atMs, seq), Buffer.from(refs.join(SEPARATOR)))
  }

  /** Stage the rewrite of the remembered groups that list a removed ref or a stale one. */
  stageCleanup(batch: Staging, removed: readonly string[]): void {
    if (this.remembered.size === 0) return
    const targets = new Set(this.stale.keys())
    for (const ref of removed) for (const key of this.byRef.get(ref) ?? []) targets.add(key)
    const gone = new Set(removed)
    for (const key of targets) {
      const refs = this.remembered.get(key)!
      const stale = this.stale.get(key)
      const kept = refs.filter((r) => !gone.has(r) && stale?.has(r) !== true)
      this.forget(key)
      if (kept.length === refs.length) continue
      if (kept.length === 0) batch.del(key)
      else {
        batch.put(key, Buffer.from(kept.join(SEPARATOR)))
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
    cursor: { atMs: number; uuid: string } | undefined,
    current: (entries: FinishEntry[]) => Promise<boolean[]>,
  ): Promise<FinishEntry[]> {
    const out: FinishEntry[] = []
    const from = TIME_PREFIX + pad(cursor?.atMs ?? 0)
    const to = Number.isFinite(atMs) ? TIME_PREFIX + pad(Math.max(0, atMs)) + '\x01' : TIME_PREFIX.slice(0, -1) + '\x01'
    let level: { atMs: number; groups: [string, string[]][] } | null = null
    const flush = async (): Promise<void> => {
      if (level === null) return
      const { atMs: ms, groups } = level
      level = null
      const seen = new Set<string>()
      const entries: FinishEntry[] = []
      for (const [, refs] of groups) for (const ref of refs) if (!seen.has(ref)) (seen.add(ref), entries.push({ atMs: ms, ref }))
      entries.sort(byUuid)
      const after = cursor !== undefined && cursor.atMs === ms ? entries.filter((e) => uuidOfRef(e.ref) > cursor.uuid) : entries
      const ok = await current(after)
      const staleRefs = new Set(after.filter((_, i) => !ok[i]).map((e) => e.ref))
      for (const [key, refs] of groups) this.remember(key, refs, staleRefs)
      for (let i = 0; i < after.length && out.length < limit; i++) if (ok[i]) out.push(after[i]!)
    }
    for await (const [key, value] of keysFrom(from, to)) {
      const ms = Number(key.slice(TIME_PREFIX.length, TIME_PREFIX.length + DIGITS))
      if (level !== null && level.atMs !== ms) {
        await flush()
        if (out.length >= limit) return out
      }
      level ??= { atMs: ms, groups: [] }
      level.groups.push([key, Buffer.from(value).toString('utf8').split(SEPARATOR)])
    }
    await flush()
    return out
  }

  private remember(key: string, refs: string[], stale: ReadonlySet<string>): void {
    this.forget(key)
    this.remembered.set(key, refs)
    for (const ref of refs) {
      let keys = this.byRef.get(ref)
      if (keys === undefined) this.byRef.set(ref, (keys = new Set()))
      keys.add(key)
      if (stale.has(ref)) {
        let marked = this.stale.get(key)
        if (marked === undefined) this.stale.set(key, (marked = new Set()))
        marked.add(ref)
      }
    }
    if (this.remembered.size > REMEMBERED_MAX) this.forget(this.remembered.keys().next().value!)
  }

  private forget(key: string): void {
    const refs = this.remembered.get(key)
    if (refs === undefined) return
    this.remembered.delete(key)
    this.stale.delete(key)
    for (const ref of refs) {
      const keys = this.byRef.get(ref)!
      keys.delete(key)
      if (keys.size === 0) this.byRef.delete(ref)
    }
  }
}
