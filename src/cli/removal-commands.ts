// `wharf remove UUID...` and `wharf purge --state S [--before ISO]`: finished and failed jobs
// deleted for good (wharf.remove(), wharf.purge()). Remove is all or nothing: one job that cannot
// go (unknown, not finished or failed, linked to a live job) refuses the call, exit 1.

import { instantOf } from '../engine/api/removal.js'
import type { RemovableState } from '../engine/core/commands.js'
import { WharfError } from '../engine/errors.js'
import { positionalArgs, stringOption, UsageError, uuidArgs, type Values } from './args.js'
import { connecting, CONNECT_DETAILS, CONNECT_USAGE, EXIT_OK, withClient, type Command } from './command.js'
import { ACTION_UUIDS_MAX } from './http-client.js'
import { time } from './output.js'

const REMOVABLE: readonly RemovableState[] = ['done', 'cancelled', 'failed']

const jobs = (n: number): string => `${n} job${n === 1 ? '' : 's'}`

export const removeCommand: Command = {
  name: 'remove',
  summary: 'delete done, cancelled and failed jobs for good (all or none)',
  usage: `wharf remove UUID... ${CONNECT_USAGE} [--json]`,
  details: [
    ...CONNECT_DETAILS,
    `At most ${ACTION_UUIDS_MAX} uuids. All or nothing: a job that is unknown, not done, cancelled or failed,`,
    'or linked by its graph to a job still waiting or running, refuses the whole call (exit 1).',
    'JSON: { "removed": n }',
  ],
  options: connecting(),
  async run({ values, positionals, out }) {
    const uuids = uuidArgs(positionals, 'some')
    if (uuids.length > ACTION_UUIDS_MAX) throw new UsageError(`at most ${ACTION_UUIDS_MAX} uuids at once (the removal is all or nothing), got ${uuids.length}; or use wharf purge`)
    const answer = await withClient(values, (client) => client.remove(uuids), out)
    out.answer(answer, () => [`removed ${jobs(answer.removed)}`])
    return EXIT_OK
  },
}

export const purgeCommand: Command = {
  name: 'purge',
  summary: 'delete every job in one state: done, cancelled or failed',
  usage: `wharf purge --state S [--before ISO] ${CONNECT_USAGE} [--json]`,
  details: [
    ...CONNECT_DETAILS,
    '--state S     done, cancelled or failed',
    '--before ISO  only jobs that entered the state strictly before then: 2026-05-01 (midnight UTC)',
    '              or a date-time with its zone, 2026-05-01T12:00:00Z',
    'A failed job whose child still waits for it is left (remove would refuse it).',
    'JSON: { "removed": n }',
  ],
  options: connecting({ state: { type: 'string' }, before: { type: 'string' } }),
  async run({ values, positionals, out }) {
    positionalArgs(positionals, 'argument', 0)
    const state = removableState(values)
    const before = beforeOption(values)
    const answer = await withClient(values, (client) => client.purge(state, before), out)
    const since = before === undefined ? '' : ` (entered before ${time(before.getTime())})`
    out.answer(answer, () => [`removed ${jobs(answer.removed)} ${state}${since}`])
    return EXIT_OK
  },
}

function removableState(values: Values): RemovableState {
  const state = stringOption(values, 'state')
  if (state === undefined) throw new UsageError('missing --state (done, cancelled or failed)')
  if (!(REMOVABLE as readonly string[]).includes(state)) throw new UsageError(`--state must be done, cancelled or failed, got ${JSON.stringify(state)}`)
  return state as RemovableState
}

function beforeOption(values: Values): Date | undefined {
  const text = stringOption(values, 'before')
  if (text === undefined) return undefined
  try {
    return instantOf(text, '--before')
  } catch (error) {
    if (error instanceof WharfError) throw new UsageError(error.message)
    throw error
  }
}
