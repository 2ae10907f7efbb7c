// The rules oracle of the property tests: queue_job's scheduling rules written again, from the
// rules rather than from the engine's code, so that core-model and the engine harness check the
// engine against something independent of it. Shared by both.

import type { ChannelConfig } from '../../src/engine/core/channel-config.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'

/** queue_job's (priority, date_created, seq); uuid last: jobs restored together share a seq. */
export const readyFirst = (a: JobRecord, b: JobRecord): boolean =>
  a.priority !== b.priority ? a.priority < b.priority : a.createdAt !== b.createdAt ? a.createdAt < b.createdAt : a.seq !== b.seq ? a.seq < b.seq : a.uuid < b.uuid
export const etaFirst = (a: JobRecord, b: JobRecord): boolean => (a.eta! !== b.eta! ? a.eta! < b.eta! : readyFirst(a, b))
export const minBy = (jobs: JobRecord[], less: (a: JobRecord, b: JobRecord) => boolean): JobRecord | undefined =>
  jobs.reduce<JobRecord | undefined>((m, j) => (m === undefined || less(j, m) ? j : m), undefined)
/** The channel and its ancestors, nearest first, ending at root. */
export const pathOf = (channel: string): string[] => channel.split('.').map((_, i, parts) => parts.slice(0, parts.length - i).join('.'))
export const isRunning = (j: { state: string }): boolean => j.state === 'enqueued' || j.state === 'started'
export const isBlocking = (j: { state: string }): boolean => j.state === 'wait_dependencies' || j.state === 'pending' || j.state === 'enqueued'
export const isTerminal = (j: { state: string }): boolean => j.state === 'done' || j.state === 'cancelled' || j.state === 'failed'

export class Oracle {
  readonly caps = new Map<string, number | null>([['root', 1]])
  readonly sequential = new Set<string>()
  readonly throttleMs = new Map<string, number>()
  readonly paused = new Set<string>()
  /** Last job.enqueued (slot taken) and job.started on each channel of the job's path. */
  readonly lastEnqueueMs = new Map<string, number>()
  readonly lastStartMs = new Map<string, number>()
  readonly dispatchDisabled: boolean
  /** Runs whose handler may be running: started, and not yet ended by its own outcome. */
  readonly liveRuns = new Map<string, { run: number; channel: string }>()
  /** Superseded runs (cancel, requeue or setDone while started) whose handler has not settled:
   * capacity counts running handlers, so each holds a slot on every level of its path. */
  readonly zombies: { uuid: string; run: number; channel: string }[] = []

  constructor(config: readonly ChannelConfig[]) {
    for (const c of config) {
      this.caps.set(c.name, c.capacity === 0 ? null : c.capacity)
      if (c.sequential) this.sequential.add(c.name)
      if (c.throttleSeconds > 0) this.throttleMs.set(c.name, c.throttleSeconds * 1000)
      if (c.paused) this.paused.add(c.name)
    }
    this.dispatchDisabled = config.some((c) => c.name === 'root' && c.capacity === 0)
  }

  get maxThrottleMs(): number {
    return Math.max(0, ...this.throttleMs.values())
  }

  /** Why no job of each channel may start at nowMs (null: one may). */
  reasons(state: State, nowMs: number): Map<string, string | null> {
    const jobs = [...state.jobs.values()]
    const running = new Map<string, number>()
    for (const j of jobs) if (isRunning(j)) for (const n of pathOf(j.channel.name)) running.set(n, (running.get(n) ?? 0) + 1)
    for (const z of this.zombies) for (const n of pathOf(z.channel)) running.set(n, (running.get(n) ?? 0) + 1)
    const failed = new Set(jobs.filter((j) => j.state === 'failed').map((j) => j.channel.name))
    const out = new Map<string, string | null>()
    for (const channel of state.channels.keys()) {
      let why: string | null = this.dispatchDisabled ? 'root:0' : null
      for (const n of pathOf(channel)) {
        if (why !== null) break
        const cap = this.caps.get(n) ?? null
        if (this.paused.has(n)) why = `${n} paused`
        else if (cap !== null && (running.get(n) ?? 0) >= cap) why = `${n} full`
        else if (this.sequential.has(n) && failed.has(n)) why = `${n} has a failed job`
        // Only a throttled channel waits: a clock set back (a restart) puts every last start ahead.
        else if (this.throttleMs.has(n) && nowMs < (this.lastEnqueueMs.get(n) ?? -Infinity) + this.throttleMs.get(n)!) why = `${n} throttled`
      }
      if (why === null && this.sequential.has(channel)) {
        // queue_job's rule: only the head of the eta queue can hold back the head of the ready queue.
        const own = jobs.filter((j) => j.channel.name === channel && j.state === 'pending')
        const etaHead = minBy(own.filter((j) => j.waitingEta), etaFirst)
        const readyHead = minBy(own.filter((j) => !j.waitingEta), readyFirst)
        if (etaHead && readyHead && readyFirst(etaHead, readyHead)) why = `${channel} waits for ${etaHead.uuid}`
      }
      out.set(channel, why)
    }
    return out
  }

  /** Follows handlers from the events alone: which run is live, which superseded and unsettled. */
  observeRuns(event: WharfEvent, state: State): void {
    switch (event.type) {
      case 'job.started': {
        const job = state.jobs.get(event.uuid)!
        this.liveRuns.set(event.uuid, { run: job.runs, channel: job.channel.name })
        break
      }
      case 'job.failed':
      case 'job.postponed':
      case 'job.recovered':
        this.liveRuns.delete(event.uuid)
        break
      case 'job.done':
      case 'job.cancelled':
      case 'job.requeued': {
        const live = this.liveRuns.get(event.uuid)
        if (live === undefined) break
        this.liveRuns.delete(event.uuid)
        const manual = event.type !== 'job.done' || event.manual
        if (manual) this.zombies.push({ uuid: event.uuid, ...live })
        break
      }
      case 'job.run_released': {
        const i = this.zombies.findIndex((z) => z.uuid === event.uuid && z.run === event.run)
        if (i < 0) throw new Error(`job.run_released names run ${event.run} of ${event.uuid}, which is not superseded`)
        this.zombies.splice(i, 1)
        break
      }
    }
  }

  /** The superseded run of this job with this number, if its handler has not settled. */
  zombie(uuid: string, run: number): { uuid: string; run: number; channel: string } | undefined {
    return this.zombies.find((z) => z.uuid === uuid && z.run === run)
  }

  observe(event: WharfEvent, state: State): void {
    this.observeRuns(event, state)
    if (event.type === 'channel.paused') this.paused.add(event.channel)
    if (event.type === 'channel.resumed') this.paused.delete(event.channel)
    if (event.type === 'job.enqueued' || event.type === 'job.started') {
      const last = event.type === 'job.enqueued' ? this.lastEnqueueMs : this.lastStartMs
      for (const n of pathOf(state.jobs.get(event.uuid)!.channel.name)) last.set(n, event.at)
    }
  }
}
