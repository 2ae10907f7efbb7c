// Test helpers for a cluster member's replica (real PostgreSQL server): hold it at a gate so that
// it applies nothing while the scheduler decides, and follow where the scheduler starts jobs.
import type { Wharf, WharfEvent } from '../../src/index.js'
import type { State } from '../../src/engine/core/state.js'
import type { Replica } from '../../src/engine/runtime/replica.js'
import type { PgLog } from '../../src/storage/pg-log.js'
import { gate } from '../unit/helpers.js'

export interface Insides {
  engine: { log: PgLog; state: State }
  clusterMember: { replica: Replica }
}

/**
 * Hold `wharf`'s replica: its next read of the log waits at a gate (one read at a time: the
 * replica's rounds are coalesced, so nothing is applied while it waits). Resolves once it waits,
 * with the seq its state is frozen at; release() lets it go and awaits its catching up.
 */
export async function freezeReplica(wharf: Wharf): Promise<{ seq: number; readTail: PgLog['readTail']; release(): Promise<void> }> {
  const { engine, clusterMember } = wharf as unknown as Insides
  const log = engine.log
  const readTail = log.readTail.bind(log)
  const held = gate()
  const blocked = gate()
  log.readTail = async (afterSeq, limit) => {
    blocked.open()
    await held.wait
    return readTail(afterSeq, limit)
  }
  const caughtUp = clusterMember.replica.catchUp()
  await blocked.wait
  return {
    seq: engine.state.seq,
    readTail,
    async release() {
      log.readTail = readTail
      held.open()
      await caughtUp
      await clusterMember.replica.catchUp()
    },
  }
}

/** Resolves with the worker of the first job.started of `uuid` the scheduler commits. */
export function startOf(scheduler: Wharf): (uuid: string) => Promise<string> {
  const starts = new Map<string, string>()
  const waiting = new Map<string, (node: string) => void>()
  scheduler.on('transition', (event: WharfEvent) => {
    if (event.type !== 'job.started' || starts.has(event.uuid)) return
    starts.set(event.uuid, event.node ?? '(none)')
    waiting.get(event.uuid)?.(event.node ?? '(none)')
  })
  return (uuid) => (starts.has(uuid) ? Promise.resolve(starts.get(uuid)!) : new Promise((resolve) => waiting.set(uuid, resolve)))
}

/** The next event of job `uuid` that `member` commits or applies from now on. */
export function nextEventOf(member: Wharf, uuid: string): Promise<WharfEvent> {
  return new Promise((resolve) => {
    const off = member.on('transition', (event: WharfEvent) => {
      if (!('uuid' in event) || event.uuid !== uuid) return
      off()
      resolve(event)
    })
  })
}
