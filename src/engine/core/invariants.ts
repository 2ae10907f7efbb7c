// checkInvariants: the full audit of a state. Every counter, queue and index is recomputed from
// the jobs themselves and compared; capacity, dependency and identity rules are checked. Run
// after every step of the property tests and simulator, and once after recovery on open.

import { AssertionError } from './assert.js'
import { isAcyclic } from './graph.js'
import { JOB_STATES } from './events.js'
import { isBlocking, isRunning, stateIndex, type ChannelNode, type State } from './state.js'
import { batchTotal, isComplete, type BatchRecord } from './batch.js'

export interface InvariantOptions {
  /**
   * The state was just replayed, before recovery: jobs a dead process left started may hold more
   * slots than this process's channel configuration gives (it may have lowered a capacity).
   * Recovery takes them out of running; the open audits again after it, capacity included.
   */
  leftRunning?: boolean
}

export function checkInvariants(state: State, options: InvariantOptions = {}): void {
  const problems: string[] = []
  const bad = (message: string): void => {
    if (problems.length < 20) problems.push(message)
  }
  const running = new Map<ChannelNode, number>()
  const failedOwn = new Map<ChannelNode, number>()
  const counts = new Map<ChannelNode, number[]>()
  const totals = [0, 0, 0, 0, 0, 0, 0]
  const keyHolders = new Map<string, number>()
  for (const node of state.channels.values()) {
    running.set(node, 0)
    failedOwn.set(node, 0)
    counts.set(node, [0, 0, 0, 0, 0, 0, 0])
    if (state.channels.get(node.name) !== node) bad(`channel ${node.name} is indexed under another name`)
    if (node.parent !== null && state.channels.get(node.parent.name) !== node.parent) bad(`channel ${node.name} has an unindexed parent`)
    if (!node.ready.isValid()) bad(`ready heap of ${node.name} is out of order`)
    if (!node.etaQueue.isValid()) bad(`eta heap of ${node.name} is out of order`)
    if (node.ready.size > 0 !== state.readyChannels.has(node)) bad(`readyChannels is wrong about ${node.name}`)
    if (node.etaQueue.size > 0 !== state.etaChannels.has(node)) bad(`etaChannels is wrong about ${node.name}`)
  }
  let queued = 0
  for (const [uuid, job] of state.jobs) {
    if (job.uuid !== uuid) bad(`job ${job.uuid} is indexed under ${uuid}`)
    if (!(JOB_STATES as readonly string[]).includes(job.state)) bad(`job ${uuid} has unknown state ${job.state}`)
    totals[stateIndex(job.state)]!++
    counts.get(job.channel)![stateIndex(job.state)]!++
    if (isRunning(job.state)) for (const n of job.channel.path) running.set(n, running.get(n)! + 1)
    if (job.state === 'failed') failedOwn.set(job.channel, failedOwn.get(job.channel)! + 1)
    const unfinished = job.parents.filter((p) => p.state !== 'done').length
    if (unfinished !== job.unfinishedParents) bad(`job ${uuid} counts ${job.unfinishedParents} unfinished parents, has ${unfinished}`)
    if (job.state === 'wait_dependencies' && unfinished === 0) bad(`job ${uuid} waits with every parent done`)
    if (job.state === 'pending' && unfinished > 0) bad(`job ${uuid} is pending with unfinished parents`)
    for (const p of job.parents) {
      if (state.jobs.get(p.uuid) !== p) bad(`job ${uuid} has an unknown parent ${p.uuid}`)
      if (!p.children.includes(job)) bad(`edge ${p.uuid} -> ${uuid} is missing from the parent`)
      if (p.graphUuid === null || p.graphUuid !== job.graphUuid) bad(`edge ${p.uuid} -> ${uuid} crosses graphs`)
    }
    for (const c of job.children) if (!c.parents.includes(job)) bad(`edge ${uuid} -> ${c.uuid} is missing from the child`)
    const inHeap = job.waitingEta ? job.channel.etaQueue.contains(job) : job.channel.ready.contains(job)
    if (job.state === 'pending') {
      queued++
      if (!inHeap) bad(`pending job ${uuid} is not queued`)
    } else if (job.heapIndex !== -1 || job.waitingEta) bad(`job ${uuid} in ${job.state} is still queued`)
    if (job.identityKey !== null && isBlocking(job.state)) {
      keyHolders.set(job.identityKey, (keyHolders.get(job.identityKey) ?? 0) + 1)
      if (!state.identity.get(job.identityKey)?.includes(job)) bad(`job ${uuid} is missing from the identity index`)
    }
    if (job.retry < 0) bad(`job ${uuid} has retry ${job.retry}`)
  }
  const held = heldBySuperseded(state, bad)
  let heapTotal = 0
  for (const node of state.channels.values()) {
    if (node.held !== (held.get(node) ?? 0)) bad(`channel ${node.name} counts ${node.held} held slots, has ${held.get(node) ?? 0}`)
    heapTotal += node.ready.size + node.etaQueue.size
    if (node.running !== running.get(node)) bad(`channel ${node.name} counts ${node.running} running, has ${running.get(node)}`)
    if (node.capacity !== null && node.running + node.held > node.capacity && options.leftRunning !== true) {
      bad(`channel ${node.name} runs ${node.running} jobs and ${node.held} superseded handlers over capacity ${node.capacity}`)
    }
    if (node.failedOwn !== failedOwn.get(node)) bad(`channel ${node.name} counts ${node.failedOwn} failed, has ${failedOwn.get(node)}`)
    const own = counts.get(node)!
    for (let i = 0; i < own.length; i++) if (own[i] !== node.counts[i]) bad(`channel ${node.name} counts ${node.counts[i]} ${JOB_STATES[i]}, has ${own[i]}`)
    for (const job of node.ready.values()) if (job.state !== 'pending' || job.channel !== node) bad(`ready heap of ${node.name} holds ${job.uuid} (${job.state})`)
    for (const job of node.etaQueue.values()) if (job.state !== 'pending' || job.channel !== node) bad(`eta heap of ${node.name} holds ${job.uuid} (${job.state})`)
  }
  if (heapTotal !== queued) bad(`${heapTotal} queued entries for ${queued} pending jobs`)
  for (let i = 0; i < totals.length; i++) if (totals[i] !== state.counts[i]) bad(`state counts ${state.counts[i]} ${JOB_STATES[i]}, has ${totals[i]}`)
  checkIdentity(state, keyHolders, bad)
  if (!isAcyclic(state.jobs.values())) bad('the dependency graph has a cycle')
  checkBatches(state, bad)
  checkCrons(state, bad)
  checkRunsOn(state, bad)
  if (problems.length > 0) throw new AssertionError(problems.join('; '))
}

/**
 * Batches: jobs that are not done or cancelled are always in memory, so those counts are exact
 * here; done and cancelled ones may be in history, so memory holds at most the counts. A batch
 * exists while it has a job; it is done exactly when complete (between decisions), and then
 * nothing of it is live or failed.
 */
function checkBatches(state: State, bad: (message: string) => void): void {
  const seen = new Map<BatchRecord, number[]>()
  for (const b of state.batches.values()) seen.set(b, [0, 0, 0, 0, 0, 0, 0])
  for (const job of state.jobs.values()) {
    if (job.batch === null) continue
    const counts = seen.get(job.batch)
    if (counts === undefined || state.batches.get(job.batch.uuid) !== job.batch) bad(`job ${job.uuid} is in unknown batch ${job.batch.uuid}`)
    else counts[stateIndex(job.state)]!++
  }
  for (const [b, counts] of seen) {
    for (let i = 0; i < counts.length; i++) {
      const exact = JOB_STATES[i] !== 'done' && JOB_STATES[i] !== 'cancelled'
      if (exact ? counts[i] !== b.counts[i] : counts[i]! > b.counts[i]!) bad(`batch ${b.uuid} counts ${b.counts[i]} ${JOB_STATES[i]}, memory holds ${counts[i]}`)
    }
    if (batchTotal(b) <= 0) bad(`batch ${b.uuid} has ${batchTotal(b)} jobs`)
    if (b.doneAt !== null && b.counts.some((n, i) => n > 0 && JOB_STATES[i] !== 'done' && JOB_STATES[i] !== 'cancelled')) bad(`batch ${b.uuid} is done with jobs not finished`)
    if (b.doneAt === null && isComplete(b)) bad(`batch ${b.uuid} is complete but not done`)
    const toStore = b.onDoneUuids.length > 0 && !b.onDoneStored
    if ((b.onDone !== null) !== toStore || (b.onDoneStored && b.onDoneUuids.length === 0)) bad(`batch ${b.uuid} is wrong about its onDone jobs`)
    for (const uuid of b.onDoneUuids) if (!b.onDoneStored && state.onDoneUuids.get(uuid) !== b) bad(`onDone job ${uuid} of batch ${b.uuid} is not reserved`)
  }
}

/** Each identity key indexes exactly the jobs that hold it (`keyHolders`: counted from the jobs). */
function checkIdentity(state: State, keyHolders: ReadonlyMap<string, number>, bad: (message: string) => void): void {
  for (const [key, holders] of state.identity) {
    if (holders.length !== keyHolders.get(key)) bad(`identity key ${key} indexes ${holders.length} jobs, ${keyHolders.get(key) ?? 0} hold it`)
  }
}

/** A cron is indexed by its name, and fires next after its last firing (never one time twice). */
function checkCrons(state: State, bad: (message: string) => void): void {
  for (const [name, cron] of state.crons) {
    if (cron.definition.name !== name) bad(`cron ${cron.definition.name} is indexed under ${name}`)
    if (cron.nextMs !== null && cron.lastMs !== null && !(cron.nextMs > cron.lastMs)) bad(`cron ${name} fires next at ${cron.nextMs}, not after its last firing ${cron.lastMs}`)
  }
}

/** Each cluster worker counts the started jobs assigned to it and its superseded runs. */
function checkRunsOn(state: State, bad: (message: string) => void): void {
  const runsOn = new Map<string, number>()
  const count = (node: string): void => void runsOn.set(node, (runsOn.get(node) ?? 0) + 1)
  for (const job of state.jobs.values()) {
    if (job.worker === null) continue
    if (job.state !== 'started') bad(`job ${job.uuid} in ${job.state} is assigned to worker ${job.worker}`)
    count(job.worker)
  }
  for (const runs of state.superseded.values()) for (const r of runs) if (r.worker !== null) count(r.worker)
  if (runsOn.size !== state.runsOn.size) bad(`${state.runsOn.size} workers counted, ${runsOn.size} run handlers`)
  for (const [node, n] of runsOn) if (state.runsOn.get(node) !== n) bad(`worker ${node} counts ${state.runsOn.get(node) ?? 0} runs, has ${n}`)
}

/** Slots held by superseded runs, per channel, from the runs themselves. */
function heldBySuperseded(state: State, bad: (message: string) => void): Map<ChannelNode, number> {
  const held = new Map<ChannelNode, number>()
  for (const [uuid, runs] of state.superseded) {
    if (runs.length === 0) bad(`job ${uuid} has an empty list of superseded runs`)
    const job = state.jobs.get(uuid)
    for (const r of runs) {
      if (state.channels.get(r.channel.name) !== r.channel) bad(`superseded run ${r.run} of job ${uuid} holds slots of an unindexed channel`)
      // A run is live (its job started in it) or superseded, never both; and it did start.
      if (job !== undefined && (r.run > job.runs || (job.state === 'started' && r.run === job.runs))) bad(`run ${r.run} of job ${uuid} is superseded and live`)
      for (const n of r.channel.path) held.set(n, (held.get(n) ?? 0) + 1)
    }
  }
  return held
}
