// A follower's calls (cluster.ts): each one is posted to the inbox and answered by the scheduler's
// reply, written in the transaction that applied it. The caller is answered once this process's
// replica has caught up with the log as it was then (read-your-writes: a job() right after a
// follower's delay() sees the job). Replies are collected on the scheduler's NOTIFY, or by the
// cluster's poll while calls wait; a reply read before its post returned is kept until it has.
// A reply small enough also travels in the scheduler's NOTIFY (noticed()): the caller is answered
// from it, and its row is deleted later, by the next collect (the cluster's poll).
// Handler outcomes and progress go without a reply (send()): nobody awaits them beyond the post's
// commit, and the worker learns what they did from the log it tails. Everything posted in one
// turn of the event loop goes in one INSERT (one commit, one NOTIFY), whose commit does not wait
// for the disk (PgClusterTables.post says why that is safe). The server may then lose a post in a
// crash: a call still waiting at two polls in a row is looked for (findLost()), and one whose row
// and reply are both gone is refused instead of waiting forever.

import { fail } from '../core/assert.js'
import type { Command } from '../core/commands.js'
import { StorageError, WharfClosedError } from '../errors.js'
import type { ReplyRow } from '../../storage/pg-cluster.js'
import { decodeAnswer, encodeCall, NO_REPLY_NAME, type Answer } from './cluster-wire.js'
import type { Remote } from './engine.js'
import type { ResultOf } from './submissions.js'
import { Coalesced } from './coalesced.js'

export interface InboxClientDeps {
  /** Post encoded calls in one statement; resolves with their inbox ids, in order. */
  post(bodies: readonly Uint8Array[]): Promise<number[]>
  /** Of these calls' ids, those whose inbox row and reply are both gone (PgClusterTables.missing). */
  missing(ids: readonly number[]): Promise<number[]>
  /** This node's replies, deleted as they are read. */
  collect(): Promise<ReplyRow[]>
  /** Resolves once the replica has applied the log up to `seq`. */
  reached(seq: number): Promise<void>
  /** The name a result function travels under (cluster-results.ts). */
  nameOf(result: ResultOf<unknown> | undefined): string
  /** The last waiting call was answered. */
  settled(): void
}

interface Posting {
  body: Uint8Array
  resolve: (id: number) => void
  reject: (error: unknown) => void
}

interface Waiting {
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

export class InboxClient implements Remote {
  private readonly waiting = new Map<number, Waiting>()
  /** Replies read before their call's post returned its id. */
  private readonly early = new Map<number, ReplyRow>()
  /** Ids of replies answered from a notification whose rows are not collected yet. */
  private readonly noticedIds = new Set<number>()
  /** Ids of the calls being answered (their callers wait for the replica). */
  private readonly answering = new Set<number>()
  private posting = 0
  /** Posts of this turn, sent together at its end. */
  private batch: Posting[] = []
  private closed = false
  private readonly collecting = new Coalesced(() => this.collectRound(), () => this.closed)
  /** Calls that were waiting at the last findLost() (those still waiting at the next are looked for). */
  private suspects = new Set<number>()
  /** findLost() asked for: the next collect round looks. */
  private looking = false

  constructor(private readonly deps: InboxClientDeps) {}

  get pending(): number {
    return this.waiting.size + this.posting
  }

  async submit(command: Command, result: ResultOf<unknown> | undefined): Promise<unknown> {
    if (this.closed) throw closedError()
    const body = encodeCall({ command, result: this.deps.nameOf(result) })
    this.posting++
    let id: number
    try {
      id = await this.enqueue(body)
    } finally {
      this.posting--
    }
    if (this.closed) throw closedError()
    // The inbox gives an id out again only when the post that had it was lost (its sequence's
    // advance was not flushed either): the call still waiting under it never will be answered.
    this.refuseLost(id)
    const answered = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }))
    const early = this.early.get(id)
    if (early !== undefined) {
      this.early.delete(id)
      void this.answer(early)
    }
    return answered
  }

  /** Post a call nobody awaits an answer to (a handler's outcome or progress): resolves once the
   * post is committed, and the scheduler writes no reply. A rejection may hide a committed post:
   * the caller posts again, and the duplicate is dropped there (fenced by its run). */
  async send(command: Command): Promise<void> {
    if (this.closed) throw closedError()
    const body = encodeCall({ command, result: NO_REPLY_NAME })
    this.posting++
    try {
      await this.enqueue(body)
    } finally {
      this.posting--
      if (this.pending === 0) this.deps.settled()
    }
  }

  private enqueue(body: Uint8Array): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.batch.length === 0) setImmediate(() => void this.flush())
      this.batch.push({ body, resolve, reject })
    })
  }

  private async flush(): Promise<void> {
    const batch = this.batch
    this.batch = []
    let ids: number[]
    try {
      ids = await this.deps.post(batch.map((p) => p.body))
      if (ids.length !== batch.length) throw new Error(`${batch.length} calls posted to the inbox, but ${ids.length} ids came back`)
    } catch (error) {
      for (const p of batch) p.reject(error)
      return
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(ids[i]!)
  }

  /** Replies a notification carried: answered as if read from their rows (which a later collect
   * deletes). */
  noticed(replies: readonly ReplyRow[]): void {
    if (this.closed) return
    for (const reply of replies) if (this.receive(reply)) this.noticedIds.add(reply.id)
  }

  /** Read the replies waiting (on a 'reply' notification, or the cluster's poll), and delete the
   * rows of those a notification carried. Coalesced. */
  collect(): Promise<void> {
    if (this.pending === 0 && this.noticedIds.size === 0) return Promise.resolve()
    return this.collecting.run()
  }

  private async collectRound(): Promise<void> {
    for (const reply of await this.deps.collect()) {
      // Answered from its notification already (or being answered): its row is gone now.
      if (!this.noticedIds.delete(reply.id)) this.receive(reply)
    }
    if (this.looking) await this.lookForLost()
  }

  /**
   * The cluster's poll: refuse the calls that waited since the last poll and whose inbox row and
   * reply are both gone (a post the server lost, or a reply swept). Looked for in a collect round,
   * after its collect: no reply of this caller is read meanwhile — a reply is in its row until a
   * collect deletes it, and the collects before were received — so a call found so is not one
   * being answered.
   */
  findLost(): Promise<void> {
    if (this.waiting.size === 0) this.suspects.clear()
    else this.looking = true
    return this.collect()
  }

  private async lookForLost(): Promise<void> {
    this.looking = false
    const suspects = [...this.waiting.keys()].filter((id) => this.suspects.has(id) && !this.answering.has(id))
    this.suspects = new Set(this.waiting.keys())
    if (suspects.length === 0) return
    let lost: number[]
    try {
      lost = await this.deps.missing(suspects)
    } catch {
      // Not this collect round's failure (its replies were received): the next poll looks again.
      for (const id of suspects) this.suspects.add(id)
      return
    }
    for (const id of lost) this.refuseLost(id)
    if (this.pending === 0) this.deps.settled()
  }

  /** The call waiting under `id` will never be answered (its post was lost): refuse it, unless
   * its answer is on its way. */
  private refuseLost(id: number): void {
    const waiting = this.waiting.get(id)
    if (waiting === undefined || this.answering.has(id)) return
    this.waiting.delete(id)
    this.suspects.delete(id)
    waiting.reject(lostError())
  }

  /** A reply read from its row or a notification: answered, or kept for its post to return;
   * false when its call was answered already (it came both ways), and it is dropped. */
  private receive(reply: ReplyRow): boolean {
    if (this.answering.has(reply.id)) return false
    if (this.waiting.has(reply.id)) {
      void this.answer(reply)
      return true
    }
    if (this.posting === 0) return false // every post returned: nobody will wait for this id
    this.early.set(reply.id, reply)
    return true
  }

  close(): void {
    this.closed = true
    const error = closedError()
    for (const waiting of this.waiting.values()) waiting.reject(error)
    this.waiting.clear()
    this.early.clear()
  }

  private async answer(reply: ReplyRow): Promise<void> {
    const waiting = this.waiting.get(reply.id) ?? fail(`a reply to inbox call ${reply.id}, which nobody waits for`)
    this.answering.add(reply.id)
    let answer: Answer
    try {
      answer = decodeAnswer(reply.body)
    } catch (error) {
      answer = { ok: false, error }
    }
    // The call was applied whatever happens here: a replica that cannot catch up (its reads
    // fail) costs read-your-writes, not the answer.
    await this.deps.reached(reply.seq).catch(() => undefined)
    // Removed only now: pending counts the call until its caller can see what it did.
    this.waiting.delete(reply.id)
    this.answering.delete(reply.id)
    if (answer.ok) waiting.resolve(answer.value)
    else waiting.reject(answer.error)
    if (this.pending === 0) this.deps.settled()
  }
}

function lostError(): StorageError {
  return new StorageError(
    'the call was lost before the scheduler answered it: its inbox row and reply are both gone (the PostgreSQL server lost its post in a crash, or swept its reply while this member went unseen); it may not have been applied',
  )
}

function closedError(): WharfClosedError {
  return new WharfClosedError('this Wharf closed before the scheduler answered its call (the call may still be applied)')
}
