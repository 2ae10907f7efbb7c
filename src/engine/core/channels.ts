// The channel tree: built from the parsed configuration, grown on demand for unknown channel
// names, and asked one question by the scheduler: may a job of this channel start now?

import { fail } from './assert.js'
import { mergeChannelConfig, parentChannelName, ROOT, type ChannelConfig } from './channel-config.js'
import { ChannelSet } from './channel-set.js'
import { CHANNEL_DEPTH_MAX } from './limits.js'
import { ChannelNode, readyLess, type State } from './state.js'

export function initialState(config: readonly ChannelConfig[]): State {
  const root = new ChannelNode(ROOT, null)
  const channels = new Map<string, ChannelNode>([[ROOT, root]])
  root.capacity = 1 // queue_job: root always exists, with capacity 1 unless configured
  root.configured = true
  let dispatchDisabled = false
  for (const entry of mergeChannelConfig([...config]).values()) {
    const node = ensureChannel(channels, entry.name)
    node.configured = true
    // queue_job: capacity 0 means "no limit" on a subchannel, but 'root:0' disables the runner.
    if (node === root && entry.capacity === 0) dispatchDisabled = true
    node.capacity = entry.capacity === 0 ? null : entry.capacity
    node.sequential = entry.sequential
    node.throttleMs = entry.throttleSeconds * 1000
    node.paused = entry.paused
    node.removeAfterDays = entry.removeAfterDays
  }
  return {
    seq: 0,
    jobs: new Map(),
    channels,
    root,
    dispatchDisabled,
    identity: new Map(),
    readyChannels: new ChannelSet('readySlot'),
    etaChannels: new ChannelSet('etaSlot'),
    counts: [0, 0, 0, 0, 0, 0, 0],
    superseded: new Map(),
    graphs: new Map(),
    finishing: [],
    retired: new Map(),
    restored: new Map(),
  }
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

/**
 * May the best ready job of `node` start at `nowMs`? Every channel on its path needs a free slot,
 * must not be paused or inside its throttle window, and a sequential channel must have no failed
 * job of its own. A sequential channel also waits while the job that is next due in its eta
 * queue sorts before its best ready job — queue_job's rule (it compares those two heads only),
 * so a later job does not overtake the next eta job.
 */
export function canStartFrom(node: ChannelNode, nowMs: number): boolean {
  if (node.sequential && node.etaQueue.size > 0) {
    const etaHead = node.etaQueue.peek()!
    const readyHead = node.ready.peek()!
    if (readyLess(etaHead, readyHead)) return false
  }
  const path = node.path
  for (let i = 0; i < path.length; i++) {
    const n = path[i]!
    if (n.paused) return false
    if (n.capacity !== null && n.running + n.held >= n.capacity) return false
    if (n.sequential && n.failedOwn > 0) return false
    if (n.throttleMs > 0 && nowMs < n.throttleUntil) return false
  }
  return true
}

