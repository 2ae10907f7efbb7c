// `wharf explain UUID`: why a job is where it is, from explain() (API.md: Reason).

import type { Explanation, Reason } from './client.js'
import { oneJobCommand } from './command.js'
import { text, time } from './output.js'

export const explainCommand = oneJobCommand({
  name: 'explain',
  summary: 'say why a job is not running (or that it runs, or how it finished)',
  json: '{ "state": state, "reasons": [Reason...] } (API.md)',
  read: (client, uuid) => client.explain(uuid),
  show: showExplanation,
  // With --path or --postgres this process explains: it dispatches nothing and has no handler.
  note: (explanation, values) => {
    if (!explanation.reasons.some((r) => r.kind === 'stopped' || r.kind === 'no-handler')) return null
    if (values.path !== undefined) return `note: read from the store with no app running (--path): ${OWN_REASONS}`
    return values.postgres === undefined ? null : `note: read from this command's member of the cluster (--postgres): ${OWN_REASONS}`
  },
})

const OWN_REASONS = "'stopped' and 'no-handler' describe this command, which dispatches nothing and loads no handler; --url asks the running app"


function showExplanation(explanation: Explanation): string[] {
  const lines = [`state: ${explanation.state}`]
  if (explanation.reasons.length === 0) lines.push('no reason given')
  for (const reason of explanation.reasons) lines.push(`- ${sentence(reason)}`)
  return lines
}

/** One reason in words; a kind this version does not know, as its fields. */
export function sentence(r: Reason): string {
  const f = (key: string): string => text(r[key])
  const at = (key: string): string => time(r[key] as number | null)
  switch (r.kind) {
    case 'eta':
      return `waits for its eta, ${at('untilMs')}`
    case 'parents':
      return `waits for its parent job(s) to be done: ${list(r.waitingFor)}${stuck(r.failed, 'failed')}${stuck(r.cancelled, 'cancelled')}`
    case 'channel-full':
      return `channel ${f('channel')} is full: ${f('running')} running of capacity ${f('capacity')}`
    case 'paused':
      return `channel ${f('channel')} is paused`
    case 'throttled':
      return `channel ${f('channel')} is throttled until ${at('untilMs')}`
    case 'sequential-blocked':
      return `channel ${f('channel')} is sequential and job ${f('by')} goes first`
    case 'outranked':
      return `${f('ahead')} job(s) go before it in channel ${f('channel')}`
    case 'no-handler':
      return `no handler is registered for ${f('function')}`
    case 'workers-busy':
      return `every cluster member that runs ${f('function')} has all its workers busy`
    case 'stopped':
      return 'Wharf is not dispatching (not started, or stopped)'
    case 'retry-wait':
      // `retry` counts the tries made (each start adds one): the one that waits is the next.
      return typeof r.retry === 'number' ? `waits to retry (try ${r.retry + 1}, retry ${r.retry}) until ${at('untilMs')}` : `waits to retry until ${at('untilMs')}`
    case 'running':
      return `running since ${at('sinceMs')}`
    case 'finished':
      // A job that failed before 0.2 kept the time has none: say so rather than "at -".
      return r.atMs === null || r.atMs === undefined ? `finished ${f('state')} (when is not recorded)` : `finished ${f('state')} at ${at('atMs')}`
    default:
      return JSON.stringify(r)
  }
}

function list(uuids: unknown): string {
  return Array.isArray(uuids) ? uuids.join(', ') : '-'
}

/** The parents in `state` (failed, cancelled): done only once someone acts. (An app of a version
 * before this field sends none: nothing is said.) */
function stuck(uuids: unknown, state: string): string {
  if (!Array.isArray(uuids) || uuids.length === 0) return ''
  return `; ${state} (it waits until they are requeued or set done): ${list(uuids)}`
}
