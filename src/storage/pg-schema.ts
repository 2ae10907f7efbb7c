// The tables of a Wharf on PostgreSQL, in their own schema, and the migration runner that creates
// and upgrades them on open. `schema_version` holds one row per migration applied; a schema newer
// than this build is refused (an older Wharf must not write a layout it does not know). Migrations
// run under an advisory lock of their own (pg-lease.ts), so two processes never migrate at once,
// all pending ones in one transaction with their version rows: a crash leaves the schema at a version.
//
// Version 1:
//   log             one row per committed batch: first and last seq, the term of the scheduler
//                   that appended it, the batch in the log codec (codec.ts, CRC included)
//   meta            one row: compaction floor, current term, the snapshot (codec.ts) and its seq
//   history         finished jobs: filter columns (escaped text, key-escape.ts), finish time, view
//                   (view-codec.ts); indexes for jobs() filters in uuid order and for vacuum
//   history_counts  done / cancelled per channel, for stats()
//
// Version 2 (a cluster: many processes on one schema, pg-cluster.ts):
//   inbox           followers' calls waiting for the scheduler: the call (cluster wire format),
//                   its node; deleted in the transaction that appends its events
//   reply           the scheduler's answer to an inbox row, written in that same transaction, with
//                   the log's last seq then; deleted by the follower that reads it
//   member          one row per process on the schema: its role, term, running handlers, last heartbeat
//
// Version 3 (workers on every member, runtime/cluster.ts):
//   member          + worker: the id its starts are assigned under (one per open of a process);
//                   + workers: its handler slots (null: unlimited); + functions: the job functions
//                   it runs (JSON [model, methods][]), null while it takes no work (not started)
//
// Version 4 (a call's reply reaches that call only, runtime/inbox-client.ts):
//   inbox, reply    + token: the caller's number for the call, unique with its node (an open's
//                   address); the scheduler copies it from the call's row into its reply, and the
//                   caller takes a reply for the call holding that token only. An inbox id alone
//                   does not name one call: the server can give a lost post's id out again.
//                   Null in rows of a Wharf of version 3 (read as before: by id).
//
// Version 5 (appends overlap, pg-log.ts):
//   meta            + last_seq: the last seq of the log (the floor when the log is empty). Each
//                   append moves it from its first seq - 1 to its last seq in the statement that
//                   checks its term, and fails unless it finds its first seq - 1 there: an append
//                   sent while the one before it commits commits only after it, never after a
//                   lost one. A term bump sets it again from the log (a Wharf of version 4 that
//                   was the scheduler while the schema migrated appended without moving it).
//
// Version 6 (jobs({ batchUuid }) reads history too):
//   history         + batch_uuid: the batch of a finished job (escaped), indexed like graph_uuid;
//                   filled for the rows already there from their views (backfillBatches), in the
//                   migration's transaction.
//
// Version 7 (one channel configuration per cluster, runtime/cluster-channels.ts):
//   meta            + channels, channels_node: the channel configuration of the scheduler of the
//                   current term (canonical text, channel-config.ts) and its node, written by the
//                   transaction that takes the term; every member's state follows it. Null until
//                   a scheduler of this version took a term.

import { StorageError } from '../engine/errors.js'
import type { PgPool, PgQueries } from './pg-driver.js'
import { esc, unesc } from './key-escape.js'
import { decodeView } from './view-codec.js'

/** The newest layout this build writes. */
export const PG_SCHEMA_VERSION = 7

/** Migrations by the version they create; each is run in one transaction. */
const MIGRATIONS: Readonly<Record<number, (s: string) => string[]>> = {
  1: (s) => [
    `CREATE TABLE ${s}.log (first_seq bigint PRIMARY KEY, last_seq bigint NOT NULL, term bigint NOT NULL, body bytea NOT NULL)`,
    `CREATE TABLE ${s}.meta (id int PRIMARY KEY CHECK (id = 1), floor_seq bigint NOT NULL, term bigint NOT NULL, snapshot_seq bigint, snapshot bytea)`,
    `INSERT INTO ${s}.meta (id, floor_seq, term) VALUES (1, 0, 0)`,
    `CREATE TABLE ${s}.history (uuid text COLLATE "C" PRIMARY KEY, state text NOT NULL, channel text NOT NULL, model text NOT NULL, method text NOT NULL, ` +
      `identity_key text, graph_uuid text, finished_at bigint NOT NULL, view bytea NOT NULL)`,
    `CREATE INDEX history_channel ON ${s}.history (channel, state, uuid)`,
    `CREATE INDEX history_state ON ${s}.history (state, uuid)`,
    `CREATE INDEX history_function ON ${s}.history (model, method, uuid)`,
    `CREATE INDEX history_identity ON ${s}.history (identity_key, uuid) WHERE identity_key IS NOT NULL`,
    `CREATE INDEX history_graph ON ${s}.history (graph_uuid, uuid) WHERE graph_uuid IS NOT NULL`,
    `CREATE INDEX history_finished ON ${s}.history (finished_at, uuid)`,
    `CREATE TABLE ${s}.history_counts (channel text PRIMARY KEY, done bigint NOT NULL, cancelled bigint NOT NULL)`,
  ],
  2: (s) => [
    `CREATE TABLE ${s}.inbox (id bigserial PRIMARY KEY, node text NOT NULL, body bytea NOT NULL, posted_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE ${s}.reply (id bigint PRIMARY KEY, node text NOT NULL, seq bigint NOT NULL, body bytea NOT NULL)`,
    `CREATE INDEX reply_node ON ${s}.reply (node)`,
    `CREATE TABLE ${s}.member (node text PRIMARY KEY, role text NOT NULL, term bigint NOT NULL, running integer NOT NULL DEFAULT 0, joined_at timestamptz NOT NULL DEFAULT now(), seen_at timestamptz NOT NULL DEFAULT now())`,
  ],
  3: (s) => [`ALTER TABLE ${s}.member ADD COLUMN worker text, ADD COLUMN workers integer, ADD COLUMN functions text`],
  4: (s) => [`ALTER TABLE ${s}.inbox ADD COLUMN token bigint`, `ALTER TABLE ${s}.reply ADD COLUMN token bigint`],
  5: (s) => [
    `ALTER TABLE ${s}.meta ADD COLUMN last_seq bigint`,
    `UPDATE ${s}.meta SET last_seq = greatest(floor_seq, coalesce((SELECT max(last_seq) FROM ${s}.log), 0))`,
    `ALTER TABLE ${s}.meta ALTER COLUMN last_seq SET NOT NULL`,
  ],
  6: (s) => [
    `ALTER TABLE ${s}.history ADD COLUMN batch_uuid text`,
    `CREATE INDEX history_batch ON ${s}.history (batch_uuid, uuid) WHERE batch_uuid IS NOT NULL`,
  ],
  7: (s) => [`ALTER TABLE ${s}.meta ADD COLUMN channels text, ADD COLUMN channels_node text`],
}

/** Rows of history read at once by the backfill of version 6. */
const BACKFILL_CHUNK = 1_000

/** Version 6's column for the rows written before it: the batch is in each row's view only. */
async function backfillBatches(tx: PgQueries, s: string): Promise<void> {
  for (let after = ''; ; ) {
    const { rows } = await tx.query(`SELECT uuid, view FROM ${s}.history WHERE uuid > $1 ORDER BY uuid LIMIT ${BACKFILL_CHUNK}`, [after])
    if (rows.length === 0) return
    const uuids: string[] = []
    const batches: string[] = []
    for (const row of rows) {
      const batchUuid = decodeView(row.view as Uint8Array, unesc(row.uuid as string)).batchUuid
      if (batchUuid === null) continue
      uuids.push(row.uuid as string)
      batches.push(esc(batchUuid))
    }
    if (uuids.length > 0) {
      await tx.query(`UPDATE ${s}.history h SET batch_uuid = b.batch FROM unnest($1::text[], $2::text[]) AS b(uuid, batch) WHERE h.uuid = b.uuid`, [uuids, batches])
    }
    after = rows[rows.length - 1]!.uuid as string
  }
}

/** A schema name Wharf accepts: an unquoted lowercase identifier (no quoting surprises), not
 * starting with pg_ (PostgreSQL reserves those for its own schemas and refuses to create one). */
export const SCHEMA_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/

/**
 * Schemas a name may pass SCHEMA_NAME for but Wharf's tables never live in: `public`, where an
 * app's own tables are by default — Wharf's (log, meta, member, inbox, reply, history…) would mix
 * with them, a tool that resets or migrates the app's schema would drop or change them with it,
 * and CREATE TABLE IF NOT EXISTS would take an app table of the same name for Wharf's own — and
 * PostgreSQL's information_schema.
 */
export const SHARED_SCHEMAS: ReadonlySet<string> = new Set(['public', 'information_schema'])

/** Why Wharf's tables may not live in `schema` (null: they may). */
export function schemaProblem(schema: string): string | null {
  if (!SCHEMA_NAME.test(schema)) return 'must be a lowercase SQL identifier (letters, digits, _; at most 63; not starting with pg_, which PostgreSQL reserves)'
  if (SHARED_SCHEMAS.has(schema)) return `must be a schema of Wharf's own, not ${schema} (Wharf's tables would mix with the app's or the server's, where a reset or migration of those touches them): the default is wharf`
  return null
}

/** The schema as an SQL identifier (checked, then quoted). */
export function schemaIdent(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new RangeError(`schema ${JSON.stringify(schema)} is not a lowercase SQL identifier`)
  return `"${schema}"`
}

/** Create the schema at PG_SCHEMA_VERSION, or bring an older one up to it; refuse a newer one. */
export async function migrate(sql: PgPool, schema: string, newest = PG_SCHEMA_VERSION): Promise<number> {
  const s = schemaIdent(schema)
  await sql.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
  await sql.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
  const [row] = (await sql.query(`SELECT coalesce(max(version), 0) AS version FROM ${s}.schema_version`)).rows
  const found = Number(row!.version)
  if (found > newest) {
    throw new StorageError(
      `the PostgreSQL schema ${JSON.stringify(schema)} is at version ${found}, written by a newer Wharf; this one knows versions up to ${newest}: upgrade Wharf (nothing was changed)`,
    )
  }
  // Every pending migration with its version row, sent together (pipelined, in order) in one
  // transaction: a fresh schema per open is what the tests pay most; a crash leaves the old version.
  const statements: string[] = []
  for (let version = found + 1; version <= newest; version++) {
    const migration = MIGRATIONS[version]
    if (migration === undefined) throw new Error(`no migration to schema version ${version}`)
    statements.push(...migration(s), `INSERT INTO ${s}.schema_version (version) VALUES (${version})`)
  }
  if (statements.length === 0) return newest
  await sql.transaction(async (tx) => {
    await Promise.all(statements.map((statement) => tx.query(statement)))
    // A fresh schema has no history to fill.
    if (found >= 1 && found < 6 && newest >= 6) await backfillBatches(tx, s)
  })
  return newest
}
