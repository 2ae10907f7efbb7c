// Proves when a snapshot is due: after snapshotEvery events, and, with the default, after at
// least SNAPSHOT_EVENTS_PER_LIVE_JOB events per live job, so that a large backlog (whose
// snapshots cost in proportion to it) is snapshotted less often; an explicit snapshotEvery alone.
import { describe, expect, it } from 'vitest'
import { SNAPSHOT_EVENTS_PER_LIVE_JOB } from '../../src/engine/core/limits.js'
import type { State } from '../../src/engine/core/state.js'
import { FakeClock } from '../../src/engine/runtime/clock.js'
import { Maintenance, type Maintained } from '../../src/engine/runtime/maintenance.js'
import { MemoryLog } from '../../src/storage/memory-log.js'

/** An engine whose state is at `seq` with `live` jobs in memory. */
function engineAt(seq: number, live: number): Maintained & { state: State } {
  // Only what the policy reads: the seq and how many jobs are in memory.
  const state = { seq, jobs: new Map<string, never>() } as unknown as State
  for (let i = 0; i < live; i++) state.jobs.set(`job-${i}`, {} as never)
  return { state, submit: () => Promise.reject(new Error('not used')), quiet: true, runningHandlers: 0, vacuumEnded: () => undefined, snapshotWritten: () => undefined }
}

function dueAt(seq: number, live: number, snapshotEvery: number, snapshotEventsPerLiveJob?: number): boolean {
  const engine = engineAt(0, live)
  const maintenance = new Maintenance(engine, { log: new MemoryLog(), clock: new FakeClock(), snapshotEvery, snapshotEventsPerLiveJob, removeAfterDays: 30 })
  engine.state.seq = seq
  return maintenance.snapshotDue()
}

describe('a snapshot is due', () => {
  it('after snapshotEvery events when few jobs are live', () => {
    expect(dueAt(99, 3, 100, SNAPSHOT_EVENTS_PER_LIVE_JOB)).toBe(false)
    expect(dueAt(100, 3, 100, SNAPSHOT_EVENTS_PER_LIVE_JOB)).toBe(true)
  })

  it('with a backlog, only after SNAPSHOT_EVENTS_PER_LIVE_JOB events per live job', () => {
    const live = 1_000
    const bound = SNAPSHOT_EVENTS_PER_LIVE_JOB * live
    expect(bound).toBeGreaterThan(100)
    expect(dueAt(bound - 1, live, 100, SNAPSHOT_EVENTS_PER_LIVE_JOB)).toBe(false)
    expect(dueAt(bound, live, 100, SNAPSHOT_EVENTS_PER_LIVE_JOB)).toBe(true)
  })

  it('after snapshotEvery events alone when the factor is off (an explicit snapshotEvery)', () => {
    expect(dueAt(100, 1_000, 100)).toBe(true)
    expect(dueAt(100, 1_000, 100, 0)).toBe(true)
  })

  it('never with snapshotEvery 0', () => {
    expect(dueAt(1_000_000, 0, 0, SNAPSHOT_EVENTS_PER_LIVE_JOB)).toBe(false)
  })
})
