// What a command of the `wharf` CLI is, and how the commands that read or change jobs reach
// Wharf: --path (a store no process holds), --url (a running app's dashboard) or --postgres (a
// cluster on PostgreSQL, joined as a member that never schedules), exactly one of them.

import { CONNECT_OPTIONS, postgresOption, stringOption, tokenOption, UsageError, urlOption, uuidArgs, type OptionSpecs, type Values } from './args.js'
import type { OperatorClient } from './client.js'
import { ClusterClient } from './cluster-client.js'
import { HttpClient } from './http-client.js'
import { LocalClient } from './local-client.js'
import type { Output } from './output.js'

export interface Context {
  values: Values
  positionals: string[]
  out: Output
}

/** Exit codes: 0 success, 1 a refused action or a problem found, 2 bad usage. */
export const EXIT_OK = 0
export const EXIT_REFUSED = 1
export const EXIT_USAGE = 2

export interface Command {
  name: string
  /** One line, for `wharf help`. */
  summary: string
  /** The synopsis, printed with every usage error of the command. */
  usage: string
  /** More lines for `wharf help <command>`. */
  details: readonly string[]
  /** Options beyond --json and --help. */
  options: OptionSpecs
  /** Runs the command; resolves with its exit code. */
  run(ctx: Context): Promise<number>
}

/** The synopsis fragment of a command that connects. */
export const CONNECT_USAGE = '(--path DIR | --url URL [--token T] | --postgres URL [--schema S])'

export const CONNECT_DETAILS: readonly string[] = [
  '--path DIR      a store no process holds: opened without dispatching (no handler runs), then closed',
  '--url URL       a running app: its dashboard base URL, e.g. http://127.0.0.1:7777',
  '--token T       the dashboard token (default: the WHARF_TOKEN environment variable)',
  '--postgres URL  a cluster on PostgreSQL, e.g. postgres://wharf@127.0.0.1:5432/app: joined as a member',
  '                that reads its replica and sends actions to the scheduler (never becomes it), then leaves',
  "--schema S      the cluster's schema (default wharf)",
]

/** Options of a command that connects, plus its own. */
export function connecting(own: OptionSpecs = {}): OptionSpecs {
  return { ...CONNECT_OPTIONS, ...own }
}

const LOCKED_HINT = 'ask the app that holds it instead: `--url` with the address of its dashboard (wharf.serveDashboard() or dashboard())'

/** Connect as the options say, run `body`, and close (also when `body` throws). `out`: where a
 * cluster client says what an action waits for, when the scheduler is slow to answer it. */
export async function withClient<T>(values: Values, body: (client: OperatorClient) => Promise<T>, out?: Output): Promise<T> {
  const path = stringOption(values, 'path')
  const url = urlOption(values)
  const postgres = postgresOption(values)
  const given = [path && '--path', url && '--url', postgres && '--postgres'].filter((g) => g !== undefined)
  if (given.length === 0) throw new UsageError('give --path DIR, --url URL or --postgres URL')
  if (given.length > 1) throw new UsageError(`give one of --path, --url and --postgres, not ${given.join(' and ')}`)
  if (url === undefined && values.token !== undefined) throw new UsageError(`--token goes with --url (${path !== undefined ? 'a store on disk' : 'a cluster on PostgreSQL'} has no token)`)
  const client =
    path !== undefined ? await LocalClient.open(path, LOCKED_HINT)
    : postgres !== undefined ? await ClusterClient.join(postgres, stringOption(values, 'schema'), { note: out === undefined ? null : (line) => out.note(line) })
    : new HttpClient(url!, tokenOption(values))
  try {
    return await body(client)
  } finally {
    await client.close()
  }
}

/** A command that reads one job, `wharf <name> UUID`, and shows the answer. */
export function oneJobCommand<T>(spec: {
  name: string
  summary: string
  /** The JSON document, described for the help. */
  json: string
  read(client: OperatorClient, uuid: string): Promise<T>
  show(answer: T): string[]
  /** A line for people about how the answer was got (stderr), or null. */
  note?(answer: T, values: Values): string | null
}): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: `wharf ${spec.name} UUID ${CONNECT_USAGE} [--json]`,
    details: [...CONNECT_DETAILS, `JSON: ${spec.json}`],
    options: connecting(),
    async run({ values, positionals, out }) {
      const [uuid] = uuidArgs(positionals, 1)
      const answer = await withClient(values, (client) => spec.read(client, uuid!))
      out.answer(answer, () => spec.show(answer))
      const note = out.json ? null : (spec.note?.(answer, values) ?? null)
      if (note !== null) out.note(note)
      return EXIT_OK
    },
  }
}
