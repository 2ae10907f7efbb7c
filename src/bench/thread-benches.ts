// Whether CPU-bound handlers block the scheduler: the latency of an awaited enqueue (one
// withDelay call, committed) while four CPU-bound jobs run at a time — in four worker threads of
// a threaded model, then as the same function in-process. mitata measures each awaited enqueue
// as one sample (batch_threshold 0: never averaged over a batch), so p50/p99 are per call.

import { measure } from 'mitata'
import { Wharf } from '../index.js'
import { spinMs } from './cpu-jobs.js'

/** How long each CPU-bound job spins: long enough to hold the event loop that long in-process. */
const SPIN_MS = 50
/** Enough CPU-bound jobs to keep four busy through the whole measurement. */
const CPU_JOBS = 2_000

export interface LatencyStats {
  p50Ns: number
  p99Ns: number
  meanNs: number
  samples: number
}

/** Enqueue latency while CPU-bound jobs keep `root.cpu:4` full, `threads` or in-process. */
export async function enqueueLatencyUnderCpuLoad(threaded: boolean, quick: boolean): Promise<LatencyStats> {
  const wharf = await Wharf.open({ channels: 'root:8,root.cpu:4' })
  const cpu = threaded
    ? await wharf.model<typeof import('./cpu-jobs.js')>('cpu', { module: new URL('./cpu-jobs.ts', import.meta.url), threads: 4 })
    : wharf.model('cpu', { spinMs })
  wharf.configure('cpu.spinMs', { channel: 'root.cpu' })
  const probe = wharf.model('probe', {
    noop() {
      return undefined
    },
  })
  const spinning = []
  for (let i = 0; i < CPU_JOBS; i++) spinning.push(cpu.withDelay().spinMs(SPIN_MS))
  await Promise.all(spinning)
  // Not start()'s promise: it resolves once nothing more can start — in-process, only after
  // every CPU-bound job ran. The measure begins as soon as the first one starts.
  const started = new Promise<void>((resolve) => {
    const off = wharf.on('transition', (event) => {
      if (event.type !== 'job.started') return
      off()
      resolve()
    })
  })
  void wharf.start()
  await started
  const records = probe.browse([1])
  const stats = await measure(
    async () => {
      await records.withDelay().noop()
    },
    { min_samples: quick ? 30 : 200, max_samples: quick ? 100 : 1_000, min_cpu_time: (quick ? 200 : 1000) * 1e6, batch_threshold: 0, warmup_samples: 0 },
  )
  // The CPU-bound jobs left are abandoned: the bench measured what it came for.
  await wharf.close({ timeoutMs: 0 })
  return { p50Ns: stats.p50, p99Ns: stats.p99, meanNs: stats.avg, samples: stats.samples.length }
}
