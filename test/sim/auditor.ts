// The auditor: what the simulated users were told, and what must therefore be true. It is built
// only from acknowledged calls — never from the log, which is what is under test:
//  - an enqueue that resolved exists, after any crash, with the uuid and spec it was given;
//  - a management call that resolved holds until a later call on the same target supersedes it;
//  - a call that rejected had no effect: its jobs never appear, its cancel/setDone/pause never
//    shows (every such effect must have a cause that was not refused);
//  - a call still in flight when its process died may or may not have happened (both are fine),
//    but if its jobs appear they must be exactly what was asked;
//  - a job autovacuum removed (retention.ts judges each removal) is gone for good: it never comes
//    back, and a later call on it is refused as for a job nobody ever had;
//  - so is a job a remove() took — and only a remove() that was not refused takes one; the jobs
//    it leaves behind lose their edges to it.
// Jobs that crons stored (identity key `cron:…`) come from no call: crons.ts judges them.

import type { JobSpec } from '../../src/engine/core/events.js'
import type { ChannelConfig } from '../../src/engine/core/channel-config.js'
import type { JobRecord, State } from '../../src/engine/core/state.js'
import { InvalidGraphError, JobStateConflictError, UnknownChannelError, UnknownJobError } from '../../src/engine/errors.js'
import type { VacuumSeen } from './retention.js'
import { StorageFaultError, type RemovedSeen } from './store.js'

export type CallKind = 'enqueue' | 'cancel' | 'requeue' | 'setDone' | 'remove' | 'pause' | 'resume'
export type CallStatus = 'inflight' | 'acked' | 'rejected' | 'lost'

/** One job as its enqueue asked for it. */
/** What an acknowledged enqueue promised: the fixed part of a job's spec, plus the test's token. */
export interface ExpectedJob
  extends Pick<JobSpec, 'model' | 'records' | 'priority' | 'eta' | 'maxRetries' | 'description' | 'channel' | 'identityKey' | 'createdAt'> {
  token: number
  parentTokens: number[]
  inGraph: boolean
}

export interface Call {
  id: number
  kind: CallKind
  /** Job uuid or complete channel name; '' for an enqueue. */
  target: string
  incarnation: number
  status: CallStatus
  jobs: ExpectedJob[]
  /** requeue: runs of the job before the requeue (a later finish needs a later start). */
  runsBefore: number
}

export class AuditError extends Error {}

const MANUAL_DONE = 'Manually set to done'

export function tokenOf(job: JobRecord): number | undefined {
  const plan = job.args[0] as { token?: unknown } | undefined
  return typeof plan?.token === 'number' ? plan.token : undefined
}

export class Auditor {
  readonly calls: Call[] = []
  private readonly byTarget = new Map<string, Call[]>()
  private readonly expected = new Map<number, { job: ExpectedJob; call: Call }>()
  private readonly mustExist = new Set<number>()
  private readonly mustNotExist = new Set<number>()
  /** uuids of jobs whose enqueue was acknowledged: never unknown afterwards. */
  private readonly durable = new Set<string>()
  /** token -> the uuid its acknowledged enqueue answered with. */
  private readonly ackedUuid = new Map<number, string>()
  private readonly configPaused = new Map<string, boolean>()

  /** `vacuumed`, `removed`: the jobs the durable log says autovacuum and remove() took, kept up
   * to date by the store. */
  constructor(
    config: readonly ChannelConfig[],
    private readonly vacuumed: ReadonlyMap<string, VacuumSeen>,
    private readonly removed: ReadonlyMap<string, RemovedSeen>,
    /** Jobs cancelled when a retry or recovery sent them back to waiting on cancelled parents. */
    private readonly orphaned: ReadonlySet<string>,
  ) {
    for (const c of config) this.configPaused.set(c.name, c.paused)
  }

  issue(kind: CallKind, target: string, incarnation: number, jobs: ExpectedJob[] = []): Call {
    const call: Call = { id: this.calls.length, kind, target, incarnation, status: 'inflight', jobs, runsBefore: -1 }
    this.calls.push(call)
    for (const job of jobs) this.expected.set(job.token, { job, call })
    if (kind !== 'enqueue') {
      let list = this.byTarget.get(target)
      if (list === undefined) this.byTarget.set(target, (list = []))
      list.push(call)
    }
    return call
  }

  /** An enqueue resolved: `created` maps token -> uuid when stored; null when identity keys skipped it. */
  enqueueAcked(call: Call, created: Map<number, string> | null, state: State): void {
    this.settle(call, 'acked')
    if (created === null) {
      for (const job of call.jobs) this.mustNotExist.add(job.token)
      return
    }
    for (const job of call.jobs) {
      const uuid = created.get(job.token)
      if (uuid === undefined) throw new AuditError(`enqueue #${call.id} resolved without a job for token ${job.token}`)
      const stored = state.jobs.get(uuid)
      if (stored === undefined || tokenOf(stored) !== job.token) throw new AuditError(`enqueue #${call.id} resolved with ${uuid}, which is not in the state`)
      this.mustExist.add(job.token)
      this.ackedUuid.set(job.token, uuid)
      this.durable.add(uuid)
    }
  }

  /**
   * A management call resolved: its effect is visible at once — unless a later call on the same
   * target (perhaps decided in the same tick, before this answer arrived) supersedes it.
   */
  acked(call: Call, state: State): void {
    this.settle(call, 'acked')
    if (call.kind === 'remove') {
      if (state.jobs.has(call.target) || !this.removed.has(call.target)) throw new AuditError(`remove #${call.id} of ${call.target} resolved, yet the log did not remove it`)
      return
    }
    if (call.kind !== 'pause' && call.kind !== 'resume') {
      const job = state.jobs.get(call.target)
      if (job === undefined && (this.noOpThenVacuumed(call, state) || this.removedSince(call))) return
      if (job === undefined) throw new AuditError(`${call.kind} #${call.id} of ${call.target} resolved, yet the job is ${this.goneAs(call.target)}`)
      this.durable.add(job.uuid)
      // Only dispatch starts jobs, and it runs last in a tick: a started job started after this.
      if (call.kind === 'requeue') call.runsBefore = job.runs - (job.state === 'started' ? 1 : 0)
    }
    if (this.lastOn(call.target) === call) this.checkHolds(call, state)
  }

  /** A call rejected: an injected storage fault, or a refusal it deserved. */
  rejected(call: Call, error: unknown, state: State): void {
    this.settle(call, 'rejected')
    for (const job of call.jobs) this.mustNotExist.add(job.token)
    if (error instanceof StorageFaultError) return
    if (error instanceof UnknownJobError && call.kind !== 'enqueue' && call.kind !== 'pause' && call.kind !== 'resume') {
      if (this.durable.has(call.target) && !this.gone(call.target)) throw new AuditError(`${call.kind} #${call.id}: acknowledged job ${call.target} is unknown: ${error.message}`)
      return
    }
    // Only a channel nobody configured may be unknown (one a job created may be gone after a
    // reopen, or created later in the tick that refused the call).
    if (error instanceof UnknownChannelError && (call.kind === 'pause' || call.kind === 'resume') && !this.configPaused.has(call.target)) return
    // A job taken since (a remove() decided in the same tick) is judged as it was then.
    const target = state.jobs.get(call.target) ?? this.vacuumedJob(call.target) ?? this.removed.get(call.target)?.job
    if (error instanceof JobStateConflictError && call.kind === 'requeue' && target?.identityKey != null) return
    // Refused as live, or as linked to a live job, when decided: what the job was then is gone.
    if ((error instanceof JobStateConflictError || error instanceof InvalidGraphError) && call.kind === 'remove') return
    throw new AuditError(`${call.kind} #${call.id} rejected unexpectedly: ${describeError(error)}`)
  }

  /** The process of `incarnation` died: its calls in flight may or may not have happened. */
  crashed(incarnation: number): void {
    for (const call of this.calls) if (call.incarnation === incarnation && call.status === 'inflight') call.status = 'lost'
  }

  /**
   * Whether an answer still reaches the caller. A dead process answers no one: its fenced handle
   * never settles a write, but a tick it had already scheduled may still answer a call that
   * needed none (an identity match, a no-op cancel) — that answer is dropped, as in a real crash.
   */
  heard(call: Call): boolean {
    return call.status !== 'lost'
  }

  get counts(): Record<CallStatus, number> {
    const counts = { inflight: 0, acked: 0, rejected: 0, lost: 0 }
    for (const c of this.calls) counts[c.status]++
    return counts
  }

  /** Every rule, against the state now. */
  audit(state: State): void {
    const byToken = new Map<number, JobRecord>()
    const graphOfCall = new Map<Call, string | null>()
    for (const job of state.jobs.values()) {
      if (job.identityKey?.startsWith('cron:') === true) continue
      const token = tokenOf(job)
      const entry = token === undefined ? undefined : this.expected.get(token)
      if (token === undefined || entry === undefined) throw new AuditError(`job ${job.uuid} was created by no call`)
      if (byToken.has(token)) throw new AuditError(`token ${token} is stored twice (${byToken.get(token)!.uuid}, ${job.uuid})`)
      byToken.set(token, job)
      const vacuum = this.vacuumed.get(job.uuid)
      if (vacuum !== undefined) throw new AuditError(`job ${job.uuid} (token ${token}) was vacuumed at seq ${vacuum.seq}, yet the log holds it again (${job.state})`)
      const removal = this.removed.get(job.uuid)
      if (removal !== undefined) throw new AuditError(`job ${job.uuid} (token ${token}) was removed at seq ${removal.seq}, yet the log holds it again (${job.state})`)
      if (this.mustNotExist.has(token)) {
        throw new AuditError(`job ${job.uuid} (token ${token}) exists, but its enqueue #${entry.call.id} was ${entry.call.status === 'rejected' ? 'rejected' : 'answered "identity key matched, nothing stored"'}`)
      }
      const mismatch = specMismatch(job, entry.job)
      if (mismatch !== null) throw new AuditError(`job ${job.uuid} (token ${token}, enqueue #${entry.call.id}) differs from what was asked: ${mismatch}`)
      if (graphOfCall.has(entry.call) && graphOfCall.get(entry.call) !== job.graphUuid) throw new AuditError(`jobs of enqueue #${entry.call.id} are in different graphs`)
      graphOfCall.set(entry.call, job.graphUuid)
    }
    const removedTokens = new Set([...this.removed.values()].map((r) => (r.job === undefined ? undefined : tokenOf(r.job))))
    for (const job of byToken.values()) {
      // A parent remove() took is no longer one.
      const want = this.expected.get(tokenOf(job)!)!.job.parentTokens.filter((t) => !removedTokens.has(t))
      const have = job.parents.map((p) => tokenOf(p)!).sort((a, b) => a - b)
      if (have.join() !== [...want].sort((a, b) => a - b).join()) throw new AuditError(`job ${job.uuid} depends on tokens [${have}], asked [${want}]`)
    }
    for (const token of this.mustExist) {
      const job = byToken.get(token)
      const uuid = this.ackedUuid.get(token)
      if (job === undefined && this.gone(uuid!)) continue
      if (job === undefined) throw new AuditError(`acknowledged job ${uuid} (token ${token}, enqueue #${this.expected.get(token)!.call.id}) is lost`)
      if (job.uuid !== uuid) throw new AuditError(`acknowledged job ${uuid} (token ${token}) is now stored as ${job.uuid}`)
    }
    this.auditManagement(state)
    this.auditCauses(state)
  }

  /** The last call on each target that was not refused, if acknowledged, still holds. */
  private auditManagement(state: State): void {
    for (const target of this.byTarget.keys()) {
      if (this.gone(target)) continue
      const last = this.lastOn(target)
      if (last?.status === 'acked') this.checkHolds(last, state)
    }
  }

  /** The newest call on a target that was not refused (in flight, lost or acknowledged). */
  private lastOn(target: string): Call | undefined {
    const calls = this.byTarget.get(target) ?? []
    for (let i = calls.length - 1; i >= 0; i--) if (calls[i]!.status !== 'rejected') return calls[i]
    return undefined
  }

  /** The effect of an acknowledged call that nothing has superseded. */
  private checkHolds(call: Call, state: State): void {
    const what = `${call.kind} #${call.id} of ${call.target} was acknowledged`
    if (call.kind === 'pause' || call.kind === 'resume') {
      const paused = state.channels.get(call.target)?.paused ?? false
      if (paused !== (call.kind === 'pause')) throw new AuditError(`${what}, yet paused=${paused}`)
      return
    }
    const job = state.jobs.get(call.target)
    if (call.kind === 'remove') {
      if (job !== undefined) throw new AuditError(`${what}, yet the job is ${job.state}`)
      return
    }
    if (job === undefined) throw new AuditError(`${what}, yet the job is ${this.goneAs(call.target)}`)
    if (call.kind === 'cancel' && job.state !== 'cancelled') throw new AuditError(`${what}, yet the job is ${job.state}`)
    if (call.kind === 'setDone' && job.state !== 'done') throw new AuditError(`${what}, yet the job is ${job.state}`)
    if (call.kind === 'requeue') {
      // A cancel of an ancestor may cascade down to it; nothing else cancels it. A cancel made
      // before it may too, through an ancestor that ran then: once a retry or a recovery sent that
      // one back to waiting on parents all cancelled, it was cancelled with its waiting descendants.
      if (job.state === 'cancelled' && !this.cancelReaches(job, call.id, state) && !this.orphanCascadeReaches(job, state)) {
        throw new AuditError(`${what}, yet the job is cancelled with no later cancel`)
      }
      const finished = job.state === 'failed' || (job.state === 'done' && job.result !== MANUAL_DONE)
      if (finished && job.runs <= call.runsBefore) throw new AuditError(`${what}, yet the job is ${job.state} from a run before it (runs ${job.runs})`)
    }
  }

  /** Effects that only a call can cause have one that was not refused. */
  private auditCauses(state: State): void {
    for (const job of state.jobs.values()) {
      if (job.state === 'cancelled' && !this.cancelReaches(job, -1, state)) throw new AuditError(`job ${job.uuid} is cancelled, but no cancel that was not refused reaches it`)
      if (job.state === 'done' && job.result === MANUAL_DONE && !this.hasCall(job.uuid, 'setDone', -1)) {
        throw new AuditError(`job ${job.uuid} was set done, but no setDone that was not refused names it`)
      }
    }
    for (const [uuid, removal] of this.removed) {
      if (removal.job === undefined) throw new AuditError(`jobs.removed at seq ${removal.seq} names ${uuid}, which the log did not hold`)
      if (!this.hasCall(uuid, 'remove', -1)) throw new AuditError(`job ${uuid} was removed at seq ${removal.seq}, but no remove that was not refused names it`)
    }
    for (const node of state.channels.values()) {
      const configured = this.configPaused.get(node.name) ?? false
      if (node.paused !== configured && !this.hasCall(node.name, node.paused ? 'pause' : 'resume', -1)) {
        throw new AuditError(`channel ${node.name} is ${node.paused ? 'paused' : 'running'} against its config, with no such call that was not refused`)
      }
    }
  }

  /** A cancel (not refused, issued after call `afterId`) names the job or one of its ancestors. */
  private cancelReaches(job: JobRecord, afterId: number, state: State): boolean {
    const seen = new Set<string>()
    const stack: string[] = [job.uuid]
    while (stack.length > 0) {
      const uuid = stack.pop()!
      if (seen.has(uuid)) continue
      seen.add(uuid)
      if (this.hasCall(uuid, 'cancel', afterId)) return true
      // Its parents now, and those remove() took since (a cancel of one may have reached it first).
      stack.push(...(state.jobs.get(uuid)?.parents.map((p) => p.uuid) ?? this.removed.get(uuid)?.parents ?? []))
      for (const [other, removal] of this.removed) if (removal.children.includes(uuid)) stack.push(other)
    }
    return false
  }

  /** An ancestor of `job` was cancelled as sent back to waiting on cancelled parents, and some
   * cancel (made at any time) reaches that ancestor. */
  private orphanCascadeReaches(job: JobRecord, state: State): boolean {
    const seen = new Set<JobRecord>()
    const stack = [...job.parents]
    while (stack.length > 0) {
      const ancestor = stack.pop()!
      if (seen.has(ancestor)) continue
      seen.add(ancestor)
      if (this.orphaned.has(ancestor.uuid) && this.cancelReaches(ancestor, -1, state)) return true
      stack.push(...ancestor.parents)
    }
    return false
  }

  private hasCall(target: string, kind: CallKind, afterId: number): boolean {
    return (this.byTarget.get(target) ?? []).some((c) => c.kind === kind && c.id > afterId && c.status !== 'rejected')
  }

  /** The job as it was when autovacuum removed it (a later command of its tick may name it). */
  private vacuumedJob(uuid: string): JobRecord | undefined {
    return this.vacuumed.get(uuid)?.named.find((n) => n.uuid === uuid)?.job
  }

  /**
   * A cancel of a cancelled job (or setDone of a done one) in history changes nothing; the tick
   * that answers it may then vacuum the job, so that the answer finds it gone.
   */
  private noOpThenVacuumed(call: Call, state: State): boolean {
    const was = this.vacuumedJob(call.target)?.state
    if (this.vacuumed.get(call.target)?.batchEnd !== state.seq) return false
    return (call.kind === 'cancel' && was === 'cancelled') || (call.kind === 'setDone' && was === 'done')
  }

  /** Taken by autovacuum or by remove(): a call may find it unknown. */
  private gone(uuid: string): boolean {
    return this.vacuumed.has(uuid) || this.removed.has(uuid)
  }

  /** A remove() issued after `call` (maybe decided in the same tick) took its job. */
  private removedSince(call: Call): boolean {
    return this.removed.has(call.target) && this.hasCall(call.target, 'remove', call.id)
  }

  private goneAs(uuid: string): string {
    const vacuum = this.vacuumed.get(uuid)
    const removal = this.removed.get(uuid)
    if (removal !== undefined) return `removed (seq ${removal.seq})`
    return vacuum === undefined ? 'unknown' : `vacuumed (seq ${vacuum.seq})`
  }

  private settle(call: Call, status: CallStatus): void {
    if (call.status !== 'inflight') throw new AuditError(`${call.kind} #${call.id} settled twice`)
    call.status = status
  }
}

function specMismatch(job: JobRecord, want: ExpectedJob): string | null {
  const fields: [string, unknown, unknown][] = [
    ['model', job.model, want.model],
    ['method', job.method, 'run'],
    ['records', JSON.stringify(job.records), JSON.stringify(want.records)],
    ['priority', job.priority, want.priority],
    ['maxRetries', job.maxRetries, want.maxRetries],
    ['description', job.description, want.description],
    ['channel', job.channel.name, want.channel],
    ['identityKey', job.identityKey, want.identityKey],
    ['createdAt', job.createdAt, want.createdAt],
    ['graph', job.graphUuid !== null, want.inGraph],
  ]
  // A retry moves the eta; before the first run it is the one asked for.
  if (job.runs === 0) fields.push(['eta', job.eta, want.eta])
  const bad = fields.filter(([, have, asked]) => have !== asked)
  return bad.length === 0 ? null : bad.map(([name, have, asked]) => `${name} ${String(have)} (asked ${String(asked)})`).join(', ')
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
