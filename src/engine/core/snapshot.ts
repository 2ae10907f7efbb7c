// Snapshots: the state as plain data at a seq, so a log's history can be compacted and a restart
// costs the live jobs, not every event ever written. A snapshot is an optimisation, never the
// truth: restoring one and folding the tail must equal folding the whole log (a property test
// says so). Everything a later decision reads is kept — including the order of identity-key
// holders and throttle windows — and everything derivable (queues, slot counts) is rebuilt.

import { fail } from './assert.js'
import type { ChannelConfig } from './channel-config.js'
import { ensureChannel, initialState } from './channels.js'
import type { JobSpec, JobState } from './events.js'
import { JobRecord, isBlocking, isRunning, stateIndex, type State } from './state.js'

export const SNAPSHOT_FORMAT_VERSION = 1

export interface JobSnapshot {
  spec: JobSpec
  seq: number
  state: JobState
  eta: number | null
  retry: number
  runs: number
  result: unknown
  excName: string | null
  excMessage: string | null
  excInfo: string | null
  enqueuedAt: number | null
  startedAt: number | null
  doneAt: number | null
  cancelledAt: number | null
  waitingEta: boolean
}

export interface StateSnapshot {
  formatVersion: typeof SNAPSHOT_FORMAT_VERSION
  seq: number
  /** In creation (seq) order, so parents come before their children. */
  jobs: JobSnapshot[]
  channels: { name: string; paused: boolean; throttleUntil: number }[]
  /** Identity key -> holders' uuids, oldest first (decide answers with the oldest). */
  identity: [string, string[]][]
}

export function snapshotOf(state: State): StateSnapshot {
  const jobs: JobSnapshot[] = []
  for (const job of state.jobs.values()) {
    jobs.push({
      spec: {
        uuid: job.uuid,
        graphUuid: job.graphUuid,
        model: job.model,
        method: job.method,
        records: job.records,
        args: job.args,
        context: job.context,
        priority: job.priority,
        eta: job.eta,
        maxRetries: job.maxRetries,
        description: job.description,
        channel: job.channel.name,
        identityKey: job.identityKey,
        dependsOn: job.parents.map((p) => p.uuid),
        createdAt: job.createdAt,
      },
      seq: job.seq,
      state: job.state,
      eta: job.eta,
      retry: job.retry,
      runs: job.runs,
      result: job.result,
      excName: job.excName,
      excMessage: job.excMessage,
      excInfo: job.excInfo,
      enqueuedAt: job.enqueuedAt,
      startedAt: job.startedAt,
      doneAt: job.doneAt,
      cancelledAt: job.cancelledAt,
      waitingEta: job.waitingEta,
    })
  }
  jobs.sort((a, b) => a.seq - b.seq)
  const channels = [...state.channels.values()].map((n) => ({ name: n.name, paused: n.paused, throttleUntil: n.throttleUntil }))
  const identity: [string, string[]][] = [...state.identity].map(([key, holders]) => [key, holders.map((j) => j.uuid)])
  return { formatVersion: SNAPSHOT_FORMAT_VERSION, seq: state.seq, jobs, channels, identity }
}

/** Rebuild a state from a snapshot, under the channel configuration of this open. */
export function restoreState(config: readonly ChannelConfig[], snapshot: StateSnapshot): State {
  if (snapshot.formatVersion !== SNAPSHOT_FORMAT_VERSION) fail(`snapshot format ${snapshot.formatVersion} is not supported`)
  const state = initialState(config)
  state.seq = snapshot.seq
  for (const c of snapshot.channels) {
    const node = ensureChannel(state.channels, c.name)
    node.paused = c.paused
    node.throttleUntil = c.throttleUntil
  }
  for (const s of snapshot.jobs) {
    const job = new JobRecord(s.spec, ensureChannel(state.channels, s.spec.channel), s.seq)
    const parents: JobRecord[] = []
    for (const uuid of s.spec.dependsOn) {
      const parent = state.jobs.get(uuid)
      if (parent === undefined) fail(`snapshot job ${s.spec.uuid} names unknown parent ${uuid}`)
      parents.push(parent)
      parent.addChild(job)
      if (parent.state !== 'done') job.unfinishedParents++
    }
    if (parents.length > 0) job.parents = parents
    Object.assign(job, {
      state: s.state,
      eta: s.eta,
      retry: s.retry,
      runs: s.runs,
      result: s.result,
      excName: s.excName,
      excMessage: s.excMessage,
      excInfo: s.excInfo,
      enqueuedAt: s.enqueuedAt,
      startedAt: s.startedAt,
      doneAt: s.doneAt,
      cancelledAt: s.cancelledAt,
    })
    state.jobs.set(job.uuid, job)
    count(state, job)
    if (job.state === 'pending') {
      const node = job.channel
      job.waitingEta = s.waitingEta
      if (s.waitingEta) {
        node.etaQueue.push(job)
        state.etaChannels.add(node)
      } else {
        node.ready.push(job)
        state.readyChannels.add(node)
      }
    }
  }
  for (const [key, uuids] of snapshot.identity) {
    state.identity.set(
      key,
      uuids.map((uuid) => state.jobs.get(uuid) ?? fail(`snapshot identity key ${key} names unknown job ${uuid}`)),
    )
  }
  return state
}

/** The counters a job contributes to: per-state counts, slots, failed jobs of its channel. */
function count(state: State, job: JobRecord): void {
  job.channel.counts[stateIndex(job.state)]!++
  state.counts[stateIndex(job.state)]!++
  if (isRunning(job.state)) for (const node of job.channel.path) node.running++
  if (job.state === 'failed') job.channel.failedOwn++
  if (job.identityKey !== null && isBlocking(job.state) && !state.identity.has(job.identityKey)) {
    // Placeholder so the index is never missing a key; the snapshot's own list replaces it below.
    state.identity.set(job.identityKey, [])
  }
}
