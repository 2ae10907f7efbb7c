// Which members of a cluster run handlers (cluster.ts), from the member rows a heartbeat read.
// A member is alive while its heartbeat is under MEMBER_ALIVE_MS old (older rows are deleted as
// they are read) and its process's session still holds its member lock (a SIGKILLed process's
// session ends at once, so it is found dead within a heartbeat, not MEMBER_ALIVE_MS). A member
// in the scheduler's role is alive only under the current term: one of an older term lost it, and
// is dead too, for its handlers' outcomes can no longer be posted (its engine stopped). A member
// that left cleanly (its stop() ran to its end: every run it launched has ended) launched none of
// the runs still assigned to it: those are refused for it, not recovered as a dead worker's.

import type { Worker } from '../core/workers.js'
import type { MemberState, MemberWork } from '../../storage/pg-cluster.js'

/** What a heartbeat read: the member rows, and the current term. */
export interface Members {
  members: readonly MemberState[]
  /** The workers of the members that left cleanly (PgClusterTables.leave). */
  left: readonly string[]
  term: number
}

/** This member, as it announces itself. */
export interface Self {
  worker: string
  /** Its engine takes work now (started, not stopping or closed). */
  taking: boolean
  functions: ReadonlyMap<string, ReadonlySet<string>>
  slots: number | null
}

/** The work row this member writes with its heartbeat. */
export function workOf(self: Self): MemberWork {
  const functions = self.taking ? [...self.functions].map(([model, methods]): [string, string[]] => [model, [...methods].sort()]).sort((a, b) => (a[0] < b[0] ? -1 : 1)) : null
  return { worker: self.worker, workers: self.slots, functions }
}

/** The other members alive that may still run handlers (taking work or not). */
function liveOthers({ members, term }: Members, self: Self): (MemberState & { work: MemberWork })[] {
  return members.filter(
    (m): m is MemberState & { work: MemberWork } => m.work !== null && m.work.worker !== self.worker && (m.role === 'follower' || m.term === term) && m.locked,
  )
}

/** The workers whose runs a recovery spares: this member's and the live others' (their runs go
 * on), and those that left cleanly (their runs are refused instead: Engine.refuseRunsOf). Every
 * other's are recovered, as a dead process's. */
export function sparedWorkers(known: Members, self: Self): string[] {
  return [self.worker, ...liveOthers(known, self).map((m) => m.work.worker), ...known.left]
}

/**
 * Whether `known` finds some member dead whose row it still shows (its heartbeat recent, its lock
 * free). One read cannot tell that from a clean leave: PostgreSQL reads the rows under the
 * statement's snapshot but pg_locks as they are when scanned, so a read that straddles a leave —
 * the row deleted and the left mark written, then the lock released as its process closes — sees
 * the row from before and the lock from after. A read after it (its snapshot later than this
 * one's scan of the locks) shows the leave: Cluster.confirmedSpared.
 */
export function findsRowsDead(known: Members, self: Self): boolean {
  const spared = sparedWorkers(known, self)
  return known.members.some((m) => m.work !== null && !spared.includes(m.work.worker))
}

/** The workers starts may be assigned to (a scheduler's), in a stable order (by member node). */
export function workerPool(known: Members, self: Self): Worker[] {
  const pool: Worker[] = []
  if (self.taking) pool.push({ id: self.worker, functions: self.functions, slots: self.slots, local: true })
  for (const m of liveOthers(known, self)) {
    if (m.work.functions === null) continue
    pool.push({ id: m.work.worker, functions: new Map(m.work.functions.map(([model, methods]) => [model, new Set(methods)])), slots: m.work.workers })
  }
  return pool
}

/** A text that changes exactly when the pool does (the scheduler ticks again only then). */
export function poolSignature(pool: readonly Worker[]): string {
  return JSON.stringify(pool.map((w) => [w.id, w.slots, [...w.functions].map(([model, methods]) => [model, [...methods].sort()]).sort()]))
}
