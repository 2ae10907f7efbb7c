// A follower's calls (cluster.ts): each one is posted to the inbox and answered by the scheduler's
// reply, written in the transaction that applied it. The caller is answered once this process's
// replica has caught up with the log as it was then (read-your-writes: a job() right after a
// follower's delay() sees the job). Replies are collected on the scheduler's NOTIFY, or by the
// cluster's poll while calls wait. Each call carries a token of this open's (a number, unique
// with the open's address), which the scheduler copies into its reply: a reply answers the call
// holding its token, never another (the server may give a lost post's inbox id out again).
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
import type { Posted, ReplyRow } from '../../storage/pg-cluster.js'
import { decodeAnswer, encodeCall, NO_REPLY_NAME, type Answer } from './cluster-wire.js'
import type { Remote } from './engine.js'
import type { ResultOf } from './submissions.js'
import { Coalesced } from './coalesced.js'

export interface InboxClientDeps {
  /** Post calls in one statement; resolves with their inbox ids, in order. */
  post(calls: readonly Posted[]): Promise<number[]>
  /** Of these posted calls, the tokens of those whose inbox row and reply are both gone
   * (PgClusterTables.missing). */
  missing(calls: readonly { id: number; token: number }[]): Promise<number[]>
  /** This node's replies, deleted as they are read. */
  collect(): Promise<ReplyRow[]>
  /** Resolves once the replica has applied the log up to `seq`. */
  reached(seq: number): Promise<void>
  /** The last seq the log holds now. */
  head(): Promise<number>
  /** The name a result function travels under (cluster-results.ts). */
  nameOf(result: ResultOf<unknown> | undefined): string
  /** The last waiting call was answered. */
  settled(): void
}

interface Posting extends Posted {
  resolve: (id: number) => void
  reject: (error: unknown) => void
}

interface Waiting {
  /** Its inbox id, once its post returned. */
  id: number | null
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

export class InboxClient implements Remote {
  /** The token of the last call posted. */
  private lastToken = 0
  /** Calls waiting for their reply, by token: from before their post (a reply may come first). */
  private readonly waiting = new Map<number, Waiting>()
  /** The tokens of the waiting calls whose post returned, by inbox id. */
  private readonly byId = new Map<number, number>()
  /** Ids of replies answered from a notification whose rows are not collected yet. */
  private readonly noticedIds = new Set<number>()
  /** Tokens of the calls being answered (their callers wait for the replica). */
  private readonly answering = new Set<number>()
  /** Posts of send() under way. */
  private sending = 0
  /** Posts of this turn, sent together at its end. */
  private batch: Posting[] = []
  private closed = false
  private readonly collecting = new Coalesced(() => this.collectRound(), () => this.closed)
  /** Tokens of the calls that were waiting at the last findLost() (those still waiting at the
   * next are looked for). */
  private suspects = new Set<number>()
  /** findLost() asked for: the next collect round looks. */
  private looking = false

  constructor(private readonly deps: InboxClientDeps) {}

  get pending(): number {
    return this.waiting.size + this.sending
  }

  submit(command: Command, result: ResultOf<unknown> | undefined): Promise<unknown> {
    if (this.closed) return Promise.reject(closedError())
    let body: Uint8Array
    try {
      body = encodeCall({ command, result: this.deps.nameOf(result) })
    } catch (error) {
      return Promise.reject(error)
    }
    const token = ++this.lastToken
    const answered = new Promise<unknown>((resolve, reject) => this.waiting.set(token, { id: null, resolve, reject }))
    this.enqueue(token, body).then(
      (id) => this.posted(token, id),
      (error: unknown) => this.refuse(token, error),
    )
    return answered
  }

  /** Post a call nobody awaits an answer to (a handler's outcome or progress): resolves once the
   * post is committed, and the scheduler writes no reply. A rejection may hide a committed post:
   * the caller posts again, and the duplicate is dropped there (fenced by its run). */
  async send(command: Command): Promise<void> {
    if (this.closed) throw closedError()
    const body = encodeCall({ command, result: NO_REPLY_NAME })
    this.sending++
    try {
      await this.enqueue(++this.lastToken, body)
    } finally {
      this.sending--
      if (this.pending === 0) this.deps.settled()
    }
  }

  private enqueue(token: number, body: Uint8Array): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.batch.length === 0) setImmediate(() => void this.flush())
      this.batch.push({ token, body, resolve, reject })
    })
  }

  private async flush(): Promise<void> {
    const batch = this.batch
    this.batch = []
    let ids: number[]
    try {
      ids = await this.deps.post(batch.map(({ token, body }) => ({ token, body })))
      if (ids.length !== batch.length) throw new Error(`${batch.length} calls posted to the inbox, but ${ids.length} ids came back`)
    } catch (error) {
      for (const p of batch) p.reject(error)
      return
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(ids[i]!)
  }

  /** Call `token`'s post returned inbox id `id` (unless it was answered already). */
  private posted(token: number, id: number): void {
    const waiting = this.waiting.get(token)
    if (waiting === undefined) return
    // The inbox gives an id out again only when the post that had it was lost (its sequence's
    // advance was not flushed either): the call still waiting under it never will be answered.
    const holder = this.byId.get(id)
    if (holder !== undefined) this.refuseLost(holder)
    waiting.id = id
    this.byId.set(id, token)
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
    const suspects: { id: number; token: number }[] = []
    for (const [token, { id }] of this.waiting) if (id !== null && this.suspects.has(token) && !this.answering.has(token)) suspects.push({ id, token })
    this.suspects = new Set(this.waiting.keys())
    if (suspects.length === 0) return
    let lost: number[]
    try {
      lost = await this.deps.missing(suspects)
    } catch {
      // Not this collect round's failure (its replies were received): the next poll looks again.
      for (const { token } of suspects) this.suspects.add(token)
      return
    }
    for (const token of lost) this.refuseLost(token)
  }

  /** The call waiting under `token` will never be answered (its post was lost): refuse it,
   * unless its answer is on its way. */
  private refuseLost(token: number): void {
    this.refuse(token, lostError())
  }

  /** Refuse call `token` with `error`, unless it is answered or being answered. */
  private refuse(token: number, error: unknown): void {
    const waiting = this.waiting.get(token)
    if (waiting === undefined || this.answering.has(token)) return
    this.forget(token, waiting)
    waiting.reject(error)
    if (this.pending === 0) this.deps.settled()
  }

  private forget(token: number, waiting: Waiting): void {
    this.waiting.delete(token)
    this.suspects.delete(token)
    if (waiting.id !== null && this.byId.get(waiting.id) === token) this.byId.delete(waiting.id)
  }

  /**
   * A reply read from its row or a notification: its call is answered, and true; false when it
   * waits no more (answered already: the reply came both ways; or refused as lost). A reply for
   * another call than the one waiting under its id proves that one lost: two posts got the id,
   * and only one was kept by the server — the one the scheduler read and answered.
   */
  private receive(reply: ReplyRow): boolean {
    const holder = this.byId.get(reply.id)
    // A reply without a token is from a scheduler of version 3: it names its call by id only.
    const token = reply.token ?? holder
    if (holder !== undefined && holder !== token) this.refuseLost(holder)
    if (token === undefined || !this.waiting.has(token) || this.answering.has(token)) return false
    void this.answer(token, reply)
    return true
  }

  async caughtUp(): Promise<void> {
    await this.deps.reached(await this.deps.head())
  }

  close(): void {
    this.closed = true
    const error = closedError()
    for (const waiting of this.waiting.values()) waiting.reject(error)
    this.waiting.clear()
    this.byId.clear()
  }

  private async answer(token: number, reply: ReplyRow): Promise<void> {
    const waiting = this.waiting.get(token) ?? fail(`a reply to inbox call ${reply.id} (token ${token}), which nobody waits for`)
    this.answering.add(token)
    let answer: Answer
    try {
      answer = decodeAnswer(reply.body)
    } catch (error) {
      answer = { ok: false, error }
    }
    // The call was applied whatever happens here: a replica that cannot catch up (its reads
    // fail) costs read-your-writes, not the answer.
    await this.deps.reached(reply.seq).catch(() => undefined)
    this.answering.delete(token)
    // Closed meanwhile: refused already.
    if (this.waiting.get(token) !== waiting) return
    // Removed only now: pending counts the call until its caller can see what it did.
    this.forget(token, waiting)
    if (answer.ok) waiting.resolve(answer.value)
    else waiting.reject(answer.error)
    if (this.pending === 0) this.deps.settled()
  }
}

function lostError(): StorageError {
  return new StorageError(
    'the call was lost before the scheduler answered it: its inbox row and reply are both gone, or its inbox id was given to another call (the PostgreSQL server lost its post in a crash, or swept its reply while this member went unseen); it may not have been applied',
  )
}

function closedError(): WharfClosedError {
  return new WharfClosedError('this Wharf closed before the scheduler answered its call (the call may still be applied)')
}
