// The steps of Engine.open around the engine's construction: rebuild and audit the state before
// there is an engine, then recover the jobs a dead process left, through the engine's own ticks,
// before anything can be dispatched — so no slot is ever held by a dead job.

import { fail } from '../core/assert.js'
import type { ChannelConfig } from '../core/channel-config.js'
import type { Command } from '../core/commands.js'
import { checkInvariants } from '../core/invariants.js'
import { RECOVER_BATCH } from '../core/limits.js'
import type { State } from '../core/state.js'
import type { EventLog } from '../../storage/event-log.js'
import { replay, type OpenReport, type Replayed } from './replay.js'
import type { ResultOf } from './submissions.js'

/**
 * Open the log and rebuild the state (latest snapshot + the events after it), audited. On any
 * failure the log is closed again: a retry must not find a LevelDB path locked. `stateChannels`,
 * asked once the log is open, names the configuration to rebuild it under instead of `channels`
 * (a cluster follower's: its scheduler's, read from the log's tables); the result says which.
 */
export async function openAndReplay(
  log: EventLog,
  channels: readonly ChannelConfig[],
  stateChannels?: () => readonly ChannelConfig[],
): Promise<Replayed & { channels: readonly ChannelConfig[] }> {
  await log.open()
  try {
    const config = stateChannels?.() ?? channels
    const replayed = await replay(log, config)
    checkInvariants(replayed.state, { leftRunning: true })
    return { ...replayed, channels: config }
  } catch (error) {
    await log.close()
    throw error
  }
}

export interface Recovered {
  requeued: number
  foundDead: number
}

/** Record the recovery of every job left running (by a worker not in `liveWorkers`), one bounded
 * batch per tick. */
export async function recoverAll(engine: { state: State; submit<T>(command: Command, result?: ResultOf<T>): Promise<T> }, liveWorkers?: readonly string[]): Promise<Recovered> {
  // A cluster's live workers go on running theirs (see the recover command).
  const command: Command = liveWorkers === undefined ? { type: 'recover', limit: RECOVER_BATCH } : { type: 'recover', limit: RECOVER_BATCH, keep: liveWorkers }
  const total: Recovered = { requeued: 0, foundDead: 0 }
  // Every round but the last takes RECOVER_BATCH jobs out of running, and nothing is enqueued
  // meanwhile: one round more than that is a recover that changes nothing, which would loop.
  const roundsMax = Math.floor(engine.state.jobs.size / RECOVER_BATCH) + 1
  for (let round = 1; ; round++) {
    if (round > roundsMax) fail(`recovery at open took more than ${roundsMax} rounds of RECOVER_BATCH for ${engine.state.jobs.size} jobs`)
    const { requeued, foundDead } = await engine.submit(command, recoveredCounts)
    total.requeued += requeued
    total.foundDead += foundDead
    if (requeued + foundDead < RECOVER_BATCH) return total
  }
}

const recoveredCounts: ResultOf<Recovered> = (note) =>
  note !== undefined && 'requeued' in note ? note : { requeued: 0, foundDead: 0 }

export function openReportOf(replayed: Replayed, recovered: Recovered, vacuumed: number, openMs: number): OpenReport {
  return {
    snapshotSeq: replayed.snapshotSeq,
    replayedEvents: replayed.events,
    jobs: replayed.state.jobs.size,
    requeued: recovered.requeued,
    foundDead: recovered.foundDead,
    vacuumed,
    openMs,
  }
}
