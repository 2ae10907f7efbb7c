// Proves the inbox's statements on a real PostgreSQL server: a post's notification carries the rows
// it inserted, ids and tokens as the post returns them (or only says 'inbox' when they are too large
// to travel so); and the batch that applies calls commits only if it deletes the row of every one of
// them, matched by id and token — a call whose row is gone (applied already, or lost with its post)
// or holds another call (an id given out again) fails the batch, which writes nothing.
import { afterEach, describe, expect, it } from 'vitest'
import type { DecidedTick } from '../../src/storage/event-log.js'
import { connect } from '../../src/storage/pg-driver.js'
import { inboxChannel } from '../../src/storage/pg-channels.js'
import { NOTICE_MAX } from '../../src/storage/pg-channels.js'
import { PgClusterTables, type Reply } from '../../src/storage/pg-cluster.js'
import { PgLog } from '../../src/storage/pg-log.js'
import { pgTestDatabase } from '../pg/database.js'
import { makeBatch, readAll } from './event-log-contract.js'
import { failure } from './helpers.js'

const db = pgTestDatabase()

describe('the inbox on PostgreSQL', () => {
  /** The test's pool, then the log: closed after each test, in this order. */
  const closing: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const close of closing.splice(0)) await close().catch(() => undefined)
  })

  /** A scheduler's log on a fresh schema, the test's own pool, and the schema's inbox. */
  async function setup() {
    const schema = db.schema()
    const log = new PgLog(db.url(), { schema })
    await log.open()
    const pool = await connect(db.url())
    closing.push(() => pool.end(), () => log.close())
    const tables = new PgClusterTables(schema, log.channel)
    const count = async (): Promise<number> => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.inbox`)).rows[0]!.n as number
    return { schema, log, pool, tables, count }
  }

  it("carries a post's rows in its notification, as the post returns their ids, or says only 'inbox' when they are too large", async () => {
    const { schema, log, pool, tables } = await setup()
    const heard: string[] = []
    await pool.listen(inboxChannel(schema), (payload) => heard.push(payload))
    const bodies = [Buffer.from('{"a":1}'), Buffer.from('é\n\u0000'.repeat(40))]
    const ids = await tables.post(log.pool, 'n#1', [{ token: 7, body: bodies[0]! }, { token: 8, body: bodies[1]! }])
    await tables.post(log.pool, 'n#1', [{ token: 9, body: Buffer.alloc(NOTICE_MAX) }])
    while (heard.length < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(PgClusterTables.noticedCalls(heard[0]!)).toEqual([
      { id: ids[0], node: 'n#1', token: 7, body: bodies[0] },
      { id: ids[1], node: 'n#1', token: 8, body: bodies[1] },
    ])
    expect(heard[1]).toBe('inbox')
    expect(PgClusterTables.noticedCalls(heard[1]!)).toBeNull()
  })

  it('commits a batch only if it deletes the row of every call it applied, by id and token', async () => {
    const { log, tables, count } = await setup()
    const ids = await tables.post(log.pool, 'n#1', [{ token: 1, body: Buffer.from('{}') }, { token: 2, body: Buffer.from('{}') }])
    const reply = (id: number, token: number): Reply => ({ id, node: 'n#1', token, body: Buffer.from('{"ok":true}') })
    const append = (replies: Reply[], first: number) => {
      log.stageWithAppend = () => (tx, seq) => tables.stageReplies(tx, replies, seq)
      return log.append(makeBatch(first, 1), undefined, {} as DecidedTick)
    }
    // Another call's token under the first id (its id given out again), then a row that is gone.
    expect(await failure(() => append([reply(ids[0]!, 2), { ...reply(ids[1]!, 2), body: null }], 1))).toBeInstanceOf(Error)
    expect(await failure(() => append([reply(ids[0]!, 1), reply(ids[0]! + 100, 3)], 1))).toBeInstanceOf(Error)
    expect(await readAll(log, 0)).toEqual([])
    expect(await count()).toBe(2)
    await append([reply(ids[0]!, 1), { ...reply(ids[1]!, 2), body: null }], 1)
    expect((await readAll(log, 0)).length).toBe(1)
    expect(await count()).toBe(0)
    expect((await tables.collect(log.pool, 'n#1')).map((r) => [r.id, r.token, r.seq])).toEqual([[ids[0], 1, 1]])
  })
})
