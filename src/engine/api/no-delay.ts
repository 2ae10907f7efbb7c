// No-delay mode (noDelay: true or WHARF_NO_DELAY=1): queue_job's QUEUE_JOB__NO_DELAY. A delayed
// call runs at once, a graph in topological order; nothing is stored, identity keys and etas
// are ignored, and a handler's error rejects the call.

import type { JobSpec } from '../core/events.js'
import type { JobView } from '../core/view.js'
import { InvalidJobFunctionError } from '../errors.js'
import type { Clock } from '../runtime/clock.js'
import { JobContext } from '../runtime/runner.js'
import { callAsTry } from '../runtime/direct-try.js'
import type { FunctionRegistry } from './functions.js'
import { cloneSerializable } from '../../storage/serialize.js'

/** `batchUuid`: the batch() the jobs belong to (this.job.batchUuid shows it, as in a stored try). */
export async function runWithoutDelay(host: { functions: FunctionRegistry; clock: Clock }, specs: JobSpec[], batchUuid: string | null = null): Promise<JobView[]> {
  const views: JobView[] = []
  // Specs come parents-first (delay() orders them), so running them in order is topological.
  for (const spec of specs) {
    const handler = host.functions.handler(spec.model, spec.method)
    if (handler === undefined) {
      throw new InvalidJobFunctionError(`no handler registered for ${spec.model}.${spec.method}`)
    }
    const startedAt = host.clock.now()
    // What this.job shows while it runs, as a stored job's try sees it.
    const started: JobView = Object.freeze({
      ...spec,
      dependents: specs.filter((s) => s.dependsOn.includes(spec.uuid)).map((s) => s.uuid),
      state: 'started',
      eta: null,
      retry: 1,
      identityKey: spec.identityKey,
      result: null,
      excName: null,
      excMessage: null,
      excInfo: null,
      enqueuedAt: startedAt,
      startedAt,
      doneAt: null,
      cancelledAt: null,
      execTimeMs: null,
      progress: null,
      node: null,
      batchUuid,
    })
    const context = new JobContext(spec.records, { ...spec.context, jobUuid: spec.uuid }, host.clock, null, started)
    // Awaited with a FakeClock moved on while the handler sleeps on it (nothing else would move it),
    // and held to the function's timeoutMs as a stored try is.
    const { timeoutMs } = host.functions.resolve(spec.model, spec.method)
    const returned: unknown = await callAsTry(handler, context, spec.args, host.clock, `${spec.model}.${spec.method}`, timeoutMs)
    const doneAt = host.clock.now()
    views.push({
      ...started,
      state: 'done',
      result: returned === undefined ? null : cloneSerializable(returned, 'result'),
      doneAt,
      execTimeMs: doneAt - startedAt,
      progress: context.lastProgress,
    })
  }
  return views
}
