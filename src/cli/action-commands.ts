// `wharf requeue|cancel|done UUID...`: one action on many jobs. Each uuid is tried; a refused one
// (unknown, or a state the action does not apply to) is reported and does not stop the others,
// and makes the exit code 1.

import { uuidArgs } from './args.js'
import type { Action, ActionResult } from './client.js'
import { connecting, CONNECT_DETAILS, CONNECT_USAGE, EXIT_OK, EXIT_REFUSED, withClient, type Command } from './command.js'

const DONE_AS: Record<Action, string> = { requeue: 'requeued', cancel: 'cancelled', done: 'set done' }
const SUMMARY: Record<Action, string> = {
  requeue: 'put jobs back to pending, to run again',
  cancel: 'cancel jobs (and the jobs that depend on them)',
  done: 'set jobs done without running them',
}

function actionCommand(action: Action): Command {
  return {
    name: action,
    summary: SUMMARY[action],
    usage: `wharf ${action} UUID... ${CONNECT_USAGE} [--json]`,
    details: [...CONNECT_DETAILS, 'Exit code 1 when any job was refused (the others are still acted on).', 'JSON: { "results": [{ "uuid", "ok": true } | { "uuid", "ok": false, "error": { name, code, message } }...] }'],
    options: connecting(),
    async run({ values, positionals, out }) {
      const uuids = uuidArgs(positionals, 'some')
      const results = await withClient(values, (client) => client.act(action, uuids), out)
      out.answer({ results }, () => results.map((r) => line(action, r)))
      return results.every((r) => r.ok) ? EXIT_OK : EXIT_REFUSED
    },
  }
}

function line(action: Action, result: ActionResult): string {
  return result.ok ? `${result.uuid}: ${DONE_AS[action]}` : `${result.uuid}: refused: ${result.error.name}: ${result.error.message}`
}

export const requeueCommand = actionCommand('requeue')
export const cancelCommand = actionCommand('cancel')
export const doneCommand = actionCommand('done')
