// Proves configureChannels (core/channels.ts), a cluster member's adoption of its scheduler's
// configuration: every channel takes what the new configuration says of it, one it no longer
// names becomes as if auto-created, root:0 disables dispatch and root:N enables it again, and
// pauses stay the state's (only a channel the new configuration creates takes its `paused`) —
// the state then equals one rebuilt from the same log under the new configuration, and one
// restored from a snapshot taken under the old one (a throttle window follows the new throttle).
import { describe, expect, it } from 'vitest'
import { configureChannels, initialState } from '../../src/engine/core/channels.js'
import { parseChannelConfig } from '../../src/engine/core/channel-config.js'
import { projectState } from '../../src/engine/core/project.js'
import { fold } from '../../src/engine/core/evolve.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import { restoreState, snapshotOf } from '../../src/engine/core/snapshot.js'
import { runTick, TickOutput } from '../../src/engine/core/tick.js'
import { TICK_STARTS_MAX } from '../../src/engine/core/limits.js'

const channel = (state: ReturnType<typeof initialState>, name: string) => {
  const { capacity, sequential, throttleMs, paused, removeAfterDays, configured } = state.channels.get(name)!
  return { capacity, sequential, throttleMs, paused, removeAfterDays, configured }
}

describe('configureChannels', () => {
  it('puts a new configuration in place of the one a state was built under, keeping its pauses', () => {
    const state = initialState(parseChannelConfig('root:0,root.mail:2:throttle=5:remove_after_days=3,root.seq:1:sequential'))
    const pause: WharfEvent = { seq: 1, v: 1, at: 1000, type: 'channel.paused', channel: 'root.seq' } as WharfEvent
    fold(state, [pause])
    expect(state.dispatchDisabled).toBe(true)

    configureChannels(state, parseChannelConfig('root:4,root.seq:1,root.export:3:paused'))
    expect(state.dispatchDisabled).toBe(false)
    expect(channel(state, 'root')).toEqual({ capacity: 4, sequential: false, throttleMs: 0, paused: false, removeAfterDays: null, configured: true })
    // No longer named: unlimited, bounded by its ancestors, as an auto-created channel.
    expect(channel(state, 'root.mail')).toEqual({ capacity: null, sequential: false, throttleMs: 0, paused: false, removeAfterDays: null, configured: false })
    // Its pause is state (the log's event), not configuration.
    expect(channel(state, 'root.seq')).toEqual({ capacity: 1, sequential: false, throttleMs: 0, paused: true, removeAfterDays: null, configured: true })
    // Created by the new configuration: it takes its `paused` as a fresh state would.
    expect(channel(state, 'root.export')).toMatchObject({ capacity: 3, paused: true, configured: true })

    configureChannels(state, parseChannelConfig('root.other:2'))
    expect(channel(state, 'root')).toMatchObject({ capacity: 1, configured: true }) // root:1 unless configured
  })

  it('leaves the state as one rebuilt from the log under the new configuration (the channels both have)', () => {
    const log: WharfEvent[] = [{ seq: 1, v: 1, at: 1000, type: 'channel.paused', channel: 'root.mail' } as WharfEvent]
    const adopted = initialState(parseChannelConfig('root:2,root.mail:1'))
    fold(adopted, log)
    configureChannels(adopted, parseChannelConfig('root:3,root.mail:2:throttle=1'))
    const rebuilt = initialState(parseChannelConfig('root:3,root.mail:2:throttle=1'))
    fold(rebuilt, log)
    expect(projectState(adopted)).toEqual(projectState(rebuilt))
  })

  it('derives a throttle window from the last dispatch under the new throttle, rebuilt, adopted or restored alike', () => {
    const before = parseChannelConfig('root:4,root.mail:1:throttle=3600')
    const after = parseChannelConfig('root:4,root.mail:1:throttle=10')
    // One job of root.mail delayed and dispatched at 1000, under the old throttle.
    const live = initialState(before)
    const out = new TickOutput()
    const job = { uuid: 'a', graphUuid: null, model: 'm', method: 'run', records: [], args: [], context: {}, priority: 10, eta: null, maxRetries: 5, description: 'm.run', channel: 'root.mail', identityKey: null, dependsOn: [], createdAt: 1000 }
    runTick(live, { outcomes: [], commands: [{ type: 'enqueue', jobs: [job] }], nowMs: 1000, dispatch: true, registered: null, startsMax: TICK_STARTS_MAX, afterCommand: () => {}, auditPick: () => {} }, out)
    expect(out.events.map((e) => e.type)).toContain('job.enqueued')
    expect(live.channels.get('root.mail')!.throttleUntil).toBe(3_601_000)

    const rebuilt = fold(initialState(after), out.events)
    const adopted = fold(initialState(before), out.events)
    configureChannels(adopted, after)
    const restored = restoreState(after, JSON.parse(JSON.stringify(snapshotOf(live))))
    for (const state of [rebuilt, adopted, restored]) expect(state.channels.get('root.mail')!.throttleUntil).toBe(11_000)
    expect(projectState(adopted)).toEqual(projectState(rebuilt))
    expect(projectState(restored)).toEqual(projectState(rebuilt))

    // A snapshot written before channels kept their last dispatch holds only the window: kept.
    const older = JSON.parse(JSON.stringify(snapshotOf(live)))
    for (const c of older.channels) delete c.lastDispatchAt
    expect(restoreState(after, older).channels.get('root.mail')!.throttleUntil).toBe(3_601_000)
  })
})
