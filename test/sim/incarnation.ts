// One process of the simulated application: its own FakeClock, its own handle on the shared
// store, its own Wharf with the run's models. When it crashes it is simply dropped: the handle
// is fenced (nothing more reaches the store) and its clock is never advanced again, so none of
// its timers — the engine's wake-up, handlers' sleeps, timeouts — can ever fire.

import { Wharf } from '../../src/engine/api/wharf.js'
import { FakeClock } from '../../src/engine/runtime/clock.js'
import type { IdFactory } from '../../src/engine/runtime/ids.js'
import type { Rng } from './prng.js'
import { StoreHandle, type FaultCounters, type FaultRates, type SimStore } from './store.js'
import { installModels, type FunctionSetup, type RunHook, type SimRecordsets } from './workload.js'

export interface OpenParams {
  channels: string
  newId: IdFactory
  snapshotEvery: number
  /** Autovacuum age; channels may configure their own (remove_after_days). */
  removeAfterDays: number
  setup: FunctionSetup
  hook: RunHook
}

export class Incarnation {
  readonly clock: FakeClock
  readonly handle: StoreHandle
  private readonly entropy: Rng
  private opened: { wharf: Wharf; models: SimRecordsets } | null = null

  constructor(
    readonly n: number,
    startMs: number,
    store: SimStore,
    rng: Rng,
    rates: () => FaultRates,
    counters: FaultCounters,
    note: (line: string) => void,
  ) {
    this.clock = new FakeClock(startMs)
    this.handle = new StoreHandle(store, `incarnation ${n}`, rng.fork(), rates, counters, note)
    this.entropy = rng.fork()
  }

  get wharf(): Wharf {
    if (this.opened === null) throw new Error(`incarnation ${this.n} is not open`)
    return this.opened.wharf
  }

  get models(): SimRecordsets {
    if (this.opened === null) throw new Error(`incarnation ${this.n} is not open`)
    return this.opened.models
  }

  async open(params: OpenParams): Promise<void> {
    this.handle.opening = true
    const wharf = await Wharf.open({
      log: this.handle,
      clock: this.clock,
      channels: params.channels,
      newId: params.newId,
      random: () => this.entropy.float(),
      snapshotEvery: params.snapshotEvery,
      removeAfterDays: params.removeAfterDays,
    }).finally(() => (this.handle.opening = false))
    this.handle.pipelineDepth = () => wharf.engine.appendsInFlight
    this.opened = { wharf, models: installModels(wharf, params.setup, params.hook) }
  }

  /**
   * wharf.drain(), which must return within `boundMs` of simulated time (a settler on the clock
   * refuses to go further) and `hangMs` of real time (a livelock that never moves the clock).
   * Resolves with the simulated time it took.
   */
  async drainWithin(boundMs: number, hangMs: number): Promise<number> {
    const fromMs = this.clock.now()
    const detach = this.clock.attach(async () => {
      if (this.clock.now() - fromMs > boundMs) throw new Error(`liveness: drain() still had work after ${boundMs / 3_600_000} h of simulated time`)
    })
    let watchdog: ReturnType<typeof setTimeout> | undefined
    try {
      await Promise.race([
        this.wharf.drain(),
        new Promise<never>((_, reject) => {
          watchdog = setTimeout(() => reject(new Error(`liveness: drain() did not return within ${hangMs / 1000} s of real time (livelock?)`)), hangMs)
        }),
      ])
    } finally {
      clearTimeout(watchdog)
      detach()
    }
    return this.clock.now() - fromMs
  }
}
