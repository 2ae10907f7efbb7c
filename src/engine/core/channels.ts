// The channel tree: built from the parsed configuration, grown on demand for unknown channel
// names, and asked one question by the scheduler: may a job of this channel start now?

import { fail } from './assert.js'
import { mergeChannelConfig, parentChannelName, ROOT, type ChannelConfig } from './channel-config.js'
import { ChannelSet } from './channel-set.js'
import { CHANNEL_DEPTH_MAX } from './limits.js'
import { RetiredJobs } from './retired-jobs.js'
import { ChannelNode, readyLess, type JobRecord, type State } from './state.js'

export function initialState(config: readonly ChannelConfig[]): State {
  const root = new ChannelNode(ROOT, null)
  const channels = new Map<string, ChannelNode>([[ROOT, root]])
  const dispatchDisabled = configureTree(channels, root, config, true)
  return {
    seq: 0,
    jobs: new Map(),
    channels,
    root,
    dispatchDisabled,
    identity: new Map(),
    crons: new Map(),
    readyChannels: new ChannelSet('readySlot'),
    etaChannels: new ChannelSet('etaSlot'),
    counts: [0, 0, 0, 0, 0, 0, 0],
    superseded: new Map(),
    runsOn: new Map(),
    graphs: new Map(),
    finishing: [],
    retired: new RetiredJobs(),
    batches: new Map(),
    batchesCompleting: new Set(),
    onDoneUuids: new Map(),
    restored: new Map(),
  }
}

/**
 * Put `config` in place of the configuration `state` was built with (a cluster member adopting
 * its scheduler's): every channel takes what `config` says of it, and a channel it does not name
 * becomes as if auto-created (unlimited, bounded by its ancestors). Pauses and the time of each
 * channel's last dispatch are state, not configuration (the log's events and snapshots carry
 * them): a channel keeps its own, and only one `config` creates takes its `paused` option — as
 * an embedded reopen under a new configuration does for the channels its snapshot holds. A
 * throttle window is that last dispatch plus the throttle `config` gives (ChannelNode).
 */
export function configureChannels(state: State, config: readonly ChannelConfig[]): void {
  state.dispatchDisabled = configureTree(state.channels, state.root, config, false)
}

/** Configure the tree `channels` (under `root`) as `config` says; true when it disables dispatch. */
function configureTree(channels: Map<string, ChannelNode>, root: ChannelNode, config: readonly ChannelConfig[], fresh: boolean): boolean {
  for (const node of channels.values()) {
    node.configured = false
    node.capacity = null
    node.sequential = false
    node.throttleMs = 0
    node.removeAfterDays = null
  }
  root.capacity = 1 // queue_job: root always exists, with capacity 1 unless configured
  root.configured = true
  let dispatchDisabled = false
  for (const entry of mergeChannelConfig([...config]).values()) {
    const created = fresh || !channels.has(entry.name)
    const node = ensureChannel(channels, entry.name)
    node.configured = true
    // queue_job: capacity 0 means "no limit" on a subchannel, but 'root:0' disables the runner.
    if (node === root && entry.capacity === 0) dispatchDisabled = true
    node.capacity = entry.capacity === 0 ? null : entry.capacity
    node.sequential = entry.sequential
    node.throttleMs = entry.throttleSeconds * 1000
    if (created) node.paused = entry.paused
    node.removeAfterDays = entry.removeAfterDays
  }
  return dispatchDisabled
}

/**
 * The node for a complete channel name, creating it and any missing ancestors on the way.
 * Unknown channels hang under their nearest existing ancestor with their real path (unlike
 * queue_job, which re-roots 'root.sub.x' as 'root.sub.sub.x'); created nodes are unlimited, so
 * only their configured ancestors limit them.
 */
export function ensureChannel(channels: Map<string, ChannelNode>, name: string): ChannelNode {
  const existing = channels.get(name)
  if (existing !== undefined) return existing
  const missing: string[] = []
  let cursor: string | null = name
  let anchor: ChannelNode | undefined
  while (cursor !== null) {
    anchor = channels.get(cursor)
    if (anchor !== undefined) break
    missing.push(cursor)
    // Names are checked at the boundary; a parent that does not shorten the name would loop here.
    if (missing.length > CHANNEL_DEPTH_MAX) fail(`channel ${name} walks past CHANNEL_DEPTH_MAX levels`)
    cursor = parentChannelName(cursor)
  }
  if (anchor === undefined) fail(`channel ${name} has no root`)
  let node: ChannelNode = anchor
  for (let i = missing.length - 1; i >= 0; i--) {
    node = new ChannelNode(missing[i]!, node)
    channels.set(node.name, node)
  }
  return node
}

// The gates of one level of a path, in the order the scheduler checks them. A small code, not an
// object: the dispatch asks on every pick and must not allocate; explain (explain.ts) turns a
// code into a Reason, asking the same function, so the two can never disagree.
export const GATE_OPEN = 0
export const GATE_PAUSED = 1
export const GATE_FULL = 2
/** A sequential channel with a failed job of its own: it waits until that job is dealt with. */
export const GATE_FAILED = 3
export const GATE_THROTTLED = 4
export type Gate = typeof GATE_OPEN | typeof GATE_PAUSED | typeof GATE_FULL | typeof GATE_FAILED | typeof GATE_THROTTLED

/**
 * The first gate after `after` that keeps level `n` of a job's path closed at `nowMs`
 * (GATE_OPEN: none). A job may start only when every level of its path is open: no pause, a free
 * slot (capacity counts running jobs and superseded handlers), no failed job of its own on a
 * sequential channel, and no throttle window. The dispatch asks with `after` = GATE_OPEN (the
 * first gate); explain asks again after each gate found, to report them all.
 */
export function gateOf(n: ChannelNode, nowMs: number, after: Gate): Gate {
  if (after < GATE_PAUSED && n.paused) return GATE_PAUSED
  if (after < GATE_FULL && n.capacity !== null && n.running + n.held >= n.capacity) return GATE_FULL
  if (after < GATE_FAILED && n.sequential && n.failedOwn > 0) return GATE_FAILED
  if (after < GATE_THROTTLED && n.throttleMs > 0 && nowMs < n.throttleUntil) return GATE_THROTTLED
  return GATE_OPEN
}

/**
 * The eta job that holds a sequential channel's order: its next job in eta order, when that sorts
 * before its best ready job — queue_job's rule (it compares those two heads only), so a later
 * job does not overtake the next eta job. null: none does (or the channel is not sequential).
 * `node` must have a ready job.
 */
export function orderKeeperOf(node: ChannelNode): JobRecord | null {
  if (!node.sequential || node.etaQueue.size === 0) return null
  const etaHead = node.etaQueue.peek()!
  return readyLess(etaHead, node.ready.peek()!) ? etaHead : null
}

/**
 * May the best ready job of `node` start at `nowMs`? No eta job holds its order, and every
 * channel on its path is open (gateOf).
 */
export function canStartFrom(node: ChannelNode, nowMs: number): boolean {
  if (orderKeeperOf(node) !== null) return false
  const path = node.path
  for (let i = 0; i < path.length; i++) {
    if (gateOf(path[i]!, nowMs, GATE_OPEN) !== GATE_OPEN) return false
  }
  return true
}
