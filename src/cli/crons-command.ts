// `wharf crons`: the recurring jobs the app declared.

import { positionalArgs } from './args.js'
import { connecting, CONNECT_DETAILS, CONNECT_USAGE, EXIT_OK, withClient, type Command } from './command.js'

export const cronsCommand: Command = {
  name: 'crons',
  summary: 'list recurring jobs',
  usage: `wharf crons ${CONNECT_USAGE} [--json]`,
  details: [...CONNECT_DETAILS, 'JSON: { "crons": [...] }'],
  options: connecting(),
  async run({ values, positionals, out }) {
    positionalArgs(positionals, 'argument', 0)
    const answer = await withClient(values, (client) => client.crons())
    out.answer(answer, () => (answer.crons.length === 0 ? ['no crons'] : answer.crons.map((c) => JSON.stringify(c))))
    return EXIT_OK
  },
}
