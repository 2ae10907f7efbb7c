// A job as the state holds it. Fields every job uses on its way through the queue are the
// record's own; the ones most jobs never set (graph edges, identity key, failure, cancellation,
// progress, batch, cluster worker and node) live in one `rare` object created the first time one of them
// gets a value. With up to hundreds of thousands of jobs held at once (a backlog, a replay), the
// smaller record is less memory to fill and less for the garbage collector to copy. Accessors
// keep the rare fields readable and writable as if they were the record's own.

import type { JobSpec, JobState, RecordId } from './events.js'
import type { ChannelNode } from './state.js'
import type { JobProgress } from './view.js'
import type { BatchRecord } from './batch.js'

const NO_JOBS: readonly JobRecord[] = Object.freeze([])

/** The rarely set fields of a job, with their defaults. */
class RareFields {
  graphUuid: string | null
  identityKey: string | null
  parents: readonly JobRecord[] = NO_JOBS
  children: readonly JobRecord[] = NO_JOBS
  unfinishedParents = 0
  worker: string | null = null
  node: string | null = null
  excName: string | null = null
  excMessage: string | null = null
  excInfo: string | null = null
  cancelledAt: number | null = null
  failedAt: number | null = null
  progress: JobProgress | null = null
  batch: BatchRecord | null = null

  constructor(graphUuid: string | null, identityKey: string | null) {
    this.graphUuid = graphUuid
    this.identityKey = identityKey
  }
}

export class JobRecord {
  readonly uuid: string
  readonly model: string
  readonly method: string
  readonly records: RecordId[]
  readonly args: unknown[]
  readonly context: Record<string, unknown>
  readonly priority: number
  eta: number | null
  readonly maxRetries: number
  readonly description: string
  readonly channel: ChannelNode
  readonly createdAt: number
  /** seq of the job.created event: the last tie-breaker of every ordering. */
  readonly seq: number
  state: JobState = 'pending'
  retry = 0
  /** Starts ever made, never reset: tells a stale handler completion from the current run's. */
  runs = 0
  result: unknown = null
  enqueuedAt: number | null = null
  startedAt: number | null = null
  doneAt: number | null = null
  heapIndex = -1
  /** True while queued in the channel's eta heap rather than its ready heap. */
  waitingEta = false
  /** The rarely set fields, null while all hold their defaults (see the top of this file). */
  private rare: RareFields | null

  constructor(spec: JobSpec, channel: ChannelNode, seq: number) {
    this.uuid = spec.uuid
    this.model = spec.model
    this.method = spec.method
    // Read back from the log they come unfrozen from its decoder: frozen where they are shared
    // (exposedPayloads), not here, so that a replay does not freeze every job it finishes.
    this.records = spec.records
    this.args = spec.args
    this.context = spec.context
    this.priority = spec.priority
    this.eta = spec.eta
    this.maxRetries = spec.maxRetries
    this.description = spec.description
    this.channel = channel
    this.createdAt = spec.createdAt
    this.seq = seq
    this.rare = spec.graphUuid === null && spec.identityKey === null ? null : new RareFields(spec.graphUuid, spec.identityKey)
  }

  /** The rare fields, created on first write. */
  private more(): RareFields {
    return this.rare ?? (this.rare = new RareFields(null, null))
  }

  /** Nothing changes a record once history holds it (retire.ts): its rare fields neither. */
  freeze(): void {
    if (this.rare !== null) Object.freeze(this.rare)
    Object.freeze(this)
  }

  /** Set once more when a job delayed alone joins a graph (job.joined_graph). */
  get graphUuid(): string | null {
    return this.rare === null ? null : this.rare.graphUuid
  }
  set graphUuid(value: string | null) {
    if (value !== null || this.rare !== null) this.more().graphUuid = value
  }

  /** Fixed when the job is created (the setter serves tests that corrupt a record on purpose). */
  get identityKey(): string | null {
    return this.rare === null ? null : this.rare.identityKey
  }
  set identityKey(value: string | null) {
    if (value !== null || this.rare !== null) this.more().identityKey = value
  }

  get parents(): readonly JobRecord[] {
    return this.rare === null ? NO_JOBS : this.rare.parents
  }
  set parents(value: readonly JobRecord[]) {
    if (value.length > 0 || this.rare !== null) this.more().parents = value
  }

  get children(): readonly JobRecord[] {
    return this.rare === null ? NO_JOBS : this.rare.children
  }

  /** Parents not in `done`. A job starts only at 0. */
  get unfinishedParents(): number {
    return this.rare === null ? 0 : this.rare.unfinishedParents
  }
  set unfinishedParents(value: number) {
    if (value !== 0 || this.rare !== null) this.more().unfinishedParents = value
  }

  /** While started in a cluster: the worker its run was assigned to (job.started); else null. */
  get worker(): string | null {
    return this.rare === null ? null : this.rare.worker
  }
  set worker(value: string | null) {
    if (value !== null || this.rare !== null) this.more().worker = value
  }

  /**
   * JobView.node: the cluster member (its node name) the latest try was assigned to. Unlike
   * `worker` it outlives the try — a done, failed (JobFoundDead included), postponed, recovered or
   * cancelled job still names where it last ran — until the next try starts, or a requeue starts
   * the job over (it clears retry and startedAt too, as queue_job's requeue clears worker_pid).
   * Null embedded, and for a job that never started.
   */
  get node(): string | null {
    return this.rare === null ? null : this.rare.node
  }
  set node(value: string | null) {
    if (value !== null || this.rare !== null) this.more().node = value
  }

  get excName(): string | null {
    return this.rare === null ? null : this.rare.excName
  }
  set excName(value: string | null) {
    if (value !== null || this.rare !== null) this.more().excName = value
  }

  get excMessage(): string | null {
    return this.rare === null ? null : this.rare.excMessage
  }
  set excMessage(value: string | null) {
    if (value !== null || this.rare !== null) this.more().excMessage = value
  }

  get excInfo(): string | null {
    return this.rare === null ? null : this.rare.excInfo
  }
  set excInfo(value: string | null) {
    if (value !== null || this.rare !== null) this.more().excInfo = value
  }

  get cancelledAt(): number | null {
    return this.rare === null ? null : this.rare.cancelledAt
  }
  set cancelledAt(value: number | null) {
    if (value !== null || this.rare !== null) this.more().cancelledAt = value
  }

  /** When it last failed (job.failed, or found dead at recovery); kept internal: JobView has no
   * such field (queue_job's has none either), but explain() says since when a job is failed. */
  get failedAt(): number | null {
    return this.rare === null ? null : this.rare.failedAt
  }
  set failedAt(value: number | null) {
    if (value !== null || this.rare !== null) this.more().failedAt = value
  }

  /** The latest try's progress (job.progressed); reset when a try starts. */
  get progress(): JobProgress | null {
    return this.rare === null ? null : this.rare.progress
  }
  set progress(value: JobProgress | null) {
    if (value !== null || this.rare !== null) this.more().progress = value
  }

  /** Its batch (batch.created names it), or null. */
  get batch(): BatchRecord | null {
    return this.rare === null ? null : this.rare.batch
  }
  set batch(value: BatchRecord | null) {
    if (value !== null || this.rare !== null) this.more().batch = value
  }

  addChild(child: JobRecord): void {
    const rare = this.more()
    rare.children = rare.children === NO_JOBS ? [child] : [...rare.children, child]
  }

  removeChild(child: JobRecord): void {
    if (this.rare === null) return
    const children = this.rare.children.filter((c) => c !== child)
    this.rare.children = children.length === 0 ? NO_JOBS : children
  }

  removeParent(parent: JobRecord): void {
    if (this.rare === null) return
    const parents = this.rare.parents.filter((p) => p !== parent)
    this.rare.parents = parents.length === 0 ? NO_JOBS : parents
  }
}
