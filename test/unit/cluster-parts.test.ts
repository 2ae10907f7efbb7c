// Proves the cluster's moving parts on their own, with plain fakes for the tables (no server): a
// follower's replica applies the log in order, replays the snapshot when it fell behind a
// compaction, waits for a seq, and reads the log no more than it must; the inbox client answers a
// call whose reply came before its post returned, rebuilds the scheduler's error as the same
// class, refuses what waits on close, refuses a call whose post the server lost, and answers a
// call only with the reply carrying its token (an id the server gave out again names another call).
import { describe, expect, it } from 'vitest'
import type { State } from '../../src/engine/core/state.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import { StorageError, UnknownJobError, WharfClosedError } from '../../src/engine/errors.js'
import { decodeAnswer, decodeCall, encodeAnswer, NO_REPLY_NAME, NO_RESULT_NAME, type Answer } from '../../src/engine/runtime/cluster-wire.js'
import { InboxClient } from '../../src/engine/runtime/inbox-client.js'
import { Replica } from '../../src/engine/runtime/replica.js'
import { NOTICE_MAX } from '../../src/storage/pg-channels.js'
import { PgClusterTables, replyNotices, type ReplyRow } from '../../src/storage/pg-cluster.js'
import { failure } from './helpers.js'

const batch = (first: number, n: number): WharfEvent[] => Array.from({ length: n }, (_, i) => ({ seq: first + i }) as WharfEvent)

/** A log of batches, compacted up to `floor`; the engine keeps only its seq. */
function fakeFollower(log: WharfEvent[][], floor = 0) {
  const engine = {
    state: { seq: 0 } as State,
    following: true,
    applied: [] as number[],
    follow(events: readonly WharfEvent[]) {
      this.applied.push(...events.map((e) => e.seq))
      this.state.seq = events.at(-1)!.seq
    },
    resync(state: State) {
      this.state = state
    },
  }
  let rounds = 0
  let reads = 0
  const replica = new Replica({
    engine,
    tail: async (after) => {
      reads++
      if (after < floor) return null
      return log.filter((b) => b[0]!.seq > after).slice(0, 2) // two rows per read, as a LIMIT would
    },
    tailMax: 2,
    replay: async () => ({ seq: floor }) as State,
    caughtUp: async () => void rounds++,
    pause: () => new Promise((resolve) => setImmediate(resolve)),
  })
  return { engine, replica, rounds: () => rounds, reads: () => reads }
}

describe('Replica', () => {
  it('applies every committed batch in order, however many reads it takes', async () => {
    const { engine, replica, rounds } = fakeFollower([batch(1, 2), batch(3, 1), batch(4, 3), batch(7, 1)])
    await replica.catchUp()
    expect(engine.applied).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(rounds()).toBe(1)
  })

  it('reads once when a read returns fewer batches than a read holds: that read saw all that was committed', async () => {
    const { engine, replica, reads } = fakeFollower([batch(1, 2), batch(3, 1), batch(4, 3)])
    await replica.catchUp()
    expect(engine.applied).toEqual([1, 2, 3, 4, 5, 6])
    expect(reads()).toBe(2) // two full, then one batch: no read to find the log empty
  })

  it('replays the snapshot when the log was compacted past its state, then goes on from there', async () => {
    const { engine, replica } = fakeFollower([batch(6, 2), batch(8, 1)], 5)
    await replica.catchUp()
    expect(engine.applied).toEqual([6, 7, 8])
    expect(engine.state.seq).toBe(8)
  })

  it('waits for a seq the log holds only later, and stops following once promoted', async () => {
    const log = [batch(1, 1)]
    const { engine, replica } = fakeFollower(log)
    const reached = replica.reached(3)
    await new Promise((resolve) => setImmediate(resolve))
    log.push(batch(2, 2))
    await reached
    expect(engine.state.seq).toBe(3)
    engine.following = false
    log.push(batch(4, 1))
    await replica.reached(10) // a scheduler's state is the log's: nothing to wait for
    await replica.catchUp()
    expect(engine.state.seq).toBe(3)
  })
})

describe('Replica.offer (a batch carried by its notification)', () => {
  it('applies the next batch without reading the log, and follows what it keeps beside the state', async () => {
    const log = [batch(1, 2), batch(3, 1)]
    const { engine, replica, reads, rounds } = fakeFollower(log)
    await replica.offer(log[0]!)
    await replica.offer(log[1]!)
    expect(engine.applied).toEqual([1, 2, 3])
    expect(reads()).toBe(0)
    expect(rounds()).toBeGreaterThan(0)
    await replica.offer(log[1]!) // already applied (a notification seen after a read): nothing
    expect(engine.applied).toEqual([1, 2, 3])
    expect(reads()).toBe(0)
  })

  it('reads the log instead when the batch is not the next one, or a read is under way', async () => {
    const log = [batch(1, 2), batch(3, 1)]
    const { engine, replica, reads } = fakeFollower(log)
    await replica.offer(log[1]!) // 1..2 were missed (a lost notification): read them, in order
    expect(engine.applied).toEqual([1, 2, 3])
    expect(reads()).toBeGreaterThan(0)
    log.push(batch(4, 2), batch(6, 1))
    const reading = replica.catchUp()
    const offered = replica.offer(log[2]!)
    await Promise.all([reading, offered])
    expect(engine.applied).toEqual([1, 2, 3, 4, 5, 6]) // each once, in order
  })
})

describe('InboxClient', () => {
  function client() {
    const posted: Uint8Array[] = []
    const posts: number[] = []
    /** The token of the call last posted under each id. */
    const tokens = new Map<number, number>()
    let gone: number[] = []
    const asked: number[][] = []
    let replies: ReplyRow[] = []
    let release!: (id: number) => void
    let settled = 0
    const inbox = new InboxClient({
      // Ids as the inbox gives them: consecutive from the one released, in the order posted.
      post: (calls) => {
        posted.push(...calls.map((c) => c.body))
        posts.push(calls.length)
        return new Promise<number[]>(
          (resolve) =>
            (release = (id) => {
              calls.forEach((c, i) => tokens.set(id + i, c.token))
              resolve(calls.map((_, i) => id + i))
            }),
        )
      },
      collect: async () => replies.splice(0),
      missing: async (calls) => {
        asked.push(calls.map((c) => c.id))
        return calls.filter((c) => gone.includes(c.id)).map((c) => c.token)
      },
      reached: async () => undefined,
      head: async () => 0,
      nameOf: () => NO_RESULT_NAME,
      settled: () => void settled++,
    })
    /** A reply row to call `id`: for the call posted under it unless `token` says whose. */
    const row = (id: number, answer: Answer, seq = 0, token = tokens.get(id) ?? null): ReplyRow => ({ id, token, seq, body: encodeAnswer(answer) })
    return { inbox, posted, posts, asked, row, lose: (ids: number[]) => (gone = ids), reply: (r: ReplyRow) => (replies = [r]), release: (id: number) => release(id), settled: () => settled }
  }
  /** Calls made in one turn are posted at its end, together. */
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

  it("answers a call whose reply was read before its post returned, with the scheduler's error class", async () => {
    const { inbox, posted, reply, row, release, settled } = client()
    const call = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    await turn()
    expect(decodeCall(posted[0]!)).toEqual({ command: { type: 'cancel', uuid: 'u1' }, result: NO_RESULT_NAME })
    expect(inbox.pending).toBe(1)
    reply(row(41, { ok: false, error: new UnknownJobError('u1') }, 0, 1)) // the token of the first call
    await inbox.collect() // its call waits from before its post: answered by its token
    release(41)
    const error = await failure(() => call)
    expect(error).toBeInstanceOf(UnknownJobError)
    expect(error).toMatchObject({ code: 'UNKNOWN_JOB', uuid: 'u1', message: new UnknownJobError('u1').message, name: 'UnknownJobError' })
    expect(inbox.pending).toBe(0)
    expect(settled()).toBe(1)
  })

  it('resolves with the value, Dates intact, and refuses what still waits when it closes', async () => {
    const { inbox, reply, row, release } = client()
    const first = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    await turn()
    release(1)
    await new Promise((resolve) => setImmediate(resolve))
    reply(row(1, { ok: true, value: { at: new Date(5), n: -0 } }))
    await inbox.collect()
    expect(await first).toEqual({ at: new Date(5), n: -0 })
    const second = inbox.submit({ type: 'cancel', uuid: 'u2' }, undefined)
    await turn()
    release(2)
    await new Promise((resolve) => setImmediate(resolve))
    inbox.close()
    expect(await failure(() => second)).toBeInstanceOf(WharfClosedError)
    expect(await failure(() => inbox.submit({ type: 'cancel', uuid: 'u3' }, undefined))).toBeInstanceOf(WharfClosedError)
  })

  it('posts the calls and outcomes of one turn in one statement, and answers each by its own id', async () => {
    const { inbox, posted, posts, reply, row, release, settled } = client()
    const first = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    const sent = inbox.send({ type: 'progress', uuid: 'u2', run: 1, fraction: 0.5, message: null })
    const second = inbox.submit({ type: 'cancel', uuid: 'u3' }, undefined)
    await turn()
    expect(posts).toEqual([3])
    expect(posted.map((body) => decodeCall(body).result)).toEqual([NO_RESULT_NAME, NO_REPLY_NAME, NO_RESULT_NAME])
    expect(inbox.pending).toBe(3)
    release(10) // ids 10, 11, 12
    await sent // an outcome waits for its post only: no reply is written for it
    reply(row(12, { ok: true, value: 'third' }))
    await inbox.collect()
    expect(await second).toBe('third')
    expect(inbox.pending).toBe(1)
    reply(row(10, { ok: true, value: 'first' }))
    await inbox.collect()
    expect(await first).toBe('first')
    expect(inbox.pending).toBe(0)
    expect(settled()).toBe(1)
    const outcomes = [inbox.send({ type: 'progress', uuid: 'u4', run: 1, fraction: 1, message: null }), inbox.send({ type: 'progress', uuid: 'u5', run: 1, fraction: 1, message: null })]
    await turn()
    expect(posts).toEqual([3, 2])
    release(20)
    await Promise.all(outcomes)
  })

  it('rejects every call of a post that failed (the engine posts its outcomes again)', async () => {
    const failing = new InboxClient({
      post: async () => Promise.reject(new Error('connection lost')),
      collect: async () => [],
      missing: async () => [],
      reached: async () => undefined,
      head: async () => 0,
      nameOf: () => NO_RESULT_NAME,
      settled: () => undefined,
    })
    const call = failing.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    const sent = failing.send({ type: 'progress', uuid: 'u2', run: 1, fraction: 1, message: null })
    expect(await failure(() => call)).toMatchObject({ message: 'connection lost' })
    expect(await failure(() => sent)).toMatchObject({ message: 'connection lost' })
    expect(failing.pending).toBe(0)
  })

  it('answers from a notification at once, and drops the same reply when its row is collected later', async () => {
    const { inbox, reply, row, release, settled } = client()
    const call = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    await turn()
    release(7)
    await turn()
    const [noticed] = PgClusterTables.noticedReplies(replyNotices([{ id: 7, node: 'me#1', token: 1, body: encodeAnswer({ ok: true, value: 'from the notice' }) }], 3, () => 'me')[0]![1], 'me#1')!
    inbox.noticed([noticed!])
    expect(await call).toBe('from the notice')
    expect(settled()).toBe(1)
    reply(row(7, { ok: true, value: 'from the row' }, 3))
    await inbox.collect() // deletes the row: nothing is answered twice, nothing kept
    const again = inbox.submit({ type: 'cancel', uuid: 'u2' }, undefined)
    await turn()
    release(8)
    await turn()
    inbox.noticed([row(7, { ok: true, value: 'stale' }, 3)]) // a duplicate: dropped
    reply(row(8, { ok: true, value: 'second' }, 4))
    await inbox.collect()
    expect(await again).toBe('second')
  })

  it('refuses a call still waiting at the next poll whose row and reply are both gone (a post the server lost), and no other', async () => {
    const { inbox, asked, lose, reply, row, release, settled } = client()
    const lost = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    const kept = inbox.submit({ type: 'cancel', uuid: 'u2' }, undefined)
    await turn()
    release(5) // ids 5, 6
    await turn()
    lose([5])
    await inbox.findLost() // they were not waiting at the poll before: not looked for yet
    expect(asked).toEqual([])
    await inbox.findLost()
    expect(asked).toEqual([[5, 6]])
    const error = await failure(() => lost)
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ message: expect.stringMatching(/lost before the scheduler answered it/) })
    expect(inbox.pending).toBe(1)
    reply(row(6, { ok: true, value: 'kept' }))
    await inbox.findLost() // collected first: answered, not looked for
    expect(await kept).toBe('kept')
    expect(asked).toEqual([[5, 6]])
    expect(settled()).toBe(1)
    await inbox.findLost() // nothing waits: nothing asked
    expect(asked).toEqual([[5, 6]])
  })

  it('refuses a waiting call whose id the inbox gives out again (the post that had it was lost)', async () => {
    const { inbox, release } = client()
    const first = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    await turn()
    release(9)
    await turn()
    const second = inbox.submit({ type: 'cancel', uuid: 'u2' }, undefined)
    await turn()
    release(9)
    expect(await failure(() => first)).toBeInstanceOf(StorageError)
    expect(inbox.pending).toBe(1)
    inbox.close()
    expect(await failure(() => second)).toBeInstanceOf(WharfClosedError)
  })

  it("answers a call only with the reply that carries its token: another call's reply under its id refuses it as lost, even before that call's post returned", async () => {
    const { inbox, reply, row, release, settled } = client()
    const first = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    await turn()
    release(9) // token 1 under id 9; then the server loses its post, and gives id 9 out again
    await turn()
    const second = inbox.submit({ type: 'cancel', uuid: 'u2' }, undefined)
    await turn()
    reply(row(9, { ok: true, value: 'second' }, 0, 2)) // read before the second post returned
    await inbox.collect()
    const error = await failure(() => first)
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ message: expect.stringMatching(/lost before the scheduler answered it/) })
    expect(await second).toBe('second')
    release(9)
    await turn()
    expect(inbox.pending).toBe(0)
    expect(settled()).toBe(1)
    const stranger = inbox.submit({ type: 'cancel', uuid: 'u3' }, undefined) // a reply to no call of ours: nobody answered with it
    await turn()
    release(10)
    await turn()
    inbox.noticed([row(11, { ok: true, value: 'not mine' }, 0, 99)])
    reply(row(10, { ok: true, value: 'third' }))
    await inbox.collect()
    expect(await stranger).toBe('third')
  })

  it('answers by id a reply without a token (from a scheduler of version 3)', async () => {
    const { inbox, reply, row, release } = client()
    const call = inbox.submit({ type: 'cancel', uuid: 'u1' }, undefined)
    await turn()
    release(4)
    await turn()
    reply(row(4, { ok: true, value: 'by id' }, 0, null))
    await inbox.collect()
    expect(await call).toBe('by id')
  })
})

describe('reply notifications', () => {
  it("carry each caller's replies in one payload, and say only 'reply' for those too large to", () => {
    const small = (id: number, node: string) => ({ id, node, token: id * 10, body: encodeAnswer({ ok: true, value: id }) })
    const large = { id: 9, node: 'b#2', token: 90, body: encodeAnswer({ ok: true, value: 'x'.repeat(NOTICE_MAX) }) }
    const sent = replyNotices([small(1, 'a#1'), small(2, 'a#1'), large, small(3, 'c#3')], 5, (node) => `to ${node}`)
    expect(sent.map(([channel]) => channel)).toEqual(['to a#1', 'to b#2', 'to c#3']) // each on its caller's channel
    const notices = sent.map(([, payload]) => payload)
    expect(notices[1]).toBe('reply')
    expect(PgClusterTables.noticedReplies(notices[0]!, 'a#1')!.map((r) => [r.id, r.token, r.seq, decodeAnswer(r.body)])).toEqual([
      [1, 10, 5, { ok: true, value: 1 }],
      [2, 20, 5, { ok: true, value: 2 }],
    ])
    expect(PgClusterTables.noticedReplies(notices[0]!, 'c#3')).toBeNull() // another caller's
    expect(notices.some((n) => PgClusterTables.noticedReplies(n, 'b#2') !== null)).toBe(false)
    for (const notice of notices) expect(Buffer.byteLength(notice)).toBeLessThan(8000)
  })
})
