// `npm run bench`: scheduler throughput and memory, measured with mitata's sampler.
// Each figure is printed as a rate (jobs/s or ops/s) computed from mitata's mean time per
// iteration, with its p75/p99 spread, plus the machine it ran on.

import { cpus } from 'node:os'
import { measure } from 'mitata'
import { benchEnqueue, benchLifecycle, benchChains, benchDelayMany } from './engine-benches.js'
import { benchPick, measurePendingMemory } from './core-benches.js'
import { benchDurableDelayMany, benchDurableLifecycle, benchRawLevel, openAndClose, tempDir, writeHistory, writeSnapshotOf } from './storage-benches.js'
import { lifecycleOnHistory, openedCost, openForPages, scrubCost, writeFinishedStore } from './history-benches.js'
import { enqueueLatencyUnderCpuLoad } from './thread-benches.js'
import { Wharf, type OpenOptions } from '../index.js'
import { benchPg, benchPgLifecycle, benchPostgres, prepareBench } from './pg-benches.js'
import { startPgServer } from './pg-server.js'
import { measureFailover, type FailoverTrial } from './failover-bench.js'
import { measureCluster, type ClusterScenario, type FirstMember } from './cluster-bench.js'
import { measureTargets, type TargetRow } from './targets.js'

interface Row {
  name: string
  unit: string
  perIteration: number
  meanNs: number
  p50Ns: number
  p75Ns: number
  p99Ns: number
  samples: number
}

const rows: Row[] = []
const quick = process.env.BENCH_QUICK === '1'
/** BENCH_ONLY=<text>: run only the benchmarks whose name contains it (e.g. 'open', 'durable'). */
const only = process.env.BENCH_ONLY
const wanted = (name: string): boolean => only === undefined || name.includes(only)

async function sample(name: string, unit: string, perIteration: number, fn: () => unknown): Promise<void> {
  if (!wanted(name)) return
  const stats = await measure(fn, {
    min_samples: quick ? 3 : 10,
    min_cpu_time: (quick ? 200 : 1000) * 1e6,
  })
  rows.push({ name, unit, perIteration, meanNs: stats.avg, p50Ns: stats.p50, p75Ns: stats.p75, p99Ns: stats.p99, samples: stats.samples.length })
  printRow(rows[rows.length - 1]!)
}

function rate(row: Row, ns: number): string {
  return Math.round((row.perIteration * 1e9) / ns).toLocaleString('en-US')
}

function printRow(row: Row): void {
  if (row.unit === 'ms/open') {
    const ms = (ns: number): string => (ns / 1e6).toFixed(0)
    console.log(`${row.name.padEnd(58)} ${ms(row.meanNs).padStart(12)} ms/open   (p75 ${ms(row.p75Ns)}, p99 ${ms(row.p99Ns)}, ${row.samples} samples)`)
    return
  }
  if (row.unit === 'ms/page') {
    const ms = (ns: number): string => (ns / 1e6).toFixed(2)
    console.log(`${row.name.padEnd(58)} ${ms(row.p50Ns).padStart(12)} ms/page median   (mean ${ms(row.meanNs)}, p99 ${ms(row.p99Ns)}, ${row.samples} samples)`)
    return
  }
  console.log(
    `${row.name.padEnd(58)} ${rate(row, row.meanNs).padStart(12)} ${row.unit}` +
      `   (p75 ${rate(row, row.p75Ns)}, p99 ${rate(row, row.p99Ns)}, ${row.samples} samples)`,
  )
}

async function main(): Promise<void> {
  console.log(`wharf bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`)
  console.log('rate = work per iteration / mean iteration time (mitata measure)\n')

  await sample('enqueue: 10,000 withDelay calls, awaited together', 'jobs/s', 10_000, () => benchEnqueue(10_000))
  await sample('delayMany: 100,000 jobs in calls of 1,000 (in memory)', 'jobs/s', 100_000, () => benchDelayMany(100_000, 1_000))
  await sample('lifecycle: 100,000 no-op jobs, root:16 (enqueue→done)', 'jobs/s', 100_000, () => benchLifecycle(100_000, 16))
  // The same with OpenTelemetry's SDK tracer and meter (spans to no exporter): what telemetry costs.
  const telemetryName = 'lifecycle: same, telemetry on (SDK tracer + meter)'
  if (wanted(telemetryName)) {
    const telemetry = await sdkTelemetry()
    await sample(telemetryName, 'jobs/s', 100_000, () => benchLifecycle(100_000, 16, { telemetry }))
  }
  await sample('graphs: 1,000 chains of 10 (enqueue→done), root:16', 'jobs/s', 10_000, () => benchChains(1_000, 10, 16))

  for (const pending of [1_000, 1_000_000]) {
    const op = benchPick(pending)
    await sample(`pick: start+finish one job with ${pending.toLocaleString('en-US')} pending`, 'picks/s', 1_000, () => op(1_000))
  }

  console.log('\ndurable (LevelDB in a temporary directory)')
  await sample('raw classic-level: batches of 100 puts of 100 B, awaited', 'puts/s', 100_000, () => benchRawLevel(1_000, 100, false))
  await sample('raw classic-level: same, sync: true', 'puts/s', 20_000, () => benchRawLevel(200, 100, true))
  // The bulk target: delayMany durable at least as fast as raw LevelDB writing ~300 B per job in
  // batches of 1,000 (roughly the size of one job.created event). BENCH_ONLY=delayMany runs the three.
  await sample('raw classic-level: 100 batches of 1,000 puts of 300 B (delayMany baseline)', 'puts/s', 100_000, () => benchRawLevel(100, 1_000, false, 300))
  await sample('durable delayMany: 100,000 jobs in calls of 1,000, process', 'jobs/s', 100_000, () => benchDurableDelayMany(100_000, 1_000, 'process'))
  await sample('durable lifecycle: 100,000 no-op jobs, root:16, process', 'jobs/s', 100_000, () => benchDurableLifecycle(100_000, 16, 'process'))
  await sample('durable lifecycle: 100,000 no-op jobs, root:16, fsync', 'jobs/s', 100_000, () => benchDurableLifecycle(100_000, 16, 'fsync'))
  // Each tick waits for its write before its handlers run, so a full channel turns over once per
  // write: durable throughput scales with capacity. The same run at root:64 shows it.
  await sample('durable lifecycle: 100,000 no-op jobs, root:64, process', 'jobs/s', 100_000, () => benchDurableLifecycle(100_000, 64, 'process'))
  const events = quick ? 200_000 : 1_000_000
  const replayName = `replay: open a log of ${events.toLocaleString('en-US')} events (no snapshot)`
  if (wanted(replayName)) {
    const history = await writeHistory(events)
    await sample(replayName, 'events/s', history.events, () => openAndClose(history.path, { events: history.events }))
    history.remove()
  }
  const openName = 'open: snapshot of 100,000 live jobs'
  if (wanted(openName)) {
    const snapshot = await writeSnapshotOf(100_000)
    await sample(openName, 'ms/open', 1, () => openAndClose(snapshot.path, { jobs: 100_000 }))
    snapshot.remove()
  }

  await historyBenches()
  await targetBenches()
  await threadBenches()
  await driverBenches()
  await failoverBenches()
  await clusterBenches()

  const memoryName = 'memory: heap per pending job, 1,000,000 pending (small args)'
  if (!wanted(memoryName)) return
  const memory = await measurePendingMemory(1_000_000)
  console.log(
    `${memoryName.padEnd(58)} ${String(Math.round(memory.bytesPerJob)).padStart(12)} bytes/job` +
      (memory.gcExposed ? '' : '   (run with --expose-gc for a precise figure)'),
  )
}

/** A tracer and a meter of the OpenTelemetry SDK (dev dependencies), loaded only for that bench. */
async function sdkTelemetry(): Promise<NonNullable<OpenOptions['telemetry']>> {
  const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base')
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics')
  return { tracer: new BasicTracerProvider().getTracer('bench'), meter: new MeterProvider().getMeter('bench') }
}

/** The performance targets: each ratio with both of its parts, and whether it is met. */
async function targetBenches(): Promise<void> {
  if (!wanted('target')) return
  console.log('\ntargets (each side alternating in this run; ratio = Wharf ÷ reference unless a bound in ms or KB)')
  await measureTargets(quick, (row: TargetRow) => {
    const met = row.atMost ? row.ratio <= row.bound : row.ratio >= row.bound
    const bound = `${row.atMost ? '≤' : '≥'} ${row.bound}`
    console.log(`${row.target}\n    wharf ${row.wharf}; reference ${row.reference}; ratio ${row.ratio.toFixed(2)} (target ${bound}) ${met ? 'met' : 'MISSED'}`)
  })
}

/** Enqueue latency while four CPU-bound jobs run: in worker threads, then in-process. */
async function threadBenches(): Promise<void> {
  if (!wanted('threads')) return
  console.log(`\nthreads (enqueue latency while 4 CPU-bound jobs of 50 ms run at a time)`)
  for (const threaded of [true, false]) {
    const name = `threads: awaited enqueue, CPU-bound jobs ${threaded ? 'in 4 worker threads' : 'in-process'}`
    const stats = await enqueueLatencyUnderCpuLoad(threaded, quick)
    const ms = (ns: number): string => (ns / 1e6).toFixed(2)
    console.log(`${name.padEnd(58)} ${ms(stats.p50Ns).padStart(12)} ms p50   (p99 ${ms(stats.p99Ns)}, mean ${ms(stats.meanNs)}, ${stats.samples} samples)`)
  }
}

/**
 * On a throwaway PostgreSQL server on loopback: the drivers on PgLog's operations
 * (BENCH_ONLY=driver), and a PostgreSQL-backed Wharf's lifecycle (BENCH_ONLY=PgLog).
 */
async function driverBenches(): Promise<void> {
  if (!wanted('driver') && !wanted('PgLog')) return
  console.log('\nPostgreSQL drivers (a throwaway server on 127.0.0.1, fsync on)')
  const server = await startPgServer()
  try {
    // The machine may be shared: each driver runs twice, interleaved, so load drifts hit both.
    for (const commit of ['on', 'off', 'on', 'off'] as const) {
      for (const make of [benchPg, benchPostgres]) {
        await prepareBench(server.url)
        const d = make(server.url, commit)
        const name = `driver ${d.name}, synchronous_commit ${commit}:`
        await sample(`${name} txns of 1 INSERT of 2 KB bytea`, 'txns/s', 100, () => d.insertOne(100))
        await sample(`${name} txns of a batch + 100 history rows`, 'txns/s', 20, () => d.insertMany(20, 100))
        if (commit === 'on') await sample(`${name} read 10,000 rows of 300 B in order`, 'rows/s', 10_000, () => d.readAll())
        await sample(`${name} txns of 1 INSERT of the batch as jsonb`, 'txns/s', 100, () => d.insertJson(100))
        await d.close()
      }
    }
    await sample('PgLog lifecycle: 10,000 no-op jobs, root:16', 'jobs/s', 10_000, () => benchPgLifecycle(server.url, 10_000, 16))
  } finally {
    await server.stop()
  }
}

/**
 * A three-process cluster on a throwaway PostgreSQL server (fsync on): SIGKILL of the scheduler →
 * the next job start on another process (failover-bench.ts), over many trials.
 */
async function failoverBenches(): Promise<void> {
  const name = 'failover: SIGKILL of the scheduler → next job start elsewhere'
  if (!wanted(name)) return
  const trials = quick ? 8 : 20
  console.log(`\ncluster failover (3 member processes, ${trials} trials; a throwaway server on 127.0.0.1, fsync on)`)
  const server = await startPgServer()
  try {
    const results = await measureFailover(server.url, trials, (t, i) =>
      console.log(`  ${new Date().toISOString().slice(11, 19)} trial ${String(i + 1).padStart(2)}: exit seen ${t.goneMs.toFixed(0)} ms, lock freed ${t.freedMs.toFixed(0)} ms, term bumped ${t.lockMs.toFixed(0)} ms, promoted ${t.promotedMs.toFixed(0)} ms, first start ${t.startMs.toFixed(0)} ms`),
    )
    const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!
    const part = (key: keyof FailoverTrial): string => {
      const xs = results.map((r) => r[key])
      return `p50 ${quantile(xs, 0.5).toFixed(0)}, p99 ${quantile(xs, 0.99).toFixed(0)}, max ${Math.max(...xs).toFixed(0)} ms`
    }
    console.log(`${name.padEnd(58)} ${part('startMs')}   (${trials} trials)`)
    console.log(`${'  of which: kill → lock freed (PostgreSQL ended its session)'.padEnd(58)} ${part('freedMs')}`)
    console.log(`${'            kill → term bumped (a follower took the lock)'.padEnd(58)} ${part('lockMs')}`)
    console.log(`${'            kill → new scheduler promoted (caught up)'.padEnd(58)} ${part('promotedMs')}`)
  } finally {
    await server.stop()
  }
}

/**
 * A four-process cluster on a throwaway PostgreSQL server (fsync on): three workers (workers
 * 6/5/5, root:16, no-op handlers) and a producer (cluster-bench.ts). BENCH_CLUSTER_ROUNDS=<n>
 * repeats each run (the runs of a round alternate the scenarios and which member opens first).
 */
async function clusterBenches(): Promise<void> {
  const runs: [ClusterScenario, FirstMember, number][] = []
  for (const first of ['worker', 'producer'] as const) {
    runs.push(['drain', first, quick ? 2_000 : 4_000], ['produce', first, 1_000])
  }
  const named = runs.map(([scenario, first, jobs]) => {
    const what = scenario === 'drain' ? `drain ${jobs.toLocaleString('en-US')} stored` : `produce+consume ${jobs.toLocaleString('en-US')}, each awaited`
    return { scenario, first, jobs, name: `cluster: ${what}, ${first === 'worker' ? 'a worker' : 'the producer'} schedules` }
  }).filter((run) => wanted(run.name))
  if (named.length === 0) return
  console.log('\ncluster (3 workers at 6/5/5 of root:16 + 1 producer, processes; a throwaway server on 127.0.0.1, fsync on)')
  const server = await startPgServer()
  try {
    const rounds = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 1)
    let schemas = 0
    for (let round = 0; round < rounds; round++) {
      for (const { scenario, first, jobs, name } of named) {
        const r = await measureCluster(server.url, `cluster_bench_${++schemas}`, scenario, first, jobs)
        const each = r.members.map((m) => `${m.node} ${m.cpuMsPerJob.toFixed(2)}${m.ran > 0 ? ` (${m.ran} run)` : ''}`).join(', ')
        console.log(`${name.padEnd(58)} ${Math.round(r.jobsPerSec).toLocaleString('en-US').padStart(12)} jobs/s   CPU/job: node ${r.nodeCpuMsPerJob.toFixed(2)} ms, PostgreSQL ${r.pgCpuMsPerJob.toFixed(2)} ms   (${each})`)
      }
    }
  } finally {
    await server.stop()
  }
}

/** A store of finished jobs: open cost against an empty store's, and pages deep into it. */
async function historyBenches(): Promise<void> {
  const finished = quick ? 100_000 : 1_000_000
  const label = `${finished.toLocaleString('en-US')} finished jobs`
  if (!wanted('history')) return
  console.log(`\nhistory (LevelDB, ${label}, snapshot taken)`)
  const empty = tempDir('empty')
  await (await Wharf.open({ path: empty.path })).close()
  const store = await writeFinishedStore(finished)
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  for (const [name, path] of [['empty store', empty.path], [label, store.path]] as const) {
    const costs = []
    for (let i = 0; i < 5; i++) costs.push(await openedCost(path))
    const heapMb = median(costs.map((c) => c.heapBytes)) / 1e6
    const openMs = median(costs.map((c) => c.openMs))
    console.log(`${`history: open ${name}`.padEnd(58)} ${openMs.toFixed(1).padStart(12)} ms/open   (heap held ${heapMb.toFixed(1)} MB, median of 5)`)
  }
  await scrubBenches(store.path, label)
  const scrubbing = await openForPages(store, false)
  await sample(`history: first page of 50, during the scrub after open`, 'ms/page', 1, () => scrubbing.page(0))
  await scrubbing.close()
  const pages = await openForPages(store, true)
  await sample(`history: first page of 50, done on a channel, desc`, 'ms/page', 1, () => pages.page(0))
  await sample(`history: 1,000th page of 50 (cursor 49,950 deep)`, 'ms/page', 1, () => pages.page(49_950))
  await pages.close()
  store.remove()
  empty.remove()
}

/**
 * The history scrub after open on the same store: how long it takes, and what it costs the
 * durable lifecycle that runs meanwhile (rounds alternating scrub on and off; medians).
 */
async function scrubBenches(path: string, label: string): Promise<void> {
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const scrubs = []
  for (let i = 0; i < 3; i++) scrubs.push(await scrubCost(path))
  const scrubMs = median(scrubs.map((s) => s.scrubMs))
  const rate = Math.round((scrubs[0]!.views * 1000) / scrubMs).toLocaleString('en-US')
  console.log(`${`history: scrub of ${label} (after open)`.padEnd(58)} ${scrubMs.toFixed(0).padStart(12)} ms   (${rate} views/s, median of 3)`)
  const jobs = quick ? 5_000 : 20_000
  const on: number[] = []
  const off: number[] = []
  let overlapped = true
  for (let round = 0; round < 5; round++) {
    const withScrub = await lifecycleOnHistory(path, jobs, true)
    overlapped &&= withScrub.overlapped
    on.push(withScrub.jobsPerSec)
    off.push((await lifecycleOnHistory(path, jobs, false)).jobsPerSec)
  }
  const name = `durable lifecycle, ${jobs.toLocaleString('en-US')} jobs, root:16, on that store`
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US')
  console.log(
    `${name.padEnd(58)} ${fmt(median(on)).padStart(12)} jobs/s during the scrub vs ${fmt(median(off))} without (median of 5 each; ` +
      `${overlapped ? 'every run ended before the scrub' : 'the scrub ended before some runs did'})`,
  )
}

await main()
