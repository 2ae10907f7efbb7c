// The cluster's own tables (pg-schema.ts, versions 2 and 3) as statements: a follower posts a call
// to the inbox and collects its reply; the scheduler takes inbox rows, and with the batch that
// applies them (in PgLog.append's transaction) deletes them and writes their replies; every
// member heartbeats its row, announcing the work it takes, and holds a session lock of its own
// (memberLockKey) that tells the others at once when its process or connection is gone. Bodies
// are bytes here (runtime/cluster-wire.ts encodes them).

import { fail } from '../engine/core/assert.js'
import type { PgPool, PgQueries, PgRows } from './pg-driver.js'
import { inboxChannel, NOTICE_MAX, replyChannel, type Notice, type Staged } from './pg-channels.js'
import { schemaIdent } from './pg-schema.js'

/** The channel configuration of the scheduler of the current term (schema version 7), and its node. */
export interface PublishedChannels {
  channels: string
  node: string | null
}

/** `meta`'s published configuration, null when no scheduler wrote one. */
export function publishedOf(row: Record<string, unknown> | undefined): PublishedChannels | null {
  if (row === undefined || typeof row.channels !== 'string') return null
  return { channels: row.channels, node: typeof row.channels_node === 'string' ? row.channels_node : null }
}

export interface InboxRow {
  id: number
  node: string
  /** The caller's number for the call (schema version 4), copied into its reply; null in a row of
   * a caller of version 3. */
  token: number | null
  body: Uint8Array
}

/** A call to post: its body (cluster wire format) and its caller's number for it. */
export interface Posted {
  token: number
  body: Uint8Array
}

/** A reply to write: to the call of row `id` (its node and token), with its answer (null: none). */
export interface Reply {
  id: number
  node: string
  token: number | null
  body: Uint8Array | null
}


export interface ReplyRow {
  id: number
  /** Its call's token (InboxRow.token); null from a scheduler of version 3. */
  token: number | null
  /** The log's last seq once the call was applied: the follower reads from there. */
  seq: number
  body: Uint8Array
}

/** The role of a member row that marks a member that left cleanly (PgClusterTables.leave). */
const LEFT_ROLE = 'left'

export interface MemberRow {
  node: string
  role: 'scheduler' | 'follower'
  term: number
  lastSeenMs: number
  /** Handlers it was running at its last heartbeat. */
  running: number
}

/** What a member announces about the work it takes (version 3). */
export interface MemberWork {
  /** The id its starts are assigned under (one per open of a process). */
  worker: string
  /** Handler slots; null: unlimited. */
  workers: number | null
  /** The job functions it runs, as [model, methods]; null while it takes no work. */
  functions: [string, string[]][] | null
}

/** A member row as the scheduler reads it: with its work, and whether its session lock is held. */
export interface MemberState extends MemberRow {
  work: MemberWork | null
  /** Its process's session still holds its member lock (false: the process or its connection
   * died) — or its last heartbeat predates the server's start: a restart ended every session, and
   * a member has its lock again only at its first heartbeat after it; until then its age, counted
   * from the start, judges it (as the members' rows read so). */
  locked: boolean
  /** How old its heartbeat was when read, by the server's clock (ms): with the reader's own clock
   * since the read, its age now, whatever the two clocks say of the time. */
  ageMs: number
}

/** The key of member `worker`'s session lock on `schema` (hashtextextended of this text). */
export function memberLockKey(schema: string, worker: string): string {
  return `wharf-member:${schema}:${worker}`
}

/** The key of the lock on node name `node` of `schema`'s cluster: the session of the process
 * that goes by that name holds it, so that no other process opens under it. */
export function nodeLockKey(schema: string, node: string): string {
  return `wharf-node:${schema}:${node}`
}

/** SQL: is the advisory lock of bigint key `key` (an SQL expression) held by some session of this database? */
export function advisoryLockHeld(key: string, pid?: string): string {
  return (
    `EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 ` +
    `AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND ((l.classid::bigint << 32) | l.objid::bigint) = ${key}` +
    (pid === undefined ? ')' : ` AND l.pid = ${pid})`)
  )
}

export class PgClusterTables {
  private readonly s: string
  /** Where posts NOTIFY: the scheduler alone listens to it. */
  readonly inboxChannel: string

  constructor(
    private readonly schema: string,
    private readonly channel: string,
  ) {
    this.s = schemaIdent(schema)
    this.inboxChannel = inboxChannel(schema)
  }

  /**
   * Post calls, in order, in one statement; one NOTIFY on commit (on inboxChannel) that carries
   * the rows, 'inbox {"node", "calls": [[id, token, body base64]…]}', so that the scheduler applies
   * them without reading them (noticedCalls()), or a bare 'inbox' when they are too large to travel
   * so. Resolves with their ids, in the order of `calls` (matched by token: the tokens of one post
   * differ).
   *
   * The commit does not wait for the WAL flush (synchronous_commit off). Nobody is told anything
   * from this commit alone: a call is answered by its reply, which the scheduler writes in the
   * transaction that applies it (an append, writeAlone, or a refusal) — a commit that does wait
   * for the flush, made after the scheduler read the row, so after the row's commit record
   * entered the WAL; the WAL is flushed in order, so that flush covers the row too. An outcome
   * (nobody awaits it) is posted again until applied. What the server may lose in a crash is a
   * row nobody was answered for: the caller finds it gone (missing()) instead of waiting forever.
   */
  async post(sql: PgPool, node: string, calls: readonly Posted[]): Promise<number[]> {
    // The payload is made where the ids are given out (PostgreSQL's base64 breaks lines: taken out).
    const payload = `'inbox ' || json_build_object('node', $1::text, 'calls', json_agg(json_build_array(id, token, translate(encode(body, 'base64'), E'\\n', '')) ORDER BY id))::text`
    const { rows } = await sql.query(
      `WITH i AS (INSERT INTO ${this.s}.inbox (node, token, body) SELECT $1, t, b FROM unnest($2::bigint[], $3::bytea[]) WITH ORDINALITY AS u(t, b, o) ORDER BY o RETURNING id, token, body), ` +
        `n AS (SELECT pg_notify($4, CASE WHEN octet_length(p) <= $5 THEN p ELSE 'inbox' END) FROM (SELECT ${payload} AS p FROM i) x) ` +
        `SELECT i.id, i.token FROM i CROSS JOIN n CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) c`,
      [node, calls.map((c) => c.token), calls.map((c) => c.body), this.inboxChannel, NOTICE_MAX],
    )
    const ids = new Map(rows.map((row) => [Number(row.token), Number(row.id)]))
    return calls.map((c) => ids.get(c.token) ?? fail(`call ${c.token} was posted to the inbox, but no id came back for it`))
  }

  /**
   * Of calls that `node` posted (their ids and tokens), the tokens of those with neither their
   * inbox row nor a reply row now (one snapshot: a call's row and its reply change in one
   * transaction); a row of the same id and another token is another call's (the id was given out
   * again). Unless the caller collected the reply, the server lost the post (a crash before its
   * commit was flushed: post()), or swept the reply (its node went unseen for long: sweep()).
   */
  async missing(sql: PgPool, node: string, calls: readonly { id: number; token: number }[]): Promise<number[]> {
    // A reply without a token is a scheduler's of version 3: it names its call by id only.
    const { rows } = await sql.query(
      `SELECT u.token FROM unnest($2::bigint[], $3::bigint[]) AS u(id, token) WHERE NOT EXISTS (SELECT 1 FROM ${this.s}.inbox i WHERE i.id = u.id AND i.node = $1 AND i.token = u.token) ` +
        `AND NOT EXISTS (SELECT 1 FROM ${this.s}.reply r WHERE r.id = u.id AND r.node = $1 AND (r.token = u.token OR r.token IS NULL))`,
      [node, calls.map((c) => c.id), calls.map((c) => c.token)],
    )
    return rows.map((row) => Number(row.token))
  }

  /** The rows a post's notification carried (post()); null: none (a bare 'inbox': take them). */
  static noticedCalls(payload: string): InboxRow[] | null {
    if (!payload.startsWith('inbox {')) return null
    const notice = JSON.parse(payload.slice('inbox '.length)) as { node: string; calls: [number, number, string][] }
    return notice.calls.map(([id, token, body]) => ({ id, node: notice.node, token, body: Buffer.from(body, 'base64') }))
  }

  /** The oldest calls not in `taken` (ids of calls already being applied), at most `limit`. */
  async take(sql: PgPool, taken: readonly number[], limit: number): Promise<InboxRow[]> {
    const { rows } = await sql.query(`SELECT id, node, token, body FROM ${this.s}.inbox WHERE NOT (id = ANY($1::bigint[])) ORDER BY id LIMIT $2`, [taken, limit])
    return rows.map((row) => ({ id: Number(row.id), node: row.node as string, token: tokenOf(row.token), body: row.body as Uint8Array }))
  }

  /**
   * In the transaction of the batch that applied these calls: delete them, write the replies of
   * those that have one (body null: posted without a reply), each with its call's token; and the
   * notices that tell their callers, to send once it committed (Staged).
   *
   * The statement fails (a division by zero, which aborts the transaction) unless it deleted the
   * row of every call, matched by id and token: a batch never commits a call whose row is gone —
   * applied already (calls also come in their posts' notifications: post()), or lost by the server
   * with its post (its caller then finds it missing) — nor deletes another call's row under an id
   * given out again.
   */
  stageReplies(tx: PgQueries, replies: readonly Reply[], seq: number): Staged {
    const answered = replies.filter((r): r is Answered => r.body !== null)
    // One statement (each costs both sides its own messages): the CTEs run whether or not the
    // SELECT reads them. The rows are found by id (the primary key's index), then their tokens
    // compared: a join with the ids and tokens as a table would scan the inbox, dead rows and all.
    const statement = tx.query(
      `WITH d AS (DELETE FROM ${this.s}.inbox i WHERE i.id = ANY($1::bigint[]) AND i.token IS NOT DISTINCT FROM ($2::bigint[])[array_position($1::bigint[], i.id)] RETURNING 1), ` +
        `r AS (INSERT INTO ${this.s}.reply (id, node, seq, body, token) SELECT id, node, $4, body, token FROM unnest($3::bigint[], $5::text[], $6::bytea[], $7::bigint[]) AS r(id, node, body, token)) ` +
        `SELECT 1 / ((SELECT count(*) FROM d) = cardinality($1::bigint[]))::int AS deleted`,
      [replies.map((r) => r.id), replies.map((r) => r.token), answered.map((r) => r.id), seq, answered.map((r) => r.node), answered.map((r) => r.body), answered.map((r) => r.token)],
    )
    return { statements: [statement], notices: replyNotices(answered, seq, (node) => replyChannel(this.schema, node)) }
  }

  /** The replies a notification carried to caller `node` (replyNotices); null: none for it. */
  static noticedReplies(payload: string, node: string): ReplyRow[] | null {
    // Not parsed unless addressed to `node` (a reply channel shared by a crc32 collision, or the
    // schema's, from a scheduler of an older version, carries other callers' replies).
    if (!payload.startsWith(`reply {"node":${JSON.stringify(node)},`)) return null
    const notice = JSON.parse(payload.slice('reply '.length)) as { node: string; seq: number; replies: [number, string, number?][] }
    if (notice.node !== node) return null
    // (No token: from a scheduler of version 3.)
    return notice.replies.map(([id, body, token]) => ({ id, token: token ?? null, seq: notice.seq, body: Buffer.from(body, 'base64') }))
  }

  /** The replies to `node`'s calls, deleted as they are read. */
  async collect(sql: PgPool, node: string): Promise<ReplyRow[]> {
    const { rows } = await sql.query(`DELETE FROM ${this.s}.reply WHERE node = $1 RETURNING id, token, seq, body`, [node])
    return rows.map((row) => ({ id: Number(row.id), token: tokenOf(row.token), seq: Number(row.seq), body: row.body as Uint8Array }))
  }

  /** This process is alive (and in this role and term, taking this work). `changed`: its work is
   * not what it announced before — NOTIFY 'member', so that the scheduler reads it at once. */
  async heartbeat(sql: PgPool, node: string, role: MemberRow['role'], term: number, running: number, work: MemberWork, changed: boolean): Promise<void> {
    const functions = work.functions === null ? null : JSON.stringify(work.functions)
    await sql.query(
      `WITH m AS (INSERT INTO ${this.s}.member (node, role, term, running, worker, workers, functions) VALUES ($1, $2, $3, $4, $5, $6, $7) ` +
        `ON CONFLICT (node) DO UPDATE SET role = excluded.role, term = excluded.term, running = excluded.running, worker = excluded.worker, ` +
        `workers = excluded.workers, functions = excluded.functions, seen_at = now() RETURNING 1) SELECT ${changed ? "pg_notify($8, 'member')" : '1'} FROM m`,
      [node, role, term, running, work.worker, work.workers, functions, ...(changed ? [this.channel] : [])],
    )
  }

  /** Delete the replies no live member will collect: their node has not been seen for `goneMs`. */
  async sweep(sql: PgPool, goneMs: number): Promise<void> {
    // A reply's node is its caller's address, `<member node>#<open id>` (runtime/cluster.ts).
    await sql.query(
      `DELETE FROM ${this.s}.reply WHERE regexp_replace(node, '#[^#]*$', '') NOT IN (SELECT node FROM ${this.s}.member WHERE seen_at >= now() - make_interval(secs => $1))`,
      [goneMs / 1000],
    )
  }

  /** How old `node`'s heartbeat is (ms); null when it has no row. */
  async heartbeatAge(sql: PgPool, node: string): Promise<number | null> {
    const [row] = (await sql.query(`SELECT (extract(epoch FROM now() - seen_at) * 1000)::bigint AS age FROM ${this.s}.member WHERE node = $1`, [node])).rows
    return row === undefined ? null : Math.max(0, Number(row.age))
  }

  /**
   * `node` leaves the member table. `cleanly`: its worker id, when every run it launched has ended
   * with its outcome committed, so that the runs the scheduler may still give that worker were
   * never launched: a row marks it (role LEFT_ROLE, under the worker id, so that a process opening
   * under the node name at once does not overwrite it; deleted once older than the members' alive
   * time, as any row), and the scheduler is told at once (runtime/cluster.ts refuses those runs).
   */
  async leave(sql: PgPool, node: string, cleanly: string | null = null): Promise<void> {
    if (cleanly === null) return void (await sql.query(`DELETE FROM ${this.s}.member WHERE node = $1`, [node]))
    await sql.query(
      `WITH gone AS (DELETE FROM ${this.s}.member WHERE node = $1), mark AS (INSERT INTO ${this.s}.member (node, role, term, worker) VALUES ($2, '${LEFT_ROLE}', 0, $2) ` +
        `ON CONFLICT (node) DO NOTHING) SELECT pg_notify($3, 'member')`,
      [node, cleanly, this.channel],
    )
  }

  /** Members seen within `aliveMs`, by node; older rows (dead processes) are deleted. `left`: the
   * workers of the members that left cleanly (leave()) within `aliveMs`. */
  async members(sql: PgPool, aliveMs: number): Promise<{ members: MemberState[]; left: string[]; term: number; published: PublishedChannels | null }> {
    // A server that restarted (its start later than a heartbeat) ended every member's session, so
    // their locks say nothing of them until their next heartbeat (MemberState.locked), and the
    // time it was away is none of their silence: without both, every member was found dead by the
    // first read after a restart, and its running handlers' jobs recovered — run again while they
    // still ran, and failed as JobFoundDead past maxRetries.
    const since = `greatest(seen_at, pg_postmaster_start_time())`
    await sql.query(`DELETE FROM ${this.s}.member WHERE ${since} < now() - make_interval(secs => $1)`, [aliveMs / 1000])
    const locked = `(${advisoryLockHeld(`hashtextextended('wharf-member:' || $1 || ':' || m.worker, 0)`)} OR seen_at < pg_postmaster_start_time())`
    const [{ rows }, meta] = await Promise.all([
      sql.query(
        `SELECT node, role, term, running, worker, workers, functions, (extract(epoch FROM seen_at) * 1000)::bigint AS seen, (extract(epoch FROM now() - seen_at) * 1000)::bigint AS age, ${locked} AS locked FROM ${this.s}.member m ORDER BY node`,
        [this.schema],
      ),
      sql.query(`SELECT term, channels, channels_node FROM ${this.s}.meta WHERE id = 1`),
    ])
    return {
      term: Number(meta.rows[0]?.term ?? 0),
      published: publishedOf(meta.rows[0]),
      left: rows.filter((row) => row.role === LEFT_ROLE).map((row) => row.worker as string),
      members: rows.filter((row) => row.role !== LEFT_ROLE).map((row) => ({
        node: row.node as string,
        role: row.role as MemberRow['role'],
        term: Number(row.term),
        lastSeenMs: Number(row.seen),
        running: Number(row.running),
        work: row.worker === null ? null : { worker: row.worker as string, workers: row.workers === null ? null : Number(row.workers), functions: row.functions === null ? null : (JSON.parse(row.functions as string) as [string, string[]][]) },
        locked: row.locked === true,
        ageMs: Math.max(0, Number(row.age)),
      })),
    }
  }
}

/**
 * The NOTIFYs of a transaction's replies, as [channel, payload]: one per caller, on its channel
 * (`channelOf`), 'reply {"node", "seq", "replies": [[id, body base64, token]…]}', so that it is answered
 * without reading them (the rows stay, for a caller that missed the notification, and are
 * collected later); a bare 'reply' when its replies are too large to travel so.
 */
export function replyNotices(replies: readonly Answered[], seq: number, channelOf: (node: string) => string): Notice[] {
  const byNode = new Map<string, [number, string, number?][]>()
  for (const r of replies) {
    const entry: [number, string, number?] = [r.id, Buffer.from(r.body).toString('base64')]
    if (r.token !== null) entry.push(r.token) // (a reply to a caller of version 3 has none)
    const list = byNode.get(r.node)
    if (list === undefined) byNode.set(r.node, [entry])
    else list.push(entry)
  }
  const notices: Notice[] = []
  for (const [node, list] of byNode) {
    const notice = `reply ${JSON.stringify({ node, seq, replies: list })}`
    notices.push([channelOf(node), Buffer.byteLength(notice) <= NOTICE_MAX ? notice : 'reply'])
  }
  return notices
}

type Answered = Reply & { body: Uint8Array }

/** A token column's value (bigint comes as a string; null in a row of version 3). */
function tokenOf(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value)
}
