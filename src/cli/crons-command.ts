// `wharf crons`: the recurring jobs the app declared.

import { positionalArgs } from './args.js'
import type { CronView } from '../engine/api/crons.js'
import { connecting, CONNECT_DETAILS, CONNECT_USAGE, EXIT_OK, withClient, type Command } from './command.js'
import { table, time } from './output.js'

export const cronsCommand: Command = {
  name: 'crons',
  summary: 'list recurring jobs',
  usage: `wharf crons ${CONNECT_USAGE} [--json]`,
  details: [...CONNECT_DETAILS, 'JSON: { "crons": [{ name, schedule, tz, catchUp, nextFireAt, lastFireAt, paused, function, description }] } (times in ms)'],
  options: connecting(),
  async run({ values, positionals, out }) {
    positionalArgs(positionals, 'argument', 0)
    const answer = await withClient(values, (client) => client.crons())
    out.answer(answer, () => (answer.crons.length === 0 ? ['no crons'] : showCrons(answer.crons as CronView[])))
    return EXIT_OK
  },
}

function showCrons(crons: readonly CronView[]): string[] {
  return table(
    [{ header: 'NAME' }, { header: 'SCHEDULE' }, { header: 'TZ' }, { header: 'CATCH UP' }, { header: 'NEXT FIRE' }, { header: 'LAST FIRE' }, { header: 'PAUSED' }, { header: 'FUNCTION' }],
    crons.map((c) => [c.name, c.schedule, c.tz, c.catchUp, time(c.nextFireAt), time(c.lastFireAt), c.paused ? 'paused' : '', c.function]),
  )
}
