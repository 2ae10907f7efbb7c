// lookahead: what the next tick's dispatch would start, played by runTick itself on a copy of the
// part of the state a dispatch reads, so that explain() can answer "does the next tick start this
// job?" with the very loop that will decide it, without touching the engine's state. Only asked
// when that tick has something to do (pickNext is not null): between the engine's ticks that is
// rare — a stopped engine, or an eta or a throttle window that passed a moment ago.

import { ensureChannel, initialState } from './channels.js'
import type { JobSpec } from './events.js'
import { TICK_STARTS_MAX } from './limits.js'
import type { RegisteredFunctions } from './schedule.js'
import { JobRecord, type ChannelNode, type State } from './state.js'
import { runTick, TickOutput, type TickInput } from './tick.js'
import { admit } from './transition.js'

export interface Lookahead {
  /** The copy, as the tick leaves it. */
  state: State
  /** Jobs of the copy the tick starts, in pick order (several ticks if one is cut at its bound:
   * the engine runs the next one at once). */
  started: JobRecord[]
}

/**
 * Run the next dispatch from `state` at `nowMs` on a copy. `atFirstPick` is called once with the
 * copy as the dispatch sees it when it picks the first job to start — every due eta promoted,
 * nothing started yet (or, when it starts nothing, as it ends); it must only read it.
 */
export function lookahead(state: State, nowMs: number, registered: RegisteredFunctions, atFirstPick: (copy: State) => void): Lookahead {
  const copy = dispatchCopy(state)
  let picked = false
  const input: TickInput = {
    outcomes: [], commands: [], nowMs, dispatch: true, registered, startsMax: TICK_STARTS_MAX, afterCommand: null,
    auditPick: (event, seen) => {
      if (picked || event.type !== 'job.enqueued') return
      picked = true
      atFirstPick(seen)
    },
  }
  const started: JobRecord[] = []
  for (;;) {
    const out = new TickOutput()
    runTick(copy, input, out)
    for (const job of out.launch) started.push(job)
    if (!out.cut) break
  }
  if (!picked) atFirstPick(copy)
  return { state: copy, started }
}

/**
 * The channel tree with its slots, pauses, throttle windows and failed counts, and the pending
 * jobs in their queues: everything a dispatch reads. Running and finished jobs are not copied
 * (their slots are in the counters), nor identity keys and graphs (a dispatch neither reads nor
 * changes them).
 */
function dispatchCopy(state: State): State {
  const copy: State = { ...initialState([]), dispatchDisabled: state.dispatchDisabled, seq: state.seq }
  for (const node of state.channels.values()) copyChannel(node, ensureChannel(copy.channels, node.name))
  for (const node of state.readyChannels.items) for (const job of node.ready.values()) copyPending(copy, job, false)
  for (const node of state.etaChannels.items) for (const job of node.etaQueue.values()) copyPending(copy, job, true)
  return copy
}

function copyChannel(from: ChannelNode, to: ChannelNode): void {
  to.capacity = from.capacity
  to.sequential = from.sequential
  to.throttleMs = from.throttleMs
  to.paused = from.paused
  to.configured = from.configured
  to.running = from.running
  to.held = from.held
  to.failedOwn = from.failedOwn
  to.lastDispatchAt = from.lastDispatchAt
}

function copyPending(copy: State, job: JobRecord, waitingEta: boolean): void {
  const spec: JobSpec = {
    uuid: job.uuid, graphUuid: null, model: job.model, method: job.method, records: job.records, args: job.args,
    context: job.context, priority: job.priority, eta: job.eta, maxRetries: job.maxRetries, description: job.description,
    channel: job.channel.name, identityKey: null, dependsOn: [], createdAt: job.createdAt,
  }
  // Same seq: the orders end on it.
  const record = new JobRecord(spec, ensureChannel(copy.channels, job.channel.name), job.seq)
  copy.jobs.set(record.uuid, record)
  admit(copy, record, waitingEta)
}
