// One channel configuration per cluster (runtime/cluster.ts). Capacities are cluster-wide, and
// the scheduler alone dispatches, so its `channels` option is the one that applies: it publishes
// it in `meta` in the transaction that takes its term (pg-log.ts), and every other member puts it
// in place of its own in the state it reads from — stats(), explain(), the dashboard answer the
// same on every member. A member whose own option differs is told, naming each channel that
// differs and both values; its own applies once it becomes the scheduler (so a rolling restart
// with a new option changes the cluster's configuration at the first takeover by a restarted
// member), and it tells that too.

import { formatChannelEntry, mergeChannelConfig, parseChannelConfig, ROOT, type ChannelConfig } from '../core/channel-config.js'
import type { PublishedChannels } from '../../storage/pg-cluster.js'

/** What a member needs of its engine here. */
export interface ConfiguredEngine {
  configureChannels(config: readonly ChannelConfig[]): void
}

export class ClusterChannels {
  /** The published text the engine's state is under ('' : its own option). */
  private applied = ''
  /** The last published text this Wharf could not parse. */
  private unreadable = ''

  constructor(
    private readonly own: readonly ChannelConfig[],
    private readonly node: string,
    /** False for a member that never schedules (the CLI's): its option never applies, nor differs. */
    private readonly campaigns: boolean,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * The configuration a state is rebuilt under: the one the current term's scheduler published —
   * for a member that just took the term, the one its term replaced, which it then puts its own
   * in place of, as a follower taking over does: so every member's state is the same fold of the
   * log under the same sequence of configurations. Its own when none was published (a scheduler
   * of an older Wharf publishes nothing).
   */
  forState(published: PublishedChannels | null): readonly ChannelConfig[] {
    return published === null ? this.own : (this.parsed(published) ?? this.own)
  }

  /** A follower's state was rebuilt under `published` (forState's, at open or after falling
   * behind a compaction): say how its own option differs, when that is news. */
  rebuilt(published: PublishedChannels | null): void {
    if (published === null || published.channels === this.applied || this.parsed(published) === null) return
    this.applied = published.channels
    this.tellDifferences(published)
  }

  /** A follower read the current term's configuration: adopt it when it changed (a takeover). */
  follow(published: PublishedChannels | null, engine: ConfiguredEngine): void {
    if (published === null || published.channels === this.applied) return
    const config = this.parsed(published)
    if (config === null) return
    engine.configureChannels(config)
    this.applied = published.channels
    this.tellDifferences(published)
  }

  /**
   * This member took the term, publishing its own option (`before`: the one it replaced; its
   * engine's state is under its own once this returns). True when the configuration changed and
   * the state is not empty: the caller snapshots it then, so that a member opening later rebuilds
   * it from a snapshot that holds every channel's pause as it is now — a fresh state under the new
   * option would take that option's `paused` for channels this state keeps its own pause for.
   */
  lead(before: PublishedChannels | null, engine: ConfiguredEngine, seq: number): boolean {
    if (this.applied !== '') engine.configureChannels(this.own)
    this.applied = ''
    const lines = before === null ? [] : differences(this.own, this.parsed(before) ?? []).map((d) => `${d.channel} is ${d.mine} now, was ${d.theirs}`)
    if (lines.length > 0) {
      this.warn(`wharf: cluster member ${this.node} is the scheduler now: its channels option applies to the cluster, in place of that of ${before!.node ?? 'the last scheduler'}: ${lines.join('; ')}`)
    }
    return seq > 0 && (before === null || lines.length > 0)
  }

  private tellDifferences(published: PublishedChannels): void {
    if (!this.campaigns) return
    const lines = differences(this.own, this.parsed(published) ?? []).map((d) => `${d.channel} is ${d.mine} here, ${d.theirs} on the scheduler`)
    if (lines.length === 0) return
    const scheduler = published.node ?? 'the scheduler'
    this.warn(
      `wharf: cluster member ${this.node}: its channels option differs from that of the cluster's scheduler (${scheduler}), which applies to the cluster; ` +
        `stats(), explain() and the dashboard here answer by the scheduler's, and this member's applies only once it becomes the scheduler: ${lines.join('; ')}`,
    )
  }

  private parsed(published: PublishedChannels): readonly ChannelConfig[] | null {
    if (published.channels === this.unreadable) return null
    try {
      return parseChannelConfig(published.channels)
    } catch (error) {
      // Written by a newer Wharf (an option this one lacks): reads go on under this member's own.
      this.unreadable = published.channels // (warned once, not at every heartbeat)
      this.warn(`wharf: cluster member ${this.node}: the scheduler's channel configuration ${JSON.stringify(published.channels)} could not be read (${error instanceof Error ? error.message : String(error)}); reads here answer by this member's own`)
      return null
    }
  }
}

/** A channel two configurations configure differently, and its entry in each ('not configured'). */
export interface ChannelDifference {
  channel: string
  mine: string
  theirs: string
}

/** Each channel `mine` and `theirs` configure differently, in the order `mine`, then `theirs`, name them. */
export function differences(mine: readonly ChannelConfig[], theirs: readonly ChannelConfig[]): ChannelDifference[] {
  const a = effective(mine)
  const b = effective(theirs)
  const found: ChannelDifference[] = []
  for (const channel of new Set([...a.keys(), ...b.keys()])) {
    const entries = { mine: a.get(channel) ?? 'not configured', theirs: b.get(channel) ?? 'not configured' }
    if (entries.mine !== entries.theirs) found.push({ channel, ...entries })
  }
  return found
}

/** Each configured channel's entry in canonical form; root always (capacity 1 unless configured). */
function effective(config: readonly ChannelConfig[]): Map<string, string> {
  const merged = mergeChannelConfig([...config])
  const entries = new Map<string, string>([[ROOT, `${ROOT}:1`]])
  for (const entry of merged.values()) entries.set(entry.name, formatChannelEntry(entry))
  return entries
}
