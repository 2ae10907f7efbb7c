// `wharf cluster`: who schedules, and the members alive — wharf.cluster() of the app (--url) or of
// a member the command joins as (--postgres, listed too: it never schedules). A store on disk
// (--path) is one process's, no cluster: refused.

import { positionalArgs, UsageError } from './args.js'
import type { ClusterView } from '../engine/runtime/cluster.js'
import { connecting, EXIT_OK, withClient, type Command } from './command.js'
import { table, time } from './output.js'

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'the scheduler, the term and the members alive of a cluster on PostgreSQL',
  usage: 'wharf cluster (--url URL [--token T] | --postgres URL [--schema S]) [--json]',
  details: [
    '--url URL       a running app: its dashboard base URL; the members as that process sees them',
    '--postgres URL  the cluster on PostgreSQL: joined as a member that never schedules (listed, marked "this command")',
    "--schema S      the cluster's schema (default wharf)",
    'Members alive: a heartbeat (every second) under 10 s old, and their PostgreSQL session still on. LAST SEEN is',
    "their last heartbeat by the answering process's clock. An embedded app (--url) answers as a cluster of one, at term 0.",
    'STARTED: it called start() and takes work; WORKERS: the handlers it runs at once (its workers option).',
    'JSON: wharf.cluster(): { node, leader, role, term, nodes: [{ node, lastSeenMs, running, role, term, started, workers }] }',
  ],
  options: connecting(),
  async run({ values, positionals, out }) {
    // (Before the store is opened: it would be, and answer as a cluster of one, the CLI itself.)
    if (values.path !== undefined) throw new UsageError("--path: a store on disk is one process's, not a cluster; give --url URL or --postgres URL")
    positionalArgs(positionals, 'argument', 0)
    const view = await withClient(values, (client) => client.cluster())
    out.answer(view, () => showCluster(view, values.postgres !== undefined))
    return EXIT_OK
  },
}

function showCluster(view: ClusterView, joined: boolean): string[] {
  const leader = view.leader === null ? 'none (no member holds the lease with a live session: a takeover under way, or no app running)' : view.leader
  const members = table(
    [{ header: 'NODE' }, { header: 'ROLE' }, { header: 'TERM', right: true }, { header: 'STARTED' }, { header: 'RUNNING', right: true }, { header: 'WORKERS', right: true }, { header: 'LAST SEEN' }, { header: '' }],
    view.nodes.map((n) => [
      n.node,
      n.role,
      String(n.term),
      // (A dashboard of an older Wharf answers without them.)
      n.started === undefined ? '-' : n.started ? 'started' : 'no',
      String(n.running),
      n.workers === undefined ? '-' : n.workers === null ? 'unlimited' : String(n.workers),
      time(n.lastSeenMs),
      n.node === view.node ? (joined ? 'this command' : 'answered') : '',
    ]),
  )
  return [`leader: ${leader}`, `term: ${view.term}`, '', ...(view.nodes.length === 0 ? ['no member alive'] : members)]
}
