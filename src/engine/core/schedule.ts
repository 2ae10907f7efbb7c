// pick: the scheduler's next decision at nowMs, one event at a time. runTick (tick.ts) applies
// each event and asks again until nothing more can start; because each step sees the slots the
// previous one took, the pick is a plain function of (state, now) and replays identically.

import { EVENT_FORMAT_VERSION as v, type WharfEvent } from './events.js'
import { canStartFrom } from './channels.js'
import { nextCronMs } from './cron.js'
import { readyLess, type ChannelNode, type JobRecord, type State } from './state.js'

/**
 * The job functions this process can run, model -> methods. Like nowMs it is an input of the
 * pick, not state: which handlers are registered belongs to the process, not to the log (a
 * reopened store has none until models are declared), and the pick's choices are logged anyway.
 * null: every function counts as registered (the pure tests, the simulator's core runs).
 */
export type RegisteredFunctions = ReadonlyMap<string, ReadonlySet<string>> | null

/** May this process run the job's function? */
export function hasHandler(registered: RegisteredFunctions, job: JobRecord): boolean {
  return registered === null || registered.get(job.model)?.has(job.method) === true
}

/**
 * The job a ready channel offers the pick: its ready head — or, on a channel that is not
 * sequential, the first ready job whose function this process has (a job without a handler keeps
 * a sequential channel's order). undefined: none. `node` must have a ready job.
 */
export function candidateOf(node: ChannelNode, registered: RegisteredFunctions): JobRecord | undefined {
  const head = node.ready.peek()!
  if (hasHandler(registered, head)) return head
  // Nothing registered (a cluster's workers all busy, every tick of a drain): no job has a
  // handler, and the scan below would read the whole ready queue to find none.
  if (node.sequential || registered?.size === 0) return undefined
  return node.ready.firstWhere((job) => hasHandler(registered, job))
}

/**
 * The next scheduling event at `nowMs`, or null when nothing more can happen now:
 * first every due eta (earliest first), then the best startable job across the whole tree by
 * (priority, createdAt, seq) whose path has a free slot on every level and whose function is
 * registered. A job without a handler waits, pending, and holds back only a sequential channel
 * (which keeps its order); elsewhere the next job of its channel competes in its place.
 */
export function pickNext(state: State, nowMs: number, registered: RegisteredFunctions = null): WharfEvent | null {
  let due: JobRecord | undefined
  const etaChannels = state.etaChannels.items
  for (let i = 0; i < etaChannels.length; i++) {
    const head = etaChannels[i]!.etaQueue.peek()!
    if (head.eta! <= nowMs && (due === undefined || head.eta! < due.eta! || (head.eta === due.eta && head.seq < due.seq))) {
      due = head
    }
  }
  if (due !== undefined) return { seq: 0, v, at: nowMs, type: 'job.eta_reached', uuid: due.uuid }
  if (state.dispatchDisabled) return null
  let best: JobRecord | undefined
  const readyChannels = state.readyChannels.items
  for (let i = 0; i < readyChannels.length; i++) {
    const node = readyChannels[i]!
    const head = candidateOf(node, registered)
    if (head === undefined) continue
    if (best !== undefined && !readyLess(head, best)) continue
    if (canStartFrom(node, nowMs)) best = head
  }
  if (best === undefined) return null
  return { seq: 0, v, at: nowMs, type: 'job.enqueued', uuid: best.uuid }
}

/**
 * When the scheduler must look again if nothing else happens: the earliest future eta, the end
 * of a throttle window that holds back ready work, or a cron's next firing. null = no timed
 * wake-up (a finishing job or a new command will wake it). `crons` false: the wake-ups of jobs
 * only (drain() stops when nothing but crons is left, since crons never end).
 */
export function nextWakeMs(state: State, nowMs: number, crons = true): number | null {
  // A cron due fires whatever the channels do (its job then waits like any other).
  let wake: number | null = crons ? nextCronMs(state) : null
  for (const node of state.etaChannels.items) {
    const eta = node.etaQueue.peek()!.eta!
    if (wake === null || eta < wake) wake = eta
  }
  if (!state.dispatchDisabled) {
    for (const node of state.readyChannels.items) {
      for (const n of node.path) {
        if (n.throttleMs > 0 && n.throttleUntil > nowMs && (wake === null || n.throttleUntil < wake)) {
          wake = n.throttleUntil
        }
      }
    }
  }
  return wake
}
