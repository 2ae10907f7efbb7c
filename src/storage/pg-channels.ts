// The NOTIFY channels of a schema's cluster (names of at most 63 bytes, as PostgreSQL requires,
// made of plain ASCII characters whatever a node is named).
// Each message goes where only those who need it listen: a notification wakes every listener's
// process and its server backend. The schema's channel: appends ('log'), leaves, members. The
// inbox's: posts, for the scheduler. A caller's: the replies to its calls.

import { crc32Text } from './crc32.js'
import type { PgQueries, PgRows } from './pg-driver.js'

/** The longest content a notification carries (an append's batch, a post's calls, a caller's
 * replies): PostgreSQL refuses payloads of 8,000 bytes or more, and this leaves room for the
 * words around it. Larger content is told by a bare notice, and read from its rows. */
export const NOTICE_MAX = 7900

/** A NOTIFY: [channel, payload]. */
export type Notice = [channel: string, payload: string]

/**
 * What a write adds to a transaction: its statements, and the notices that announce it, sent by
 * whoever runs the transaction — after its COMMIT when it can (PgLog.append): a transaction that
 * NOTIFYs takes PostgreSQL's notify lock before committing and holds it until its commit is
 * flushed, and every other commit that NOTIFYs (each follower's post) waits for it meanwhile.
 */
export interface Staged {
  statements: Promise<PgRows>[]
  notices: Notice[]
}

/** Send `notices`, in order, in one statement (of the transaction of `q`). `suffix`: SQL after
 * its FROM item (a join, a WHERE that decides whether they go at all). */
export function sendNotices(q: PgQueries, notices: readonly Notice[], suffix = '', params: readonly unknown[] = []): Promise<PgRows> {
  return q.query(`SELECT pg_notify(n.c, n.p) FROM unnest($1::text[], $2::text[]) AS n(c, p) ${suffix}`, [notices.map((n) => n[0]), notices.map((n) => n[1]), ...params])
}

/** The NOTIFY channel of a schema's cluster: every member listens to it. */
export function notifyChannel(schema: string): string {
  return channelName(schema)
}

/** The channel of a schema's inbox (pg-cluster.ts): posts wake the scheduler only, which alone
 * listens to it — on the schema's channel, each post woke every member and its backend. */
export function inboxChannel(schema: string): string {
  return channelName(`${schema}:inbox`)
}

/** The channel of the replies to caller `address` (a member's `<node>#<open id>`): a reply wakes
 * its caller only. Names that collide (crc32) cost a wakeup, never an answer: each reply names
 * its caller (PgClusterTables.noticedReplies). */
export function replyChannel(schema: string, address: string): string {
  return channelName(`${schema}:reply:${address}`)
}

/** Characters a name keeps as they are: one byte each in UTF-8, and nothing to quote. */
const PLAIN = /[^A-Za-z0-9_:#.-]/g

/**
 * `wharf_<text>` when that is plain and at most 63 characters (so bytes); else its first 48
 * characters made plain, and the crc32 of the whole text: a node name may hold any character,
 * and PostgreSQL refuses a NOTIFY to a channel of 64 bytes or more (and LISTEN truncates it).
 */
function channelName(text: string): string {
  const plain = text.replace(PLAIN, '_')
  if (plain === text && plain.length <= 57) return 'wharf_' + text
  return `wharf_${plain.slice(0, 48)}_${crc32Text(text).toString(16)}`
}
