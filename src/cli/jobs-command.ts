// `wharf jobs`: one page of jobs, filtered, in creation order; the next page with --after.

import { afterOption, functionOption, LIMIT_DETAIL, limitOption, orderOption, positionalArgs, stateOption, stringOption } from './args.js'
import type { JobsFilter } from './client.js'
import { connecting, CONNECT_DETAILS, CONNECT_USAGE, EXIT_OK, withClient, type Command } from './command.js'
import { table, text, time } from './output.js'

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list jobs, filtered, one page at a time',
  usage: `wharf jobs ${CONNECT_USAGE} [--state S] [--channel C] [--function MODEL.METHOD] [--batch UUID] [--limit N] [--order asc|desc] [--after UUID] [--json]`,
  details: [
    ...CONNECT_DETAILS,
    '--state S     wait_dependencies, pending, enqueued, started, done, cancelled or failed',
    "--channel C   the complete channel name ('mail' means root.mail)",
    '--function F  a job function, model.method (the method is what follows the last dot)',
    '--batch UUID  the jobs of this batch (wharf batches lists them)',
    LIMIT_DETAIL,
    '--order O     asc (oldest first, the default) or desc',
    '--after UUID  the page after this job: the uuid the previous page named as next',
    'JSON: { "jobs": [JobView...], "next": uuid | null, "failedAt": { uuid: ms } } (failedAt: when each failed job failed)',
  ],
  options: connecting({
    state: { type: 'string' },
    channel: { type: 'string' },
    function: { type: 'string' },
    batch: { type: 'string' },
    limit: { type: 'string' },
    order: { type: 'string' },
    after: { type: 'string' },
  }),
  async run({ values, positionals, out }) {
    positionalArgs(positionals, 'argument', 0)
    const filter: JobsFilter = {
      state: stateOption(values),
      channel: stringOption(values, 'channel'),
      ...functionOption(values),
      batchUuid: stringOption(values, 'batch'),
      limit: limitOption(values),
      order: orderOption(values),
      after: afterOption(values),
    }
    const page = await withClient(values, (client) => client.jobs(filter))
    out.answer(page, () => {
      if (page.jobs.length === 0) return ['no jobs']
      const rows = page.jobs.map((j) => [j.uuid, j.state, `${j.model}.${j.method}`, j.channel, String(j.priority), tries(j.retry, j.maxRetries), time(j.createdAt), text(j.description)])
      const lines = table(
        [{ header: 'UUID' }, { header: 'STATE' }, { header: 'FUNCTION', max: 40 }, { header: 'CHANNEL', max: 30 }, { header: 'PRIORITY', right: true }, { header: 'TRIES', right: true }, { header: 'CREATED' }, { header: 'DESCRIPTION', max: 50 }],
        rows,
      )
      if (page.next !== null) lines.push(`next page: --after ${page.next}`)
      return lines
    })
    return EXIT_OK
  },
}

/** Tries made of those allowed ('∞': maxRetries 0 retries forever, as in queue_job). */
function tries(retry: number, maxRetries: number): string {
  return `${retry}/${maxRetries === 0 ? '∞' : maxRetries}`
}
