// Which inbox rows the scheduler may apply now (inbox-applier.ts), so that no call is applied twice.
// A call reaches the scheduler two ways: in the NOTIFY of its post, which carries the row, and by a
// read of the inbox (a take: at the poll, or for a post whose row was too large to travel so). Either
// may bring a row the other brought already — even one applied, deleted and committed since:
//
// - A take's snapshot may predate the commit that deleted a row its answer arrives after. A row
//   settled while a take runs is therefore not applied from that take.
// - A notification may be handled after a take saw its row, and after the row was applied. But
//   PostgreSQL queues notifications in commit order and delivers each listener its own in queue
//   order, and the scheduler hears its appends' 'log <last seq>' on the same connection as the
//   posts' notifications. A take sees only committed posts, so a row's notification is queued
//   before that of any append that commits after the row was taken — that is, of any append whose
//   last seq is past the log's end when the row settled (the appends before it had settled by
//   then). Until such an append's notice arrives, a settled row is not applied from a notification.
//
// A row lost with its tick (its batch not written) is left to the next take: its delete was not
// committed, so that take reads it, which the rules above allow. Rows being applied are never
// applied again, whichever way they come.

export class InboxGuard {
  /** Rows being applied: submitted, not yet committed or lost. */
  readonly taken = new Set<number>()
  /** Rows settled while the take under way runs (null: none runs). */
  private settledInTake: Set<number> | null = null
  /** Settled rows whose notification may still come: by the log's last seq when they settled. */
  private readonly settledAt = new Map<number, number>()

  /** A take is sent: what settles until its rows arrive may be among them. */
  takeSent(): void {
    this.settledInTake = new Set()
  }

  /** The take's rows: those that may be applied. */
  takeRows<T extends { id: number }>(rows: readonly T[]): T[] {
    const settled = this.settledInTake ?? new Set<number>()
    this.settledInTake = null
    return rows.filter((row) => !this.taken.has(row.id) && !settled.has(row.id))
  }

  /** A notification's rows: those that may be applied. */
  noticedRows<T extends { id: number }>(rows: readonly T[]): T[] {
    return rows.filter((row) => !this.taken.has(row.id) && !this.settledAt.has(row.id))
  }

  /** Row `id` committed or was lost, the log ending at `lastSeq` as this process knows it. */
  settled(id: number, lastSeq: number): void {
    this.taken.delete(id)
    this.settledInTake?.add(id)
    this.settledAt.set(id, lastSeq)
  }

  /** An append's notice ('log <last seq>') arrived: the notifications of the rows settled before
   * the log passed `lastSeq` were delivered before it. */
  logNoticed(lastSeq: number): void {
    for (const [id, at] of this.settledAt) if (at < lastSeq) this.settledAt.delete(id)
  }
}
