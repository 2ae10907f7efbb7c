// Benchmarks of the pure core (pick cost as the queue grows) and of memory per pending job.

import { initialState } from '../engine/core/channels.js'
import { decideInto } from '../engine/core/decide.js'
import { evolve } from '../engine/core/evolve.js'
import type { JobSpec, WharfEvent } from '../engine/core/events.js'
import { parseChannelConfig } from '../engine/core/channel-config.js'
import { pickNext } from '../engine/core/schedule.js'
import type { State } from '../engine/core/state.js'
import { Wharf } from '../index.js'

function spec(n: number, nowMs: number): JobSpec {
  return {
    uuid: `job-${n}`,
    graphUuid: null,
    model: 'bench',
    method: 'noop',
    records: [n],
    args: [n],
    context: {},
    priority: 10,
    eta: null,
    maxRetries: 5,
    description: 'bench.noop',
    channel: 'root',
    identityKey: null,
    dependsOn: [],
    createdAt: nowMs,
  }
}

function applyAll(state: State, events: WharfEvent[], from: number): void {
  for (let i = from; i < events.length; i++) {
    events[i]!.seq = state.seq + 1
    evolve(state, events[i]!)
  }
}

/**
 * A state with `pending` queued jobs; the returned op picks, starts and finishes `n` jobs and
 * enqueues one replacement for each, so the queue length stays constant across samples.
 */
export function benchPick(pending: number): (n: number) => void {
  const state = initialState(parseChannelConfig('root:1'))
  let next = 0
  let now = 1_000_000
  const batch: WharfEvent[] = []
  for (let i = 0; i < pending; i++) {
    decideInto(state, { type: 'enqueue', jobs: [spec(next++, now)] }, now, batch)
    applyAll(state, batch, batch.length - 1)
    if (batch.length > 10_000) batch.length = 0
  }
  return (n: number) => {
    const events: WharfEvent[] = []
    for (let i = 0; i < n; i++) {
      now++
      events.length = 0
      const picked = pickNext(state, now)
      if (picked === null || picked.type !== 'job.enqueued') throw new Error('bench: nothing to pick')
      events.push(picked)
      applyAll(state, events, 0)
      const uuid = picked.uuid
      const job = state.jobs.get(uuid)!
      decideInto(state, { type: 'start', uuid }, now, events)
      applyAll(state, events, 1)
      decideInto(state, { type: 'finish', uuid, run: job.runs, outcome: { kind: 'returned', result: null }, retryPattern: null, entropy: 0 }, now, events)
      applyAll(state, events, 2)
      decideInto(state, { type: 'enqueue', jobs: [spec(next++, now)] }, now, events)
      applyAll(state, events, 3)
    }
  }
}

/** Heap growth per pending job after storing `count` jobs with small arguments. */
export async function measurePendingMemory(count: number): Promise<{ bytesPerJob: number; gcExposed: boolean }> {
  const gc = (globalThis as { gc?: () => void }).gc
  const collect = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc?.()
      await new Promise((resolve) => setImmediate(resolve))
    }
    return process.memoryUsage().heapUsed
  }
  const wharf = await Wharf.open({ channels: 'root:16' })
  const noop = wharf.model('bench', {
    noop(_n: number, _label: string) {
      return undefined
    },
  })
  const before = await collect()
  for (let done = 0; done < count; done += 10_000) {
    const round: Promise<unknown>[] = []
    for (let i = 0; i < 10_000; i++) round.push(noop.browse([done + i]).withDelay().noop(done + i, 'x'))
    await Promise.all(round)
  }
  const after = await collect()
  if (wharf.stats().states.pending !== count) throw new Error('memory bench: jobs missing')
  const bytesPerJob = (after - before) / count
  await wharf.close()
  return { bytesPerJob, gcExposed: gc !== undefined }
}

