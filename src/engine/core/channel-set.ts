// A set of channels kept as a plain array with each member's slot stored on the channel, so the
// scheduler can scan it on every pick without allocating an iterator (a Set's iterator showed up
// as ~40 bytes per job). Order is not insertion order; nothing depends on it — every choice made
// while scanning is by a total order that ends on seq.

import type { ChannelNode } from './state.js'

type Slot = 'readySlot' | 'etaSlot'

export class ChannelSet {
  readonly items: ChannelNode[] = []
  constructor(private readonly slot: Slot) {}

  get size(): number {
    return this.items.length
  }

  has(node: ChannelNode): boolean {
    const i = node[this.slot]
    return i >= 0 && this.items[i] === node
  }

  add(node: ChannelNode): void {
    if (this.has(node)) return
    node[this.slot] = this.items.length
    this.items.push(node)
  }

  delete(node: ChannelNode): void {
    if (!this.has(node)) return
    const i = node[this.slot]
    const last = this.items.pop()!
    if (last !== node) {
      this.items[i] = last
      last[this.slot] = i
    }
    node[this.slot] = -1
  }
}
