// `wharf dashboard --path DIR`: serve the dashboard over a store no process holds (opened without
// dispatching, like every --path command), until SIGINT or SIGTERM; then close the server and
// the store cleanly. `--postgres URL`: over a cluster, from a member that never schedules (reads
// from its replica, actions through the inbox), which leaves the cluster when it stops.

import { integerOption, positionalArgs, postgresOption, stringOption, tokenOption, UsageError, type Values } from './args.js'
import { Refusal } from './client.js'
import { ClusterClient } from './cluster-client.js'
import { EXIT_OK, type Command } from './command.js'
import { LocalClient } from './local-client.js'
import { DEFAULT_HOST as HOST_DEFAULT, DEFAULT_PORT as PORT_DEFAULT } from '../dashboard/serve.js'

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'serve the dashboard over a store no process holds, or over a cluster, until Ctrl-C',
  usage: 'wharf dashboard (--path DIR | --postgres URL [--schema S]) [--port 7777] [--host 127.0.0.1] [--token T] [--read-only] [--json]',
  details: [
    '--path DIR   the store (a running app serves its own: wharf.serveDashboard())',
    '--postgres URL, --schema S  a cluster on PostgreSQL (schema default wharf), served from a member',
    '             that never becomes the scheduler: actions are applied by the app\'s scheduler',
    `--port N     0 to 65535 (default ${PORT_DEFAULT}; 0: any free port)`,
    `--host H     the address to listen on (default ${HOST_DEFAULT}; another, such as 0.0.0.0, needs --token)`,
    '--token T    require this token of every API request (default: the WHARF_TOKEN environment variable)',
    '--read-only  refuse every action: requeue, cancel, done, remove, purge, and pausing or resuming',
    '             a channel or a cron',
    'With --path, channels have no capacity, sequential or throttleSeconds (the page shows \'-\'):',
    'those are the app\'s configuration, not stored.',
    'Prints the URL, then serves until SIGINT or SIGTERM. JSON: { "url" } once listening.',
  ],
  options: { path: { type: 'string' }, postgres: { type: 'string' }, schema: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' }, 'read-only': { type: 'boolean' } },
  async run({ values, positionals, out }) {
    positionalArgs(positionals, 'argument', 0)
    const source = sourceOption(values)
    const port = integerOption(values, 'port', 0, 65_535, PORT_DEFAULT)
    const host = stringOption(values, 'host') ?? HOST_DEFAULT
    const token = tokenOption(values)
    const stopped = nextSignal()
    const client =
      source.postgres !== undefined
        ? await ClusterClient.join(source.postgres, stringOption(values, 'schema'))
        : await LocalClient.open(source.path, 'the app that holds it can serve the dashboard itself: wharf.serveDashboard()')
    try {
      const server = await client.serveDashboard({ port, host, readOnly: values['read-only'] === true, ...(token === undefined ? {} : { token }) }).catch((error: unknown) => {
        throw listenRefusal(error, host, port)
      })
      const what = source.postgres !== undefined ? `the cluster in schema ${stringOption(values, 'schema') ?? 'wharf'}` : source.path
      out.answer({ url: server.url }, () => [`dashboard of ${what} at ${server.url} (Ctrl-C stops it)`])
      await stopped.signal
      await server.close()
    } finally {
      stopped.dispose()
      await client.close()
    }
    return EXIT_OK
  },
}

/** Why the server could not listen, as what to do (exit 1); any other error as it is. */
const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use; give another --port (0: any free port)',
  EACCES: 'this user may not listen on that port (below 1024 needs privileges); give another --port',
  EADDRNOTAVAIL: 'no interface of this machine has that address; give another --host',
  ENOTFOUND: 'that host name does not resolve; give another --host',
}

function listenRefusal(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code
  const why = code === undefined ? undefined : LISTEN_ERRORS[code]
  if (why === undefined) return error
  return new Refusal({ name: 'ListenError', code: code!, message: `cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port} (${code}): ${why}` })
}

/** --path or --postgres, exactly one. */
function sourceOption(values: Values): { path: string; postgres?: undefined } | { path?: undefined; postgres: string } {
  const path = stringOption(values, 'path')
  const postgres = postgresOption(values)
  if (path !== undefined && postgres !== undefined) throw new UsageError('give --path or --postgres, not both')
  if (path !== undefined) return { path }
  if (postgres !== undefined) return { postgres }
  throw new UsageError('missing --path (or --postgres)')
}

/** Resolves on the first SIGINT or SIGTERM; until disposed, those signals do not end the process. */
function nextSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let onSignal!: (signal: NodeJS.Signals) => void
  const signal = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
