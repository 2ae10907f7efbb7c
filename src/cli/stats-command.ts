// `wharf stats`: jobs per state, and per channel.

import { positionalArgs } from './args.js'
import type { Stats } from '../engine/api/queries.js'
import { JOB_STATES } from '../engine/core/events.js'
import { connecting, CONNECT_DETAILS, CONNECT_USAGE, EXIT_OK, withClient, type Command } from './command.js'
import { table } from './output.js'
import { withoutConfiguration } from '../dashboard/channel-config.js'

export const statsCommand: Command = {
  name: 'stats',
  summary: 'count jobs per state and per channel',
  usage: `wharf stats ${CONNECT_USAGE} [--json]`,
  details: [
    ...CONNECT_DETAILS,
    'With --path, capacities are not shown: they are the app\'s channel configuration, not stored. With --postgres,',
    'they are the cluster\'s: those its scheduler published.',
    'JSON: wharf.stats(): { "states": { state: count }, "channels": [{ name, capacity, running, paused, ... }] }',
    '(with --path, channels have no capacity, sequential or throttleSeconds: those are the app\'s configuration)',
  ],
  options: connecting(),
  async run({ values, positionals, out }) {
    positionalArgs(positionals, 'argument', 0)
    // A cluster's scheduler publishes its configuration (runtime/cluster-channels.ts): the CLI's member reads by it.
    const local = values.path !== undefined
    const stats = await withClient(values, (client) => client.stats())
    out.answer(local ? withoutConfiguration(stats) : stats, () => showStats(stats, local))
    return EXIT_OK
  },
}

function showStats(stats: Stats, local: boolean): string[] {
  const states = table(
    [{ header: 'STATE' }, { header: 'JOBS', right: true }],
    JOB_STATES.map((s) => [s, String(stats.states[s] ?? 0)]),
  )
  const channels = table(
    [{ header: 'CHANNEL' }, { header: 'CAPACITY', right: true }, { header: 'RUNNING', right: true }, ...JOB_STATES.map((s) => ({ header: s.toUpperCase(), right: true })), { header: 'PAUSED' }],
    stats.channels.map((c) => [
      c.name,
      // undefined: a dashboard served by `wharf dashboard --path` (channel-config.ts)
      local || c.capacity === undefined ? '-' : c.capacity === null ? 'none' : String(c.capacity),
      String(c.running),
      ...JOB_STATES.map((s) => String(c[s] ?? 0)),
      c.paused ? 'paused' : '',
    ]),
  )
  return [...states, '', ...channels]
}
