// A store opened by the CLI (`--path`) holds no channel configuration: it was opened under the
// CLI's own channels (CLI_CHANNELS: a capacity no store reaches; not sequential, not throttled).
// What is served or printed from it leaves those made-up values out, so that no page or script
// reads them as the app's.

import type { ChannelStats, Stats } from '../engine/api/queries.js'

/** A channel's counts without its configuration (capacity, sequential, throttleSeconds). */
export type ChannelCounts = Omit<ChannelStats, 'capacity' | 'sequential' | 'throttleSeconds'>

export function withoutConfiguration(stats: Stats): Omit<Stats, 'channels'> & { channels: ChannelCounts[] } {
  return { ...stats, channels: stats.channels.map(({ capacity: _c, sequential: _s, throttleSeconds: _t, ...counts }) => counts) }
}
