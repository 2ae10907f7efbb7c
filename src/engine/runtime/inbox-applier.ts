// The scheduler's side of the inbox (cluster.ts): followers' calls come in the notifications of
// their posts (noticed()), or are taken in id order (a poke: the cluster's poll, or a post whose
// calls were too large to travel so), and are submitted to the engine like local calls, so they
// are decided in its ticks, in order with everything else — identity keys stay atomic across the
// cluster. Whichever way a row comes, it is applied once (inbox-guard.ts). The batch of the tick that
// decided a call deletes its inbox row and writes its reply in the same transaction (stage(),
// PgLog.stageWithAppend): applied exactly once, answered exactly when committed. A tick that is
// lost leaves its rows in the inbox, and they are taken again; a deposed scheduler's are taken by
// the next one.

import type { Command } from '../core/commands.js'
import type { DecideNote } from '../core/decide.js'
import type { InboxRow, Reply } from '../../storage/pg-cluster.js'
import type { AppendStage } from '../../storage/pg-log.js'
import type { DecidedTick } from '../../storage/event-log.js'
import { decodeCall, encodeAnswer, NO_REPLY_NAME, NO_RESULT_NAME, type Answer, type ResultTable } from './cluster-wire.js'
import { answerFailure, type ResultOf, type TakenCalls } from './submissions.js'
import { Coalesced } from './coalesced.js'
import { InboxGuard } from './inbox-guard.js'

/** Calls taken at most at once (being decided or appended): the rest wait in the inbox. */
export const INBOX_TAKEN_MAX = 1024

export interface InboxApplierDeps {
  take(taken: readonly number[], limit: number): Promise<InboxRow[]>
  submit(command: Command, result: ResultOf<unknown> | undefined): Promise<unknown>
  /** Refuse a row that holds no call this build can apply (written by another version). */
  refuse(row: InboxRow, error: unknown): Promise<void>
  /** Delete the rows, and write the replies of those that have one (body null: none). */
  stage(tx: Parameters<AppendStage>[0], replies: Reply[], seq: number): ReturnType<AppendStage>
  /** Write `stage` in a fenced transaction of its own: the answers of a tick that appended nothing. */
  writeAlone(stage: AppendStage): Promise<void>
  /** The log's last seq as this process knows it committed. */
  lastSeq(): number
  results: ResultTable
  warn(message: string): void
}

interface Origin {
  id: number
  node: string
  /** The caller's token for the call: its reply carries it back. */
  token: number | null
  /** False: posted without a reply (an outcome, progress): its row is deleted, nothing written. */
  reply: boolean
}

export class InboxApplier {
  /** Ids of calls submitted and not yet committed or lost, and which rows may be applied. */
  private readonly guard = new InboxGuard()
  private readonly origins = new WeakMap<Command, Origin>()
  /** Commands whose tick had a batch to append: their answers went (or go) with it. */
  private readonly appended = new WeakSet<Command>()
  private readonly taking = new Coalesced(() => this.takeRound(), () => this.stopped)
  private stopped = false

  constructor(private readonly deps: InboxApplierDeps) {}

  /** Take what waits in the inbox (a notification or the cluster's poll). Coalesced. */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return this.taking.run()
  }

  /** The rows a post's notification carried, applied at once (unless brought already). */
  noticed(rows: readonly InboxRow[]): void {
    if (this.stopped) return
    const fresh = this.guard.noticedRows(rows)
    // No room: they wait in the inbox for a take (the commits of those taken poke).
    if (this.guard.taken.size + fresh.length > INBOX_TAKEN_MAX) return void this.poke()
    for (const row of fresh) this.apply(row)
  }

  /** The scheduler heard an append's notice (its last seq): see InboxGuard. */
  logNoticed(lastSeq: number): void {
    this.guard.logNoticed(lastSeq)
  }

  stop(): void {
    this.stopped = true
  }

  private async takeRound(): Promise<void> {
    const taken = this.guard.taken
    const room = INBOX_TAKEN_MAX - taken.size
    if (room <= 0) return // the commits of those taken poke again
    this.guard.takeSent()
    const rows = await this.deps.take([...taken], room)
    for (const row of this.guard.takeRows(rows)) if (!this.stopped) this.apply(row)
    if (rows.length === room) void this.taking.run() // more may wait: one more round after this one
  }

  private apply(row: InboxRow): void {
    let command: Command
    let result: ResultOf<unknown> | undefined
    let reply = true
    try {
      const call = decodeCall(row.body)
      command = call.command
      reply = call.result !== NO_REPLY_NAME
      const none = call.result === NO_RESULT_NAME || !reply
      result = none ? undefined : this.deps.results.get(call.result)
      if (result === undefined && !none) throw new Error(`unknown result ${JSON.stringify(call.result)}: the follower runs another version of Wharf`)
    } catch (error) {
      this.guard.taken.add(row.id)
      this.deps.refuse(row, error).then(
        () => this.guard.settled(row.id, this.deps.lastSeq()),
        (refusal: unknown) => this.deps.warn(`wharf: inbox call ${row.id} could not be refused: ${String(refusal)}`),
      )
      return
    }
    this.guard.taken.add(row.id)
    const origin: Origin = { id: row.id, node: row.node, token: row.token, reply }
    this.origins.set(command, origin)
    this.deps.submit(command, result).then(
      (value) => this.settled(origin, command, { ok: true, value }),
      (error: unknown) => this.settled(origin, command, { ok: false, error }),
    )
  }

  /**
   * Its tick appended a batch: the row went with it (committed), or is still there to be taken
   * again (lost). Its tick appended nothing (a refusal, an identity key that matched): the call
   * changed nothing, and its answer is written alone — a scheduler deposed meanwhile writes
   * nothing, and the next one decides the call again.
   */
  private settled(row: Origin, command: Command, answer: Answer): void {
    const done = (): void => {
      this.guard.settled(row.id, this.deps.lastSeq())
      if (this.guard.taken.size === INBOX_TAKEN_MAX - 1) void this.poke()
    }
    if (this.appended.has(command) || this.stopped) return done()
    const reply = [{ id: row.id, node: row.node, token: row.token, body: row.reply ? encodeAnswer(answer) : null }]
    this.deps.writeAlone((tx, seq) => this.deps.stage(tx, reply, seq)).then(done, done)
  }

  /** PgLog.stageWithAppend: the inbox rows this tick decided, deleted and answered with its batch. */
  readonly stage = (decided: DecidedTick): AppendStage | null => {
    const tick = decided as { calls: TakenCalls; out: { notes: readonly DecideNote[] } }
    const { submissions, answers } = tick.calls
    let replies: Reply[] | null = null
    for (let i = 0; i < submissions.length; i++) {
      const command = submissions[i]!.command
      const origin = this.origins.get(command)
      if (origin === undefined) continue
      this.appended.add(command)
      if (!origin.reply) {
        ;(replies ??= []).push({ id: origin.id, node: origin.node, token: origin.token, body: null })
        continue
      }
      const note = tick.out.notes[i]
      const failed = answerFailure(answers[i])
      const answer: Answer = note !== undefined && 'error' in note ? { ok: false, error: note.error } : failed !== undefined ? { ok: false, error: failed.error } : { ok: true, value: answers[i] }
      ;(replies ??= []).push({ id: origin.id, node: origin.node, token: origin.token, body: encodeAnswer(answer) })
    }
    if (replies === null) return null
    const staged = replies
    return (tx, seq) => this.deps.stage(tx, staged, seq)
  }
}
