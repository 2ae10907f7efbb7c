// The simulated disk and the processes' handles on it. SimStore is the durable truth: a MemoryLog
// plus the full history of every batch it accepted (never compacted: the auditor folds it), and
// what each jobs.vacuumed and jobs.removed in it removed.
// Each incarnation of Wharf gets its own StoreHandle, an EventLog that injects faults:
//  - an append may reject BEFORE anything is written (the engine must roll back that tick), at
//    once or after a few event-loop turns — then while the next tick waits behind it (a failure in
//    the middle of a pipeline: every later tick in flight is lost with it);
//  - while Wharf.open reads the log, a read may fail (before the snapshot, or after a few
//    batches): the open must fail, hold nothing, and a later open must succeed;
//  - an append, snapshot or compaction may take a few event-loop turns, so a crash can land
//    while it is in flight; a write is durable only once its promise resolved;
//  - crash(): the handle is fenced. Whatever was in flight is written or lost (seeded choice:
//    a write may reach the disk without its acknowledgement reaching the process), and from then
//    on nothing the dead process does reaches the store or settles: every call hangs, as it
//    would in a process that no longer exists.

import type { ChannelConfig } from '../../src/engine/core/channel-config.js'
import { initialState } from '../../src/engine/core/channels.js'
import type { WharfEvent } from '../../src/engine/core/events.js'
import { evolve } from '../../src/engine/core/evolve.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import type { JobView } from '../../src/engine/core/view.js'
import { MemoryLog } from '../../src/storage/memory-log.js'
import type { EventLog, Snapshot } from '../../src/storage/event-log.js'
import type { HistoryStore, HistoryWrite } from '../../src/storage/history.js'
import type { Rng } from './prng.js'
import { seeVacuum, type VacuumLedger, type VacuumSeen } from './retention.js'

/** A promise that never settles: what a dead process's calls get. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {})
}

/** Resolves after `turns` event-loop turns (setImmediate: deterministic, no wall clock). */
export function turns(n: number): Promise<void> {
  let p = Promise.resolve()
  for (let i = 0; i < n; i++) p = p.then(() => new Promise<void>((resolve) => setImmediate(resolve)))
  return p
}

/** The error an injected append failure rejects with. */
export class StorageFaultError extends Error {
  readonly code = 'SIM_STORAGE_FAULT'
  constructor(message: string) {
    super(message)
    this.name = 'StorageFaultError'
  }
}

export class SimStore implements VacuumLedger {
  log = new MemoryLog()
  /** Every batch the store holds or held, in order: the full history, compaction aside. */
  readonly history: (readonly WharfEvent[])[] = []
  /** What each of those batches wrote to the history store (finished jobs). */
  private readonly historyWrites: (HistoryWrite | undefined)[] = []
  lastSeq = 0
  /** The fold of every batch written; its outbox of finished jobs is never drained, so it holds
   * every job the log created that no jobs.vacuumed has removed since. */
  private full: State
  /** Every vacuum in the log, in order; and each job it removed. */
  readonly vacuums: VacuumSeen[] = []
  readonly vacuumed = new Map<string, VacuumSeen>()
  /** Every job a jobs.removed (remove()) took, as it was just before. */
  readonly removed = new Map<string, RemovedSeen>()
  readonly restoredAt = new Map<string, number>()
  /** Jobs a retry or a recovery sent back to waiting on parents that were all cancelled, and
   * that were cancelled for it (the job.cancelled right after): a cancel made before reaches them. */
  readonly orphaned = new Set<string>()
  /** Called after each batch is durable (the read audit follows what reads may answer). */
  onWrite: (() => void) | null = null
  /** Sees each event accepted, on the durable fold just before and just after it is applied. */
  watch: EventWatch | null = null

  constructor(private readonly config: readonly ChannelConfig[]) {
    this.full = initialState(config)
  }

  /** Write a batch now (synchronously durable). Refuses a batch that does not follow the log. */
  write(batch: readonly WharfEvent[], history?: HistoryWrite): void {
    if (batch.length === 0) return
    if (batch[0]!.seq !== this.lastSeq + 1) throw new Error(`batch starts at seq ${batch[0]!.seq}, store ends at ${this.lastSeq}`)
    void this.log.append(batch, history)
    this.history.push(batch)
    this.historyWrites.push(history)
    for (let i = 0; i < batch.length; i++) this.apply(batch, i)
    this.lastSeq = batch.at(-1)!.seq
    this.onWrite?.()
  }

  events(): WharfEvent[] {
    return this.history.flat()
  }

  /** Every job the log created and no vacuum removed, as a state whose `jobs` holds them all. */
  everyJob(): State {
    return { ...this.full, jobs: new Map([...this.full.retired, ...this.full.jobs]) }
  }

  /** A job as the durable log has it now: in memory or in history; undefined if unknown or vacuumed. */
  jobNow(uuid: string): JobRecord | undefined {
    return this.full.jobs.get(uuid) ?? this.full.retired.get(uuid)
  }

  /** The durable fold itself (read only): `jobs` live, `retired` in history. */
  get durable(): State {
    return this.full
  }

  private apply(batch: readonly WharfEvent[], i: number): void {
    const event = batch[i]!
    const batchEnd = batch.at(-1)!.seq
    this.watch?.before(this.full, batch, i)
    if (event.type === 'jobs.vacuumed') {
      const seen = seeVacuum(this.full, event, batchEnd)
      this.vacuums.push(seen)
      for (const uuid of event.uuids) this.vacuumed.set(uuid, seen)
    } else if (event.type === 'jobs.removed') {
      for (const uuid of [...event.memory, ...event.history]) {
        const job = this.full.jobs.get(uuid) ?? this.full.retired.get(uuid)
        // Parents now: applying the event may take an edge to another job it removes.
        this.removed.set(uuid, { seq: event.seq, parents: job?.parents.map((p) => p.uuid) ?? [], children: job?.children.map((c) => c.uuid) ?? [], job })
      }
    } else if (event.type === 'jobs.restored') {
      for (const view of event.jobs) this.restoredAt.set(view.uuid, event.seq)
    } else if (event.type === 'job.cancelled' && i > 0) {
      const before = batch[i - 1]!
      if ((before.type === 'job.postponed' || before.type === 'job.recovered') && before.uuid === event.uuid) this.orphaned.add(event.uuid)
    }
    evolve(this.full, event)
    this.watch?.after(this.full, event)
  }

  /**
   * Bug injection only: lose every batch after `seq` (a store that acknowledged writes it had
   * not made durable). The MemoryLog is rebuilt from the history; a snapshot past the cut goes.
   */
  async truncateAfter(seq: number): Promise<void> {
    const snapshot = await this.log.readSnapshot()
    const kept = this.history.filter((b) => b.at(-1)!.seq <= seq)
    const keptWrites = this.historyWrites.slice(0, kept.length)
    this.history.length = 0
    this.historyWrites.length = 0
    this.full = initialState(this.config)
    this.vacuums.length = 0
    this.vacuumed.clear()
    this.removed.clear()
    this.restoredAt.clear()
    this.orphaned.clear()
    this.lastSeq = 0
    this.log = new MemoryLog()
    for (let i = 0; i < kept.length; i++) this.write(kept[i]!, keptWrites[i])
    if (snapshot !== null && snapshot.seq <= this.lastSeq) {
      await this.log.writeSnapshot(snapshot)
      await this.log.compact(snapshot.seq)
    }
  }
}

/** A job a jobs.removed took: when, and what the auditor still needs of it. */
export interface RemovedSeen {
  seq: number
  /** Its parents then (a cancel of one of them may have cancelled it before). */
  parents: string[]
  children: string[]
  /** The job itself (undefined: the log did not hold it, which the auditor reports). */
  job: JobRecord | undefined
}

export interface EventWatch {
  before(state: State, batch: readonly WharfEvent[], i: number): void
  after(state: State, event: WharfEvent): void
}

export interface FaultRates {
  /** Probability that an append rejects before writing. */
  appendFail: number
  /** Probability that a write takes 1..3 event-loop turns instead of completing at once. */
  slowWrite: number
  /** Probability that such a slow append then fails, writing nothing. */
  lateFail: number
  /** Probability that Wharf.open's read of the snapshot, or of the log, fails. */
  readFail: number
}

export interface FaultCounters {
  appends: number
  failedAppends: number
  slowWrites: number
  /** In-flight writes a crash made durable without acknowledging them. */
  writtenAtCrash: number
  /** In-flight writes a crash lost. */
  lostAtCrash: number
  /** Appends that failed after a few turns (also counted in failedAppends)... */
  lateFailures: number
  /** ...while a later tick waited behind them, so that it was lost too. */
  failedMidPipeline: number
  /** Reads of Wharf.open that failed. */
  failedReads: number
}

interface InFlight {
  what: string
  /** Make it durable: the effect happens synchronously; a refusal throws or rejects. */
  write: () => Promise<void> | void
  resolve: () => void
  reject: (error: unknown) => void
}

export class StoreHandle implements EventLog {
  private fenced = false
  private inFlight: InFlight[] = []
  /** open() without a matching close(): a failed Wharf.open must not leave the log held. */
  isOpen = false
  /** Set by the incarnation while its Wharf.open runs: read faults are injected then. */
  opening = false
  /** Ticks decided and not yet committed by the Wharf on this handle (its pipeline's depth). */
  pipelineDepth: () => number = () => 0

  constructor(
    readonly store: SimStore,
    readonly name: string,
    private readonly rng: Rng,
    private readonly rates: () => FaultRates,
    private readonly counters: FaultCounters,
    private readonly note: (line: string) => void,
  ) {}

  get history(): HistoryStore {
    return this.store.log.history
  }

  get dead(): boolean {
    return this.fenced
  }

  async open(): Promise<void> {
    if (this.fenced) return never()
    this.isOpen = true
  }

  append(batch: readonly WharfEvent[], history?: HistoryWrite): Promise<void> {
    if (this.fenced) return never()
    if (batch.length === 0) return Promise.resolve()
    this.counters.appends++
    const range = `seq ${batch[0]!.seq}..${batch.at(-1)!.seq}`
    if (this.rng.chance(this.rates().appendFail)) {
      this.counters.failedAppends++
      this.note(`${this.name}: append ${range} (${batch.length} events) FAILS before writing`)
      return Promise.reject(new StorageFaultError(`injected append failure (${range})`))
    }
    return this.perform(`append ${range}`, () => this.store.write(batch, history), () => this.failLate(range))
  }

  /** A slow append fails at its end, having written nothing (the ticks behind it are lost too). */
  private failLate(range: string): Error | null {
    // Likelier with a tick waiting behind it: the case where one failure loses several ticks.
    const behind = this.pipelineDepth() - 1
    const rate = this.rates().lateFail
    if (!this.rng.chance(behind > 0 ? Math.min(1, 3 * rate) : rate)) return null
    this.counters.failedAppends++
    this.counters.lateFailures++
    if (behind > 0) this.counters.failedMidPipeline++
    this.note(`${this.name}: append ${range} FAILS after a few turns, ${behind} tick(s) waiting behind it`)
    return new StorageFaultError(`injected late append failure (${range})`)
  }

  /** While Wharf.open runs: whether this read fails (counted and noted). */
  private readFails(what: string): boolean {
    if (!this.opening || !this.rng.chance(this.rates().readFail)) return false
    this.counters.failedReads++
    this.note(`${this.name}: ${what} FAILS while Wharf.open reads it`)
    return true
  }

  initHistory(views: readonly JobView[]): Promise<void> {
    if (this.fenced) return never()
    return this.store.log.initHistory(views)
  }

  read(afterSeq?: number): AsyncIterable<readonly WharfEvent[]> {
    if (this.fenced) return { [Symbol.asyncIterator]: () => ({ next: () => never() }) }
    if (!this.readFails(`reading the log after seq ${afterSeq ?? 0}`)) return this.store.log.read(afterSeq)
    return failingAfter(this.store.log.read(afterSeq), this.rng.between(0, 3))
  }

  readSnapshot(): Promise<Snapshot | null> {
    if (this.fenced) return never()
    if (this.readFails('reading the snapshot')) return Promise.reject(new StorageFaultError('injected snapshot read failure'))
    return this.store.log.readSnapshot()
  }

  writeSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.fenced) return never()
    return this.perform(`snapshot at seq ${snapshot.seq}`, () => this.store.log.writeSnapshot(snapshot))
  }

  compact(uptoSeq: number): Promise<void> {
    if (this.fenced) return never()
    return this.perform(`compact to seq ${uptoSeq}`, () => this.store.log.compact(uptoSeq))
  }

  async close(): Promise<void> {
    if (this.fenced) return never()
    this.isOpen = false
  }

  /**
   * The process dies. In-flight writes, in order: each is made durable or lost (once one is
   * lost, so is everything after it); none is ever acknowledged. Then the handle is fenced.
   */
  crash(): void {
    let losing = false
    for (const op of this.inFlight) {
      losing ||= !this.rng.chance(0.5)
      if (losing) {
        this.counters.lostAtCrash++
        this.note(`${this.name}: crash loses in-flight ${op.what}`)
        continue
      }
      try {
        void Promise.resolve(op.write()).catch(() => {})
        this.counters.writtenAtCrash++
        this.note(`${this.name}: crash leaves in-flight ${op.what} durable, unacknowledged`)
      } catch {
        losing = true
      }
    }
    this.inFlight = []
    this.fenced = true
  }

  /**
   * Run a write now, or after a few turns; it is durable exactly when the promise resolves. A
   * slow one may then fail instead (`failLate` returns its error), having written nothing.
   */
  private perform(what: string, write: () => Promise<void> | void, failLate: () => Error | null = () => null): Promise<void> {
    if (!this.rng.chance(this.rates().slowWrite)) {
      try {
        return Promise.resolve(write())
      } catch (error) {
        return Promise.reject(error)
      }
    }
    this.counters.slowWrites++
    const delay = this.rng.between(1, 3)
    return new Promise<void>((resolve, reject) => {
      const op: InFlight = { what, write, resolve, reject }
      this.inFlight.push(op)
      void turns(delay).then(() => {
        if (this.fenced) return
        this.inFlight.splice(this.inFlight.indexOf(op), 1)
        const failure = failLate()
        if (failure !== null) {
          op.reject(failure)
          return
        }
        let written: Promise<void> | void
        try {
          written = op.write()
        } catch (error) {
          op.reject(error)
          return
        }
        Promise.resolve(written).then(op.resolve, op.reject)
      })
    })
  }
}

/** `batches` batches of `source`, then a StorageFaultError (a read failing part way). */
async function* failingAfter(source: AsyncIterable<readonly WharfEvent[]>, batches: number): AsyncIterable<readonly WharfEvent[]> {
  let read = 0
  for await (const batch of source) {
    if (read++ === batches) break
    yield batch
  }
  throw new StorageFaultError(`injected log read failure after ${batches} batch(es)`)
}
