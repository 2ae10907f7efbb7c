// The reference side of each performance target (targets.ts), and the Wharf measurements no
// other bench takes: each function does its work once and returns what the ratio needs.

import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import PQueue from 'p-queue'
import { Wharf } from '../index.js'
import { FIRST_KEY, LAST_KEY } from '../storage/level-recovery.js'
import { benchLifecycle } from './engine-benches.js'
import { tempDir } from './storage-benches.js'

/** p-queue at `concurrency` on n no-op tasks, added in rounds of 1,000 as Wharf's producer does. */
export async function pQueueLifecycle(n: number, concurrency: number): Promise<void> {
  const queue = new PQueue({ concurrency })
  const noop = (): undefined => undefined
  for (let done = 0; done < n; done += 1_000) {
    for (let i = 0; i < 1_000; i++) void queue.add(noop)
    // Wharf's producer awaits each round's acknowledgements; p-queue acknowledges synchronously.
    await Promise.resolve()
  }
  await queue.onIdle()
}

/** Raw classic-level: n awaited single puts of a ~300-byte value, one after another (puts/s). */
export async function rawSingleWrites(n: number): Promise<number> {
  const dir = tempDir('raw-single')
  const db = new ClassicLevel<string, string>(dir.path)
  await db.open()
  const value = 'x'.repeat(300)
  const started = performance.now()
  for (let i = 0; i < n; i++) await db.put(String(i).padStart(16, '0'), value)
  const seconds = (performance.now() - started) / 1000
  await db.close()
  dir.remove()
  return n / seconds
}

/** Iterate the log records of the store at `path` without decoding them (ms). */
export async function rawLogIteration(path: string): Promise<{ ms: number; records: number }> {
  const db = new ClassicLevel<string, Uint8Array>(path, { valueEncoding: 'view' })
  await db.open()
  const started = performance.now()
  let records = 0
  let bytes = 0
  for await (const [, value] of db.iterator({ gte: FIRST_KEY, lte: LAST_KEY })) {
    records++
    bytes += value.length
  }
  const ms = performance.now() - started
  await db.close()
  if (bytes === 0) throw new Error('raw iteration read no log record')
  return { ms, records }
}

/**
 * Enqueue → handler start latency on LevelDB ('process'), at `perSecond` awaited enqueues a
 * second (one every 1000/perSecond ms, each carrying its enqueue time): sorted latencies in ms.
 * Like the other targets' sides, it warms up first: `count / 10` jobs at the same pace whose
 * latencies are not counted. The first jobs run colder code (in a fresh process the first
 * thirty took 0.6–6 ms, against 0.3–0.5 after), and at 400 jobs (BENCH_QUICK) the p99 is the
 * fourth slowest.
 *
 * `floor`: sorted latencies of raw awaited classic-level puts of 600 B (the size of a job's
 * enqueue-and-start record), one half-way between each two enqueues, on a store of their own:
 * the one LevelDB write a start waits for, under the same machine noise. On a shared machine
 * its p99 alone was 1.4–17 ms at times (and 0.3–0.45 ms when nothing else ran).
 */
export async function startLatencies(count: number, perSecond: number): Promise<{ latencies: number[]; floor: number[] }> {
  const dir = tempDir('latency')
  const wharf = await Wharf.open({ path: dir.path, channels: 'root:16', snapshotEvery: 0 })
  const raw = new ClassicLevel<string, Uint8Array>(join(dir.path, '..', 'raw'), { valueEncoding: 'view' })
  await raw.open()
  const latencies: number[] = []
  const floor: number[] = []
  const model = wharf.model('bench', {
    stamp(at: number) {
      latencies.push(performance.now() - at)
    },
  })
  const records = model.browse([1])
  await wharf.start()
  const warmup = Math.ceil(count / 10)
  const gapMs = 1000 / perSecond
  const value = new Uint8Array(600).fill(120)
  const until = (due: number): Promise<unknown> | null => {
    const wait = due - performance.now()
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : null
  }
  const first = performance.now()
  for (let i = 0; i < warmup + count; i++) {
    const due = first + i * gapMs
    await until(due)
    await records.withDelay().stamp(performance.now())
    await until(due + gapMs / 2)
    const at = performance.now()
    await raw.put(String(i).padStart(16, '0'), value)
    if (i >= warmup) floor.push(performance.now() - at)
  }
  await wharf.idle()
  await wharf.close()
  await raw.close()
  dir.remove()
  if (latencies.length !== warmup + count) throw new Error(`latency bench ran ${latencies.length} of ${warmup + count} jobs`)
  const sorted = (ms: number[]) => ms.sort((a, b) => a - b)
  return { latencies: sorted(latencies.slice(warmup)), floor: sorted(floor) }
}

/**
 * Bytes allocated per job by the in-memory lifecycle at root:16 (V8's sampling heap profiler,
 * counting objects that garbage collection already freed): the whole run over n jobs.
 */
export async function allocatedPerJob(n: number): Promise<number> {
  await benchLifecycle(Math.max(1_000, n / 5), 16) // warm up: compiled code allocates less
  const session = new Session()
  session.connect()
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
    await benchLifecycle(n, 16)
    const { profile } = await session.post('HeapProfiler.stopSampling')
    return sampledBytes(profile.head) / n
  } finally {
    session.disconnect()
  }
}

interface ProfileNode {
  selfSize: number
  children: ProfileNode[]
}

function sampledBytes(node: ProfileNode): number {
  let bytes = node.selfSize
  for (const child of node.children) bytes += sampledBytes(child)
  return bytes
}
