// The simulated users: every public call the simulator makes, drawn from the seed, fired without
// waiting (so calls share ticks, race handlers and meet crashes in flight), and registered with
// the auditor before it is made. Their answers feed the auditor; a check that fails inside an
// answer is handed to the simulation, which raises it after the step.

import type { State } from '../../src/engine/core/state.js'
import { normalizeChannelName } from '../../src/engine/core/channel-config.js'
import type { JobView } from '../../src/engine/core/view.js'
import { isBlocking } from '../property/oracle.js'
import { AuditError, describeError, type Auditor, type Call, type ExpectedJob } from './auditor.js'
import type { Incarnation } from './incarnation.js'
import type { Rng } from './prng.js'
import {
  composeShape, configuredChannel, drawProps, drawShape, expectedParents, MODELS, type FunctionSetup, type ModelName, type Shape,
} from './workload.js'

/** What the users need from the simulation. */
export interface UsersHost {
  readonly rng: Rng
  readonly auditor: Auditor
  readonly setup: FunctionSetup
  /** The running incarnation. */
  live(): Incarnation
  /** Every job the durable log ever created, finished ones included (those left the engine's
   * memory for history): what the auditor checks acknowledged calls against. */
  everyJob(): State
  /** Jobs autovacuum removed: gone for good, unknown to every call. */
  vacuumed(): ReadonlyMap<string, unknown>
  /** Jobs remove() took: gone for good too. */
  removed(): ReadonlyMap<string, unknown>
  note(line: string): void
  /** A check failed inside an answer. */
  problem(check: string): void
  /** An answer arrived from a process that has crashed since: nobody hears it. */
  unheard(call: Call): void
  /** A call was acknowledged when the live state was at this seq. */
  acknowledged(seq: number): void
  /** A call was rejected; its incarnation has just rolled back if the error is a storage fault. */
  rejectedBy(inc: Incarnation, error: unknown): void
}

export type JobCall = 'cancel' | 'requeue' | 'setDone' | 'remove'
export type ChannelCall = 'pause' | 'resume'

export class SimUsers {
  private nextToken = 1

  constructor(private readonly host: UsersHost) {}

  enqueueOne(): void {
    const { rng, auditor } = this.host
    const inc = this.host.live()
    const model = rng.pick(MODELS)
    const token = this.nextToken++
    const { props, records, expected } = this.drawJob(model, token, [], false)
    const call = auditor.issue('enqueue', '', inc.n, [expected])
    this.host.note(`enqueue #${call.id}: ${model} token ${token} ${JSON.stringify(props)}`)
    inc.models[model]
      .browse(records)
      .withDelay(props)
      .run({ token })
      .then(
        (view) => this.answer(call, () => this.enqueued(call, inc, [view], [token])),
        (error: unknown) => this.answer(call, () => this.rejected(call, inc, error)),
      )
  }

  enqueueGraph(): void {
    const { rng, auditor } = this.host
    const inc = this.host.live()
    const { shape, leaves } = drawShape(rng)
    const parents = expectedParents(shape, leaves)
    const tokens = Array.from({ length: leaves }, () => this.nextToken++)
    const expected: ExpectedJob[] = []
    const delayables = tokens.map((token, i) => {
      const model = rng.pick(MODELS)
      const job = this.drawJob(model, token, [...parents[i]!].map((p) => tokens[p]!), true)
      expected.push(job.expected)
      return inc.models[model].browse(job.records).delayable(job.props).run({ token })
    })
    const node = composeShape(shape, delayables, rng)
    const call = auditor.issue('enqueue', '', inc.n, expected)
    this.host.note(`enqueue #${call.id}: graph ${describeShape(shape, tokens)}, keys [${expected.map((e) => e.identityKey ?? '-')}]`)
    node.delay().then(
      () => this.answer(call, () => this.enqueued(call, inc, delayables.map((d) => d.job), tokens)),
      (error: unknown) => this.answer(call, () => this.rejected(call, inc, error)),
    )
  }

  /**
   * A job the log holds, live or finished; now and then one autovacuum removed; rarely (or when
   * there is none) a uuid nobody ever had.
   */
  pickJob(): string {
    // Finished jobs too: a requeue, cancel or setDone of one brings its graph back from history.
    const { rng } = this.host
    const vacuumed = this.host.vacuumed()
    if (vacuumed.size > 0 && rng.chance(0.05)) return nth(vacuumed.keys(), rng.below(vacuumed.size))
    const jobs = this.host.everyJob().jobs
    if (jobs.size === 0 || rng.chance(0.03)) return `nope-${rng.below(1000)}`
    return nth(jobs.keys(), rng.below(jobs.size))
  }

  manageJob(kind: JobCall, uuid: string): void {
    const inc = this.host.live()
    const call = this.host.auditor.issue(kind, uuid, inc.n)
    const state = this.host.everyJob().jobs.get(uuid)?.state ?? (this.host.vacuumed().has(uuid) ? 'vacuumed' : this.host.removed().has(uuid) ? 'removed' : 'unknown')
    this.host.note(`${kind} #${call.id} ${uuid} (${state})`)
    const asked: Promise<unknown> = kind === 'remove' ? inc.wharf.remove([uuid]) : inc.wharf[kind](uuid)
    asked.then(
      () => this.answer(call, () => this.acked(call, inc)),
      (error: unknown) => this.answer(call, () => this.rejected(call, inc, error)),
    )
  }

  /** Resolves once answered (the liveness phase waits for its resumes). */
  manageChannel(kind: ChannelCall, name: string): Promise<void> {
    const inc = this.host.live()
    const call = this.host.auditor.issue(kind, normalizeChannelName(name), inc.n)
    this.host.note(`${kind} #${call.id} ${name}`)
    return (kind === 'pause' ? inc.wharf.pauseChannel(name) : inc.wharf.resumeChannel(name)).then(
      () => this.answer(call, () => this.acked(call, inc)),
      (error: unknown) => this.answer(call, () => this.rejected(call, inc, error)),
    )
  }

  /** What the user asks for one job, and the spec the auditor will expect of it. */
  private drawJob(model: ModelName, token: number, parentTokens: number[], inGraph: boolean) {
    const { rng, setup } = this.host
    const { props, etaSeconds } = drawProps(rng)
    const records = [rng.chance(0.8) ? rng.below(5) : `r${rng.below(5)}`]
    const now = this.host.live().clock.now()
    const expected: ExpectedJob = {
      token,
      model,
      records,
      priority: props.priority ?? 10,
      eta: etaSeconds === null ? null : now + etaSeconds * 1000,
      maxRetries: props.maxRetries ?? 5,
      description: props.description ?? `${model}.run`,
      channel: normalizeChannelName(props.channel ?? configuredChannel(setup, model) ?? 'root'),
      identityKey: typeof props.identityKey === 'string' ? props.identityKey : null,
      createdAt: now,
      parentTokens,
      inGraph,
    }
    return { props, records, expected }
  }

  /** Run the checks of an answer, unless its process is dead (then nobody hears it). */
  private answer(call: Call, check: () => void): void {
    if (!this.host.auditor.heard(call)) return this.host.unheard(call)
    try {
      check()
    } catch (error) {
      this.host.problem(describeError(error))
    }
  }

  /** Stored (each token's view is its own job), or skipped by identity keys (views of holders). */
  private enqueued(call: Call, inc: Incarnation, views: (JobView | undefined)[], tokens: number[]): void {
    void inc
    const state = this.host.everyJob()
    const own = views.map((v, i) => (v?.args[0] as { token?: number } | undefined)?.token === tokens[i])
    this.host.acknowledged(state.seq)
    if (own.every(Boolean)) {
      this.host.note(`enqueue #${call.id} resolved: ${views.map((v) => v!.uuid).join(', ')}`)
      this.host.auditor.enqueueAcked(call, new Map(tokens.map((t, i) => [t, views[i]!.uuid])), state)
      return
    }
    if (own.some(Boolean)) throw new AuditError(`enqueue #${call.id} resolved with a mix of new and existing jobs`)
    call.jobs.forEach((job, i) => {
      if (job.identityKey !== null && views[i]?.identityKey !== job.identityKey) {
        throw new AuditError(`enqueue #${call.id} was skipped, but token ${job.token}'s key ${job.identityKey} matched ${views[i]?.uuid ?? 'nothing'}`)
      }
      // The view is the holder as the enqueue was decided: it held the key, so it was live then.
      if (job.identityKey !== null && !isBlocking(views[i]!)) {
        throw new AuditError(`enqueue #${call.id} was skipped for key ${job.identityKey}, but the job it returned, ${views[i]!.uuid}, was ${views[i]!.state}`)
      }
    })
    this.host.note(`enqueue #${call.id} resolved: identity keys matched ${views.map((v) => v?.uuid ?? '-').join(', ')}, nothing stored`)
    this.host.auditor.enqueueAcked(call, null, state)
  }

  private acked(call: Call, inc: Incarnation): void {
    void inc
    const state = this.host.everyJob()
    this.host.acknowledged(state.seq)
    this.host.note(`${call.kind} #${call.id} resolved`)
    this.host.auditor.acked(call, state)
  }

  private rejected(call: Call, inc: Incarnation, error: unknown): void {
    this.host.note(`${call.kind} #${call.id} rejected: ${describeError(error)}`)
    this.host.auditor.rejected(call, error, this.host.everyJob())
    this.host.rejectedBy(inc, error)
  }
}

function nth<T>(items: Iterable<T>, i: number): T {
  for (const item of items) if (i-- === 0) return item
  throw new AuditError('pickJob: index out of range')
}

function describeShape(shape: Shape, tokens: number[]): string {
  if (shape.kind === 'leaf') return String(tokens[shape.leaf])
  return `${shape.kind}(${shape.members.map((m) => describeShape(m, tokens)).join(', ')})`
}
