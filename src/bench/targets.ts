// The performance targets, each a ratio of two measurements taken in the same run, printed with
// both parts (`BENCH_ONLY=target npm run bench`). Each side runs once to warm up, then the two
// sides alternate for `rounds` rounds and each side's median counts: on a noisy machine the two
// halves of a ratio see the same noise, which a comparison with an older run would not.

import { benchLifecycle } from './engine-benches.js'
import { benchDurableDelayMany, benchDurableLifecycle, benchRawLevel, openAndClose, writeHistory } from './storage-benches.js'
import { allocatedPerJob, pQueueLifecycle, rawLogIteration, rawSingleWrites, startLatencies } from './target-parts.js'

export interface TargetRow {
  target: string
  wharf: string
  reference: string
  ratio: number
  /** What the ratio must reach (>=), or for an upper bound (<=) `atMost`. */
  bound: number
  atMost: boolean
}

type Seconds = () => Promise<number>

const timed = (fn: () => Promise<unknown>): Seconds => async () => {
  const started = performance.now()
  await fn()
  return (performance.now() - started) / 1000
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1]!
}

/** Median seconds of each side over alternating rounds, after one warm-up run of each. */
async function alternate(a: Seconds, b: Seconds, rounds: number): Promise<[number, number]> {
  await a()
  await b()
  const as: number[] = []
  const bs: number[] = []
  for (let r = 0; r < rounds; r++) {
    as.push(await a())
    bs.push(await b())
  }
  return [median(as), median(bs)]
}

const rate = (n: number, seconds: number): string => `${Math.round(n / seconds).toLocaleString('en-US')}/s`

export async function measureTargets(quick: boolean, print: (row: TargetRow) => void): Promise<void> {
  const rounds = quick ? 1 : 3
  const n = quick ? 20_000 : 100_000
  {
    const [wharf, pq] = await alternate(timed(() => benchLifecycle(n, 16)), timed(() => pQueueLifecycle(n, 16)), rounds)
    print({ target: `1. in memory, ${n.toLocaleString('en-US')} no-op jobs, root:16 ÷ p-queue (concurrency 16)`, wharf: rate(n, wharf), reference: rate(n, pq), ratio: pq / wharf, bound: 1, atMost: false })
  }
  {
    const writes = quick ? 2_000 : 10_000
    const [wharf, single] = await alternate(timed(() => benchDurableLifecycle(n, 16, 'process')), async () => writes / (await rawSingleWrites(writes)), rounds)
    const bound = 16 * (writes / single)
    print({ target: '2. durable strict, root:16 ÷ 16 × W (W: raw awaited single writes)', wharf: rate(n, wharf), reference: `16 × ${rate(writes, single)}`, ratio: n / wharf / bound, bound: 0.5, atMost: false })
  }
  {
    const [durable, memory] = await alternate(timed(() => benchDurableLifecycle(n, 256, 'process')), timed(() => benchLifecycle(n, 256)), rounds)
    print({ target: '3. durable wide, root:256 ÷ in memory, root:256', wharf: rate(n, durable), reference: rate(n, memory), ratio: memory / durable, bound: 0.5, atMost: false })
  }
  {
    const [wharf, raw] = await alternate(timed(() => benchDurableDelayMany(n, 1_000, 'process')), timed(() => benchRawLevel(n / 1_000, 1_000, false, 300)), rounds)
    print({ target: '4. bulk: durable delayMany of 1,000 ÷ raw batches of 1,000 puts of 300 B', wharf: rate(n, wharf), reference: rate(n, raw), ratio: raw / wharf, bound: 1, atMost: false })
  }
  await replayTarget(quick, rounds, print)
  {
    const { latencies, floor } = await startLatencies(quick ? 400 : 2_000, 200)
    const p99 = (ms: number[]): number => ms[Math.floor(ms.length * 0.99)]!
    const wharf = `p50 ${latencies[latencies.length >> 1]!.toFixed(2)} ms, p99 ${p99(latencies).toFixed(2)} ms`
    // The floor says how much of a miss is the machine's: one raw LevelDB write, same run.
    const reference = `1 ms (raw put: p50 ${floor[floor.length >> 1]!.toFixed(2)}, p99 ${p99(floor).toFixed(2)} ms)`
    print({ target: '6. enqueue → start at 200 jobs/s, durable: p99 (ms)', wharf, reference, ratio: p99(latencies), bound: 1, atMost: true })
  }
  {
    const bytes = await allocatedPerJob(quick ? 20_000 : 50_000)
    print({ target: '7. allocated per job lifecycle, in memory (KB)', wharf: `${(bytes / 1024).toFixed(2)} KB`, reference: '1 KB', ratio: bytes / 1024, bound: 1, atMost: true })
  }
}

/** 5: open a log without a snapshot ÷ iterating its records raw; and the events/s it reaches. */
async function replayTarget(quick: boolean, rounds: number, print: (row: TargetRow) => void): Promise<void> {
  const history = await writeHistory(quick ? 200_000 : 1_000_000)
  try {
    let records = 0
    const [open, raw] = await alternate(timed(() => openAndClose(history.path, { events: history.events })), async () => {
      const read = await rawLogIteration(history.path)
      records = read.records
      return read.ms / 1000
    }, rounds)
    const events = history.events.toLocaleString('en-US')
    print({ target: `5. replay ${events} events (${records.toLocaleString('en-US')} records) ÷ raw iteration`, wharf: `${(open * 1000).toFixed(0)} ms`, reference: `${(raw * 1000).toFixed(0)} ms`, ratio: open / raw, bound: 2, atMost: true })
    print({ target: '5. replay rate (events/s ÷ 1,000,000)', wharf: rate(history.events, open), reference: '1,000,000/s', ratio: history.events / open / 1e6, bound: 1, atMost: false })
  } finally {
    history.remove()
  }
}
