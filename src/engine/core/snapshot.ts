// Snapshots: the state as plain data at a seq, so a log's history can be compacted and a restart
// costs the live jobs, not every event ever written. A snapshot is an optimisation, never the
// truth: restoring one and folding the tail must equal folding the whole log (a property test
// says so). Everything a later decision reads is kept — including the order of identity-key
// holders and throttle windows — and everything derivable (queues, slot counts) is rebuilt.

import { contextOrShared } from './empty-context.js'
import { fail } from './assert.js'
import type { ChannelConfig } from './channel-config.js'
import { ensureChannel, initialState } from './channels.js'
import type { CronDefinition, JobSpec, JobState, RecordId } from './events.js'
import { retireFinished } from './retire.js'
import { admit, linkParents } from './transition.js'
import { JobRecord, countRunOn, isFinished, type State } from './state.js'
import { frozenProgress } from './view.js'
import { BatchRecord } from './batch.js'
import { nodeOfWorker } from './workers.js'

/**
 * 3 (0.2, batches): 2 with the batches and each job's batch. 2 (0.2): the jobs in memory only —
 * finished jobs are in history. 1 (0.1) held every job; its finished ones leave memory when it is
 * restored, as they would have live. 1 and 2 have no batch: they restore with none.
 */
export const SNAPSHOT_FORMAT_VERSION = 3
/** Position of seq in a JobSnapshot. */
const SEQ = 14

/**
 * One job, positionally: a snapshot of 100k jobs is parsed on every open, and arrays parse much
 * faster than objects that repeat 28 key names per job. The order is the format (v1).
 */
export type JobSnapshot = [
  uuid: string,
  graphUuid: string | null,
  model: string,
  method: string,
  records: RecordId[],
  args: unknown[],
  context: Record<string, unknown>,
  priority: number,
  maxRetries: number,
  description: string,
  channel: string,
  identityKey: string | null,
  dependsOn: string[],
  createdAt: number,
  seq: number,
  state: JobState,
  eta: number | null,
  retry: number,
  runs: number,
  result: unknown,
  excName: string | null,
  excMessage: string | null,
  excInfo: string | null,
  enqueuedAt: number | null,
  startedAt: number | null,
  doneAt: number | null,
  cancelledAt: number | null,
  waitingEta: boolean,
  /** Added in 0.2 without a format change: absent in snapshots written before (read as null). */
  failedAt?: number | null,
  /** Added in 0.2 likewise (JobView.progress as [fraction, message]); absent reads as null. */
  progress?: [fraction: number, message: string | null] | null,
  /** Format 3: its batch's uuid, or null (absent before). */
  batchUuid?: string | null,
  /** Added in 0.3 without a format change: the cluster worker of a started job (absent: null). */
  worker?: string | null,
  /** Added in 0.3 likewise: JobView.node, the member of the latest try (absent: null, or the
   * worker's name for a job started when the snapshot was taken — what replaying would give). */
  node?: string | null,
]

/** A batch (format 3), positionally: counts by stateIndex(), onDone specs until stored. */
export type BatchSnapshot = [
  uuid: string,
  name: string,
  createdAt: number,
  counts: number[],
  begun: boolean,
  doneAt: number | null,
  onDone: JobSpec[] | null,
  onDoneUuids: string[],
  onDoneStored: boolean,
]

export interface StateSnapshot {
  formatVersion: typeof SNAPSHOT_FORMAT_VERSION | 2 | 1
  seq: number
  /** In creation (seq) order. A parent may come after its child (a job delayed alone that joined
   * a graph later: job.joined_graph), so restoring links parents in a second pass. */
  jobs: JobSnapshot[]
  /** `throttleUntil`: the window under the configuration the snapshot was taken under (what
   * snapshots before `lastDispatchAt` hold; still written for them). `lastDispatchAt`: absent in
   * those older snapshots. */
  channels: { name: string; paused: boolean; throttleUntil: number; lastDispatchAt?: number | null }[]
  /** Identity key -> holders' uuids, oldest first (decide answers with the oldest). */
  identity: [string, string[]][]
  /** Superseded runs still holding slots: [uuid, run, channel, cluster worker (0.3; absent: null)].
   * Absent in older snapshots (none). */
  superseded?: [string, number, string, (string | null)?][]
  /** Crons in declaration order: [definition, nextMs, lastMs, paused]. Added in 0.2 without a
   * format change, like failedAt: absent in snapshots written before crons existed (none). */
  crons?: [CronDefinition, number | null, number | null, boolean][]
  /** Every batch (format 3): they hold the counts of their jobs in history too. */
  batches?: BatchSnapshot[]
}

export function snapshotOf(state: State): StateSnapshot {
  const jobs: JobSnapshot[] = []
  for (const job of state.jobs.values()) {
    jobs.push([
      job.uuid,
      job.graphUuid,
      job.model,
      job.method,
      job.records,
      job.args,
      job.context,
      job.priority,
      job.maxRetries,
      job.description,
      job.channel.name,
      job.identityKey,
      job.parents.map((p) => p.uuid),
      job.createdAt,
      job.seq,
      job.state,
      job.eta,
      job.retry,
      job.runs,
      job.result,
      job.excName,
      job.excMessage,
      job.excInfo,
      job.enqueuedAt,
      job.startedAt,
      job.doneAt,
      job.cancelledAt,
      job.waitingEta,
      job.failedAt,
      job.progress === null ? null : [job.progress.fraction, job.progress.message],
      job.batch === null ? null : job.batch.uuid,
      job.worker,
      job.node,
    ])
  }
  jobs.sort((a, b) => a[SEQ] - b[SEQ])
  const channels = [...state.channels.values()].map((n) => ({ name: n.name, paused: n.paused, throttleUntil: n.throttleUntil, lastDispatchAt: n.lastDispatchAt }))
  const identity: [string, string[]][] = [...state.identity].map(([key, holders]) => [key, holders.map((j) => j.uuid)])
  const snapshot: StateSnapshot = { formatVersion: SNAPSHOT_FORMAT_VERSION, seq: state.seq, jobs, channels, identity }
  if (state.crons.size > 0) snapshot.crons = [...state.crons.values()].map((c) => [c.definition, c.nextMs, c.lastMs, c.paused])
  snapshot.batches = [...state.batches.values()].map((b) => [b.uuid, b.name, b.createdAt, [...b.counts], b.begun, b.doneAt, b.onDone, [...b.onDoneUuids], b.onDoneStored])
  if (state.superseded.size > 0) {
    snapshot.superseded = []
    for (const [uuid, runs] of state.superseded) for (const r of runs) snapshot.superseded.push([uuid, r.run, r.channel.name, r.worker])
  }
  return snapshot
}

/** Rebuild a state from a snapshot, under the channel configuration of this open. */
export function restoreState(config: readonly ChannelConfig[], snapshot: StateSnapshot): State {
  if (snapshot.formatVersion !== SNAPSHOT_FORMAT_VERSION && snapshot.formatVersion !== 2 && snapshot.formatVersion !== 1) fail(`snapshot format ${snapshot.formatVersion} is not supported`)
  const state = initialState(config)
  state.seq = snapshot.seq
  for (const b of snapshot.batches ?? []) restoreBatch(state, b)
  for (const c of snapshot.channels) {
    const node = ensureChannel(state.channels, c.name)
    node.paused = c.paused
    // An older snapshot holds only the window: it is kept as it was (its dispatch time under this
    // open's throttle).
    node.lastDispatchAt = c.lastDispatchAt !== undefined ? c.lastDispatchAt : c.throttleUntil > 0 ? c.throttleUntil - node.throttleMs : null
  }
  const restored: JobRecord[] = []
  for (const j of snapshot.jobs) {
    const [uuid, graphUuid, model, method, records, args, context, priority, maxRetries, description, channel] = j
    const [, , , , , , , , , , , identityKey, dependsOn, createdAt, seq, jobState, eta] = j
    const spec: JobSpec = { uuid, graphUuid, model, method, records, args, context: contextOrShared(context), priority, eta, maxRetries, description, channel, identityKey, dependsOn, createdAt }
    const job = new JobRecord(spec, ensureChannel(state.channels, channel), seq)
    job.state = jobState
    // Counted in the batch's snapshot already (with its jobs in history).
    const batchUuid = j[30] ?? null
    job.batch = batchUuid === null ? null : (state.batches.get(batchUuid) ?? fail(`snapshot job ${uuid} names unknown batch ${batchUuid}`))
    state.jobs.set(job.uuid, job)
    restored.push(job)
  }
  // Edges once every job exists, in the same order as before (children in creation order).
  for (let i = 0; i < restored.length; i++) {
    const job = restored[i]!
    const dependsOn = snapshot.jobs[i]![12]
    if (dependsOn.length === 0) continue
    linkParents(job, dependsOn.map((uuid) => state.jobs.get(uuid) ?? fail(`snapshot job ${job.uuid} names unknown parent ${uuid}`)))
  }
  for (let i = 0; i < restored.length; i++) {
    const job = restored[i]!
    const j = snapshot.jobs[i]!
    job.retry = j[17]
    job.runs = j[18]
    job.result = j[19]
    job.excName = j[20]
    job.excMessage = j[21]
    job.excInfo = j[22]
    job.enqueuedAt = j[23]
    job.startedAt = j[24]
    job.doneAt = j[25]
    job.cancelledAt = j[26]
    job.failedAt = j[28] ?? null
    const progress = j[29]
    job.progress = progress === undefined || progress === null ? null : frozenProgress(progress[0], progress[1])
    job.worker = j[31] ?? null
    if (job.worker !== null) countRunOn(state, job.worker, 1)
    job.node = j[32] !== undefined ? j[32] : job.worker === null ? null : nodeOfWorker(job.worker)
    admit(state, job, j[27])
  }
  for (const [definition, nextMs, lastMs, paused] of snapshot.crons ?? []) state.crons.set(definition.name, { definition, nextMs, lastMs, paused })
  restoreSuperseded(state, snapshot.superseded ?? [])
  // A snapshot written by 0.1 holds finished jobs too: they leave memory as they would have live.
  // (One of 0.2 may hold a finished graph brought back for a command of the same batch.)
  if (snapshot.formatVersion === 1) {
    for (const job of restored) if (isFinished(job.state)) state.finishing.push(job)
    retireFinished(state)
  }
  for (const [key, uuids] of snapshot.identity) {
    state.identity.set(
      key,
      uuids.map((uuid) => state.jobs.get(uuid) ?? fail(`snapshot identity key ${key} names unknown job ${uuid}`)),
    )
  }
  return state
}

/** Superseded runs hold their slots again, and count on their cluster worker. */
function restoreSuperseded(state: State, superseded: NonNullable<StateSnapshot['superseded']>): void {
  for (const [uuid, run, channel, worker] of superseded) {
    const node = ensureChannel(state.channels, channel)
    const runs = state.superseded.get(uuid)
    const r = { run, channel: node, worker: worker ?? null }
    if (runs === undefined) state.superseded.set(uuid, [r])
    else runs.push(r)
    if (r.worker !== null) countRunOn(state, r.worker, 1)
    for (const n of node.path) n.held++
  }
}

function restoreBatch(state: State, [uuid, name, createdAt, counts, begun, doneAt, onDone, onDoneUuids, onDoneStored]: BatchSnapshot): void {
  const b = new BatchRecord(uuid, name, createdAt, onDone, onDoneUuids)
  for (let i = 0; i < b.counts.length; i++) b.counts[i] = counts[i]!
  b.begun = begun
  b.doneAt = doneAt
  b.onDoneStored = onDoneStored
  state.batches.set(uuid, b)
  if (!onDoneStored) for (const job of onDoneUuids) state.onDoneUuids.set(job, b)
}
