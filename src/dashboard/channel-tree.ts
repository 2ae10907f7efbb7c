// GET /api/channels: stats() of each channel with its parent, in tree order (a parent before its
// children, siblings by name), so a page can draw the tree in one pass.

import type { ChannelStats } from '../engine/api/wharf.js'

/** A channel of stats(), with or without its configuration (channel-config.ts), and its parent. */
export type ChannelRow<C extends { name: string } = ChannelStats> = C & {
  /** The nearest listed ancestor; null for root. */
  parent: string | null
}

export function channelTree<C extends { name: string }>(stats: { channels: readonly C[] }): ChannelRow<C>[] {
  const byName = new Map(stats.channels.map((c) => [c.name, c]))
  const children = new Map<string | null, string[]>()
  for (const name of byName.keys()) {
    const parent = parentOf(name, byName)
    let list = children.get(parent)
    if (list === undefined) children.set(parent, (list = []))
    list.push(name)
  }
  const rows: ChannelRow<C>[] = []
  // Depth first with an explicit stack: children pushed in reverse so they pop in name order.
  const stack: [string, string | null][] = (children.get(null) ?? []).sort().reverse().map((name) => [name, null])
  while (stack.length > 0) {
    const [name, parent] = stack.pop()!
    rows.push({ ...byName.get(name)!, parent })
    for (const child of (children.get(name) ?? []).sort().reverse()) stack.push([child, name])
  }
  return rows
}

/** A channel whose parent is not listed (one only history still names) hangs under the nearest
 * ancestor that is. */
function parentOf(name: string, listed: ReadonlyMap<string, unknown>): string | null {
  let cursor = name
  for (;;) {
    const dot = cursor.lastIndexOf('.')
    if (dot === -1) return null
    cursor = cursor.slice(0, dot)
    if (listed.has(cursor)) return cursor
  }
}
