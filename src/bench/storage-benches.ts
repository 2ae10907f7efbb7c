// Durable benchmarks on a temporary LevelDB directory: lifecycle throughput per durability
// mode, replay speed, open time from a snapshot, and the raw classic-level rate they compare to.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Wharf } from '../index.js'
import { delayManyRounds } from './engine-benches.js'

export function tempDir(label: string): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `wharf-bench-${label}-`))
  return { path: join(dir, 'db'), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

function defineNoop(wharf: Wharf) {
  return wharf.model('bench', {
    noop(_i?: number) {
      return undefined
    },
  })
}

/** Run n no-op jobs enqueue→done on `wharf`, producer in rounds of 1,000 (as the in-memory bench). */
export async function runNoops(wharf: Wharf, n: number): Promise<void> {
  const records = defineNoop(wharf).browse([1])
  await wharf.start()
  for (let done = 0; done < n; done += 1_000) {
    const round: Promise<unknown>[] = new Array(1_000)
    for (let i = 0; i < 1_000; i++) round[i] = records.withDelay().noop(i)
    await Promise.all(round)
  }
  await wharf.idle()
}

/** n no-op jobs enqueue→done on LevelDB. */
export async function benchDurableLifecycle(n: number, capacity: number, durability: 'process' | 'fsync'): Promise<void> {
  const dir = tempDir(durability)
  const wharf = await Wharf.open({ path: dir.path, durability, channels: `root:${capacity}`, snapshotEvery: 0 })
  await runNoops(wharf, n)
  if (wharf.stats().states.done !== n) throw new Error('durable bench lost jobs')
  await wharf.close()
  dir.remove()
}

/** n jobs stored on LevelDB by delayMany calls of `perCall`, not started: the bulk write path. */
export async function benchDurableDelayMany(n: number, perCall: number, durability: 'process' | 'fsync'): Promise<void> {
  const dir = tempDir('delay-many')
  const wharf = await Wharf.open({ path: dir.path, durability, snapshotEvery: 0 })
  await delayManyRounds(wharf, defineNoop(wharf).browse([1]), n, perCall)
  await wharf.close()
  dir.remove()
}

/** Raw classic-level: batches of `perBatch` puts of `valueBytes`-byte values, awaited one after another. */
export async function benchRawLevel(batches: number, perBatch: number, sync: boolean, valueBytes = 100): Promise<void> {
  const dir = tempDir('raw')
  const db = new ClassicLevel<string, string>(dir.path)
  await db.open()
  const value = 'x'.repeat(valueBytes)
  let key = 0
  for (let b = 0; b < batches; b++) {
    const ops: { type: 'put'; key: string; value: string }[] = new Array(perBatch)
    for (let i = 0; i < perBatch; i++) ops[i] = { type: 'put', key: String(key++).padStart(16, '0'), value }
    await db.batch(ops, { sync })
  }
  await db.close()
  dir.remove()
}

/** A LevelDB log holding about `events` events (done jobs), no snapshot: what replay reads. */
export async function writeHistory(events: number): Promise<{ path: string; remove: () => void; events: number }> {
  const dir = tempDir('history')
  const wharf = await Wharf.open({ path: dir.path, channels: 'root:64', snapshotEvery: 0, removeAfterDays: 3650 })
  const records = defineNoop(wharf).browse([1])
  await wharf.start()
  const jobs = Math.ceil(events / 4) // created, enqueued, started, done
  for (let done = 0; done < jobs; done += 1_000) {
    const round: Promise<unknown>[] = []
    for (let i = 0; i < 1_000; i++) round.push(records.withDelay().noop(i))
    await Promise.all(round)
  }
  await wharf.idle()
  await wharf.close()
  return { ...dir, events: jobs * 4 }
}

/** A LevelDB log whose snapshot holds `live` pending jobs (and nothing after it). */
export async function writeSnapshotOf(live: number): Promise<{ path: string; remove: () => void }> {
  const dir = tempDir('snapshot')
  const wharf = await Wharf.open({ path: dir.path, channels: 'root:1', snapshotEvery: 0 })
  const records = defineNoop(wharf).browse([1])
  for (let done = 0; done < live; done += 1_000) {
    const round: Promise<unknown>[] = []
    for (let i = 0; i < 1_000; i++) round.push(records.withDelay({ priority: i % 7 }).noop(done + i))
    await Promise.all(round)
  }
  await wharf.snapshot()
  await wharf.close()
  return dir
}

/** Open (replay + audit + recovery) and close again: the cost of a restart. `expect`: the live
 * jobs it must find in memory, or the events it must replay. */
export async function openAndClose(path: string, expect: { jobs?: number; events?: number }): Promise<number> {
  const wharf = await Wharf.open({ path, channels: 'root:64', removeAfterDays: 3650 })
  const report = wharf.openReport
  if (expect.jobs !== undefined && report.jobs !== expect.jobs) throw new Error(`open found ${report.jobs} jobs, expected ${expect.jobs}`)
  if (expect.events !== undefined && report.replayedEvents !== expect.events) throw new Error(`open replayed ${report.replayedEvents} events, expected ${expect.events}`)
  await wharf.close()
  return report.replayedEvents
}
