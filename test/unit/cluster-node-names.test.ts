// Proves a node name belongs to one live process of a cluster (real PostgreSQL server): a second
// open under the name of a live member — scheduler or follower — is refused with
// NodeNameInUseError naming the node and its heartbeat age, before anything is written (member
// row, term, log and inbox as they were); the name is free again once its holder closed, or died
// (a SIGKILLed worker process: its job is recovered and runs again under the new process).
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidPropertyError, NodeNameInUseError, Wharf } from '../../src/index.js'
import { connect } from '../../src/storage/pg-driver.js'
import { spawnScript } from '../cluster/spawn.js'
import { clusterMembers, pgTestDatabase } from '../pg/database.js'
import { failure } from './helpers.js'

const db = pgTestDatabase()

async function query(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const pool = await connect(db.url())
  try {
    return (await pool.query(sql, params)).rows
  } finally {
    await pool.end()
  }
}

/** What an open could write: the member rows, the term, the log and the inbox. */
async function written(schema: string): Promise<unknown> {
  const [members, meta, log, inbox] = await Promise.all([
    query(`SELECT node, worker, role, term FROM ${schema}.member ORDER BY node`),
    query(`SELECT term, floor_seq FROM ${schema}.meta`),
    query(`SELECT count(*)::int AS n, max(last_seq)::int AS last FROM ${schema}.log`),
    query(`SELECT count(*)::int AS n FROM ${schema}.inbox`),
  ])
  return { members, meta, log, inbox }
}

/** Some session holds node name `node`'s lock on `schema`. */
async function nameHeld(schema: string, node: string): Promise<boolean> {
  const [row] = await query(
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
    [`wharf-node:${schema}:${node}`],
  )
  return row!.n === 1
}

describe('node names in a cluster', () => {
  const open = clusterMembers(db)
  const children: ChildProcess[] = []
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  it('refuses a second open under the name of a live member, scheduler or follower, before writing anything', async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'web-1')
    const follower = await open(schema, 'web-2')
    const partner = scheduler.model('res.partner', { double: (n: number) => n * 2 })
    await scheduler.start()
    await partner.withDelay().double(1)
    await scheduler.settled()
    for (const node of ['web-1', 'web-2']) {
      const before = await written(schema)
      const error = await failure(() => Wharf.open({ postgres: db.url(), schema, node, channels: 'root:2' }))
      expect(error).toBeInstanceOf(NodeNameInUseError)
      expect(error).toMatchObject({ code: 'NODE_NAME_IN_USE', node, schema })
      const age = (error as NodeNameInUseError).heartbeatAgeMs
      expect(age).toBeGreaterThanOrEqual(0)
      expect((error as Error).message).toContain(`the node name "${node}" is in use in the cluster of PostgreSQL schema "${schema}"`)
      expect((error as Error).message).toContain(`its last heartbeat is ${(age! / 1000).toFixed(1)} s old`)
      expect(await written(schema)).toEqual(before)
    }
    // Both go on as they were.
    expect(follower.cluster()).toMatchObject({ node: 'web-2', role: 'follower' })
    const job = await follower.model('res.partner', { double: (n: number) => -n }).withDelay().double(21) // never started: the scheduler runs it
    expect(await follower.result(job.uuid)).toBe(42)
  })

  it("refuses a name PostgreSQL's text cannot hold as given (a NUL, a lone surrogate), before writing anything", async () => {
    // A lone surrogate became U+FFFD in the member row but not in the worker id the log carries,
    // so the member never recognised the starts assigned to it: its jobs stayed started for ever.
    // A NUL failed inside PostgreSQL with a StorageError instead of the bad-input error.
    const schema = db.schema()
    await open(schema, 'web-1')
    const before = await written(schema)
    for (const node of ['web\ud800-2', 'web\u0000-2']) {
      const error = await failure(() => Wharf.open({ postgres: db.url(), schema, node, channels: 'root:2' }))
      expect(error).toBeInstanceOf(InvalidPropertyError)
      expect((error as Error).message).toBe(`Wharf.open(): node must be a non-empty string of at most 200 characters, well-formed text with no control characters, got ${JSON.stringify(node)}`)
    }
    expect(await written(schema)).toEqual(before)
  })

  it('frees the name once its holder closed: the next open under it joins', async () => {
    const schema = db.schema()
    await open(schema, 'web-1')
    const first = await open(schema, 'web-2')
    await first.close()
    const again = await open(schema, 'web-2')
    expect(again.cluster()).toMatchObject({ node: 'web-2', role: 'follower' })
  })

  it("frees the name of a SIGKILLed process: the one opened under it takes its row over, and the job it ran is recovered and runs again there", async () => {
    const schema = db.schema()
    const scheduler = await open(schema, 'web-1')
    await scheduler.start()
    const started: number[] = []
    const { child, opened } = spawnScript('./worker-member.ts', [db.url(), schema, 'w1'], ([word, , retry]) => {
      if (word === 'STARTED') started.push(Number(retry))
    })
    children.push(child)
    await opened
    const client = await open(schema, 'web-2') // never started: it takes no work
    const job = await client.model('res.partner', { hang: () => 'not here' }).withDelay().hang()
    await expect.poll(() => started, { timeout: 15_000 }).toEqual([1])
    const [dead] = await query(`SELECT worker FROM ${schema}.member WHERE node = 'w1'`)
    child.kill('SIGKILL')
    // PostgreSQL ends the dead process's session (and its locks) as it notices the closed socket.
    await expect.poll(() => nameHeld(schema, 'w1'), { timeout: 15_000 }).toBe(false)
    const heir = await open(schema, 'w1')
    heir.model('res.partner', {
      hang() {
        return `ran on w1 again, try ${this.job!.retry}`
      },
    })
    await heir.start()
    expect(await scheduler.result(job.uuid)).toBe('ran on w1 again, try 2')
    const [row] = await query(`SELECT worker FROM ${schema}.member WHERE node = 'w1'`)
    expect(row!.worker).not.toBe(dead!.worker)
    expect(row!.worker).toMatch(/^w1#/)
  })
})
