// `wharf batches`: one page of batches (wharf.batch()) with their progress; the next with --after.

import { BATCH_STATES, type BatchState } from '../engine/core/batch.js'
import { afterOption, LIMIT_DETAIL, limitOption, orderOption, positionalArgs, stringOption, UsageError } from './args.js'
import type { BatchesFilter } from './client.js'
import { connecting, CONNECT_DETAILS, CONNECT_USAGE, EXIT_OK, withClient, type Command } from './command.js'
import { table, text, time } from './output.js'

export const batchesCommand: Command = {
  name: 'batches',
  summary: 'list batches with their progress, one page at a time',
  usage: `wharf batches ${CONNECT_USAGE} [--state S] [--limit N] [--order asc|desc] [--after UUID] [--json]`,
  details: [
    ...CONNECT_DETAILS,
    `--state S     ${BATCH_STATES.join(', ')}`,
    LIMIT_DETAIL,
    '--order O     asc (oldest first, the default) or desc',
    '--after UUID  the page after this batch: the uuid the previous page named as next',
    'its jobs: wharf jobs --batch UUID',
    'JSON: { "batches": [BatchView...], "next": uuid | null }',
  ],
  options: connecting({ state: { type: 'string' }, limit: { type: 'string' }, order: { type: 'string' }, after: { type: 'string' } }),
  async run({ values, positionals, out }) {
    positionalArgs(positionals, 'argument', 0)
    const state = stringOption(values, 'state')
    if (state !== undefined && !(BATCH_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`--state ${JSON.stringify(state)} is not a batch state; states: ${BATCH_STATES.join(', ')}`)
    }
    const filter: BatchesFilter = { state: state as BatchState | undefined, limit: limitOption(values), order: orderOption(values), after: afterOption(values) }
    const page = await withClient(values, (client) => client.batches(filter))
    out.answer(page, () => {
      if (page.batches.length === 0) return ['no batches']
      const rows = page.batches.map((b) => [b.uuid, b.state, `${b.done + b.cancelled}/${b.total}`, String(b.done), String(b.failed), String(b.cancelled), time(b.createdAt), time(b.doneAt), text(b.name)])
      const lines = table(
        [{ header: 'UUID' }, { header: 'STATE' }, { header: 'FINISHED', right: true }, { header: 'DONE', right: true }, { header: 'FAILED', right: true }, { header: 'CANCELLED', right: true }, { header: 'CREATED' }, { header: 'DONE AT' }, { header: 'NAME', max: 50 }],
        rows,
      )
      if (page.next !== null) lines.push(`next page: --after ${page.next}`)
      return lines
    })
    return EXIT_OK
  },
}
