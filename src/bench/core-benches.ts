// Benchmarks of the pure core (pick cost as the queue grows) and of memory per pending job.

import { initialState } from '../engine/core/channels.js'
import type { Command } from '../engine/core/commands.js'
import type { JobSpec } from '../engine/core/events.js'
import { parseChannelConfig } from '../engine/core/channel-config.js'
import { runTick, TickOutput, type TickInput } from '../engine/core/tick.js'
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

const enqueue = (n: number, nowMs: number): Command => ({ type: 'enqueue', jobs: [spec(n, nowMs)] })

/**
 * A state with `pending` queued jobs; the returned op runs `n` ticks of the core, each finishing
 * the job the tick before started, enqueuing one replacement and starting the next job, so the
 * queue length stays constant across samples. One pick per tick (root:1 has one slot anyway).
 */
export function benchPick(pending: number): (n: number) => void {
  const state = initialState(parseChannelConfig('root:1'))
  let next = 0
  let now = 1_000_000
  const outcomes: Command[] = []
  const commands: Command[] = []
  const input: TickInput = { outcomes, commands, nowMs: now, dispatch: false, registered: null, startsMax: 1, afterCommand: null, auditPick: null }
  const out = new TickOutput()
  for (let stored = 0; stored < pending; ) {
    commands.length = 0
    for (let k = 0; k < 10_000 && stored < pending; k++, stored++) commands.push(enqueue(next++, now))
    out.clear()
    runTick(state, input, out)
  }
  commands.length = 1
  input.dispatch = true
  return (n: number) => {
    for (let i = 0; i < n; i++) {
      input.nowMs = ++now
      commands[0] = enqueue(next++, now)
      out.clear()
      runTick(state, input, out)
      // What the shell does after each batch: the finished job goes to history (not kept here).
      state.retired.clear()
      const started = out.launch[0]
      if (started === undefined) throw new Error('bench: nothing to pick')
      outcomes[0] = { type: 'finish', uuid: started.uuid, run: started.runs, outcome: { kind: 'returned', result: null }, retryPattern: null, entropy: 0 }
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

