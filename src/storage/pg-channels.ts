// The NOTIFY channels of a schema's cluster (names of at most 63 bytes, as PostgreSQL requires).
// Each message goes where only those who need it listen: a notification wakes every listener's
// process and its server backend. The schema's channel: appends ('log'), leaves, members. The
// inbox's: posts, for the scheduler. A caller's: the replies to its calls.

import { crc32Text } from './crc32.js'

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

function channelName(text: string): string {
  const name = 'wharf_' + text
  if (name.length <= 63) return name
  return `wharf_${text.slice(0, 48)}_${crc32Text(text).toString(16)}`
}
