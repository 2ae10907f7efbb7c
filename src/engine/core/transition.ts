// The one place where a job changes state. Every side effect of a state change lives here, so
// that counters, queues, slots and indexes can never disagree with the states they summarise:
// queue membership, slots along the channel path, failed counts of sequential channels, the
// identity index, per-state counts, and the unfinished-parent counts of children.

import { fail } from './assert.js'
import type { JobState } from './events.js'
import { joinGraph, noteFinishing } from './retire.js'
import { batchTransition } from './batch.js'
import { countRunOn, isBlocking, isRunning, stateIndex, type JobRecord, type State } from './state.js'

export function transition(state: State, job: JobRecord, to: JobState, atMs: number): void {
  const from = job.state
  if (from === to) return
  leave(state, job, from, to)
  job.state = to
  const own = job.channel.counts
  own[stateIndex(from)]!--
  own[stateIndex(to)]!++
  state.counts[stateIndex(from)]!--
  state.counts[stateIndex(to)]!++
  enter(state, job, from, to, atMs)
  noteFinishing(state, job, from, to)
  if (job.batch !== null) batchTransition(state, job.batch, from, to)
}

/** Count a new job in its first state (it has no state to leave). */
export function enterInitial(state: State, job: JobRecord, atMs: number): void {
  admit(state, job, job.state === 'pending' && job.eta !== null && job.eta > atMs)
}

/**
 * A job enters memory in `job.state` — created, restored from a snapshot, or brought back from
 * history — and takes its place in every counter, queue, index and graph count, exactly as
 * transition() keeps them. The one place that does, so the three ways in cannot disagree.
 * `waitingEta`: for a pending job, whether it waits in the eta heap rather than the ready one.
 */
export function admit(state: State, job: JobRecord, waitingEta: boolean): void {
  job.channel.counts[stateIndex(job.state)]!++
  state.counts[stateIndex(job.state)]!++
  if (isRunning(job.state)) {
    const path = job.channel.path
    for (let i = 0; i < path.length; i++) path[i]!.running++
  }
  if (job.state === 'failed') job.channel.failedOwn++
  if (job.state === 'pending') {
    if (!(job.unfinishedParents === 0)) fail(`job ${job.uuid} queued with unfinished parents`)
    job.waitingEta = waitingEta
    const node = job.channel
    if (waitingEta) {
      node.etaQueue.push(job)
      state.etaChannels.add(node)
    } else {
      node.ready.push(job)
      state.readyChannels.add(node)
    }
  }
  if (job.identityKey !== null && isBlocking(job.state)) holdKey(state, job)
  joinGraph(state, job)
}

/** Make `parents` the parents of `job` (a new job, or one entering memory): edges both ways and
 * the count of parents not done. */
export function linkParents(job: JobRecord, parents: readonly JobRecord[]): void {
  for (let i = 0; i < parents.length; i++) {
    const parent = parents[i]!
    parent.addChild(job)
    if (parent.state !== 'done') job.unfinishedParents++
  }
  if (parents.length > 0) job.parents = parents
}

function leave(state: State, job: JobRecord, from: JobState, to: JobState): void {
  if (from === 'pending') unqueue(state, job)
  if (isRunning(from) && !isRunning(to)) {
    const path = job.channel.path
    for (let i = 0; i < path.length; i++) path[i]!.running--
  }
  if (from === 'failed') job.channel.failedOwn--
  // Its run ended there (a superseded run moved off the job first: see evolve's supersede).
  if (from === 'started' && job.worker !== null) {
    countRunOn(state, job.worker, -1)
    job.worker = null
  }
  if (job.identityKey !== null && isBlocking(from) && !isBlocking(to)) releaseKey(state, job)
  if (from === 'done') {
    // A parent that stops being done holds its children back again; one that has not started
    // yet goes back to waiting, so "a job never starts before its parents are done" holds.
    const children = job.children
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!
      child.unfinishedParents++
      if (child.state === 'pending') transition(state, child, 'wait_dependencies', 0)
    }
  }
}

function enter(state: State, job: JobRecord, from: JobState, to: JobState, atMs: number): void {
  if (to === 'pending') queue(state, job, atMs)
  if (isRunning(to) && !isRunning(from)) {
    const path = job.channel.path
    for (let i = 0; i < path.length; i++) path[i]!.running++
  }
  if (to === 'failed') job.channel.failedOwn++
  if (job.identityKey !== null && isBlocking(to) && !isBlocking(from)) holdKey(state, job)
  if (to === 'done') {
    const children = job.children
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!
      child.unfinishedParents--
      if (!(child.unfinishedParents >= 0)) fail(`job ${child.uuid} has a negative unfinished-parent count`)
      if (child.unfinishedParents === 0 && child.state === 'wait_dependencies') {
        transition(state, child, 'pending', atMs)
      }
    }
  }
}

/** Queue a pending job: behind its eta if that is still ahead, else in the ready heap. */
function queue(state: State, job: JobRecord, atMs: number): void {
  if (!(job.unfinishedParents === 0)) fail(`job ${job.uuid} queued with unfinished parents`)
  const node = job.channel
  if (job.eta !== null && job.eta > atMs) {
    job.waitingEta = true
    node.etaQueue.push(job)
    state.etaChannels.add(node)
  } else {
    job.waitingEta = false
    node.ready.push(job)
    state.readyChannels.add(node)
  }
}

function unqueue(state: State, job: JobRecord): void {
  const node = job.channel
  if (job.waitingEta) {
    if (!(node.etaQueue.remove(job))) fail(`job ${job.uuid} missing from its eta queue`)
    if (node.etaQueue.size === 0) state.etaChannels.delete(node)
  } else {
    if (!(node.ready.remove(job))) fail(`job ${job.uuid} missing from its ready queue`)
    if (node.ready.size === 0) state.readyChannels.delete(node)
  }
  job.waitingEta = false
}

/** Move a queued job whose eta has passed into the ready heap. */
export function promoteEta(state: State, job: JobRecord): void {
  if (!(job.state === 'pending' && job.waitingEta)) fail(`job ${job.uuid} is not waiting for its eta`)
  unqueue(state, job)
  const node = job.channel
  node.ready.push(job)
  state.readyChannels.add(node)
}

function holdKey(state: State, job: JobRecord): void {
  const key = job.identityKey!
  const holders = state.identity.get(key)
  if (holders === undefined) state.identity.set(key, [job])
  else holders.push(job)
}

function releaseKey(state: State, job: JobRecord): void {
  const key = job.identityKey!
  const holders = state.identity.get(key)
  if (holders === undefined) fail(`identity key ${key} of job ${job.uuid} is not indexed`)
  const i = holders.indexOf(job)
  if (!(i >= 0)) fail(`job ${job.uuid} does not hold identity key ${key}`)
  holders.splice(i, 1)
  if (holders.length === 0) state.identity.delete(key)
}
