// The engine's state: jobs, the channel tree with its queues and slot counters, and the identity
// index. Only evolve.ts (through transition.ts) writes to it; everything else reads.

import { fail } from './assert.js'
import type { JobState } from './events.js'
import type { JobRecord } from './job-record.js'
import type { ChannelSet } from './channel-set.js'
import { IndexedHeap } from './heap.js'
import { etaLess } from './order.js'
import { ReadyQueue } from './ready-queue.js'
import type { JobView } from './view.js'
import type { CronRecord } from './cron.js'
import type { BatchRecord } from './batch.js'
import type { RetiredJobs } from './retired-jobs.js'

export { readyLess, etaLess } from './order.js'
export { JobRecord } from './job-record.js'

/** A state's slot in the per-state count arrays (JOB_STATES order). A switch: transitions run
 * several times per job, and a keyed lookup costs more. */
export function stateIndex(state: JobState): number {
  switch (state) {
    case 'wait_dependencies':
      return 0
    case 'pending':
      return 1
    case 'enqueued':
      return 2
    case 'started':
      return 3
    case 'done':
      return 4
    case 'cancelled':
      return 5
    case 'failed':
      return 6
  }
}

export class ChannelNode {
  readonly name: string
  readonly parent: ChannelNode | null
  /** This node and its ancestors, nearest first, ending at root. */
  readonly path: readonly ChannelNode[]
  /** null = unlimited (no capacity, or 0 on a subchannel). */
  capacity: number | null = null
  sequential = false
  throttleMs = 0
  paused = false
  removeAfterDays: number | null = null
  /** Named in the channel configuration (rather than auto-created for a job). */
  configured = false
  /** Jobs of this subtree in `enqueued` or `started`: slots in use. */
  running = 0
  /** Slots of this subtree still held by superseded runs (handlers of jobs cancelled, requeued
   * or set done while they ran, which have not settled yet): capacity counts them too. */
  held = 0
  /** This channel's own jobs in `failed` (a failed job blocks a sequential channel). */
  failedOwn = 0
  /** When a job was last dispatched through this level (ms), throttled or not; null: never.
   * State, where the window below is derived under this open's configuration: a throttle changed
   * between two opens then applies alike to a state rebuilt from the log and to one restored
   * from a snapshot taken under the old throttle (a stored window kept the old one there). */
  lastDispatchAt: number | null = null
  readonly ready = new ReadyQueue()
  readonly etaQueue = new IndexedHeap<JobRecord>(etaLess)
  /** This channel's own jobs per state, indexed by stateIndex(). */
  readonly counts = [0, 0, 0, 0, 0, 0, 0]
  /** Positions in State.readyChannels / etaChannels (-1: not there). */
  readySlot = -1
  etaSlot = -1

  constructor(name: string, parent: ChannelNode | null) {
    this.name = name
    this.parent = parent
    this.path = parent === null ? [this] : [this, ...parent.path]
  }

  /** No start allowed on this channel before this time (throttle); 0 when it has no window. */
  get throttleUntil(): number {
    return this.throttleMs > 0 && this.lastDispatchAt !== null ? this.lastDispatchAt + this.throttleMs : 0
  }
}

export interface State {
  /** seq of the last applied event (0 before any). */
  seq: number
  readonly jobs: Map<string, JobRecord>
  readonly channels: Map<string, ChannelNode>
  readonly root: ChannelNode
  /** 'root:0' in the configuration: nothing is dispatched (queue_job's rule). Changed only with
   * the configuration (configureChannels). */
  dispatchDisabled: boolean
  /** Identity key -> jobs holding it in a blocking state, oldest first. */
  readonly identity: Map<string, JobRecord[]>
  /** Channels whose ready queue is not empty: the only ones a pick must look at. */
  readonly readyChannels: ChannelSet
  /** Channels whose eta heap is not empty. */
  readonly etaChannels: ChannelSet
  /** Jobs per state, indexed by stateIndex(). Counts jobs in memory only (history counts its own). */
  readonly counts: number[]
  /** Superseded runs whose handler has not settled, per job uuid, oldest first. */
  readonly superseded: Map<string, SupersededRun[]>
  /**
   * Cluster workers -> handlers they run: started jobs assigned to them, and their superseded runs
   * not released yet. What the dispatch counts against each worker's slots; empty when embedded.
   */
  readonly runsOn: Map<string, number>
  /** Graphs with jobs in memory: a graph's jobs are all in memory, or all in history. */
  readonly graphs: Map<string, GraphMembers>
  /** Finished jobs to check for retirement at the end of the event (see retire.ts). */
  readonly finishing: JobRecord[]
  /**
   * Outbox, drained by the shell after each batch: jobs that left memory for history (to write
   * there with the batch), and jobs brought back from history (to delete there with it).
   */
  readonly retired: RetiredJobs
  readonly restored: Map<string, JobView>
  /** Crons by name, in the order they were first declared. */
  readonly crons: Map<string, CronRecord>
  /** Batches with a job in memory or in history (batch.ts), by uuid. */
  readonly batches: Map<string, BatchRecord>
  /** Batches an event of this decision may have completed: runTick announces them (batch.ts). */
  readonly batchesCompleting: Set<BatchRecord>
  /** Uuids of onDone jobs not stored yet, to their batch: no other job may take them. */
  readonly onDoneUuids: Map<string, BatchRecord>
}

/** A run whose job was cancelled, requeued or set done while its handler ran: the handler holds
 * a slot on every channel of `channel`'s path until a job.run_released names it. */
export interface SupersededRun {
  readonly run: number
  readonly channel: ChannelNode
  /** The cluster worker still running it (null: the scheduling process). */
  readonly worker: string | null
}

/** Count one more (`delta` 1) or one fewer (-1) run on cluster worker `node` (State.runsOn). */
export function countRunOn(state: State, node: string, delta: 1 | -1): void {
  const count = (state.runsOn.get(node) ?? 0) + delta
  if (!(count >= 0)) fail(`worker ${node} runs a negative number of handlers`)
  if (count === 0) state.runsOn.delete(node)
  else state.runsOn.set(node, count)
}

export interface GraphMembers {
  readonly jobs: JobRecord[]
  /** Members not done or cancelled; at 0 the whole graph leaves memory. */
  unfinished: number
}

/** done and cancelled: the states a job leaves memory in. */
export function isFinished(state: JobState): boolean {
  return state === 'done' || state === 'cancelled'
}

/** States in which a job holds its identity key (queue_job: `started` does not). */
export function isBlocking(state: JobState): boolean {
  return state === 'pending' || state === 'wait_dependencies' || state === 'enqueued'
}

/** States in which a job waits, runs or may still run: what remove() never takes. */
export function isLive(state: JobState): boolean {
  return state !== 'done' && state !== 'cancelled' && state !== 'failed'
}

/** States in which a job holds a slot on every channel of its path. */
export function isRunning(state: JobState): boolean {
  return state === 'started' || state === 'enqueued'
}
