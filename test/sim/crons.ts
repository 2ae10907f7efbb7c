// Crons in the simulator (queue_job_cron's recurring jobs). The users declare, redeclare, pause,
// resume and remove two crons through the public API, fired without waiting like every call.
// Each cron event the durable log accepts is judged on the fold just before it, against a model
// of the schedules (arithmetic in fixed-offset zones, never croner) and of catchUp:
//  - cron.defined, paused, resumed, removed: caused by a call that was not refused, with the
//    definition it asked for; a next firing is the first of the schedule after the call;
//  - cron.fired: its cron was active; the times fired are the schedule's, from the cron's stored
//    next firing up to the tick's time, as catchUp says ('all': each, 'one': the latest, 'none':
//    the latest or none — the latest surely when it falls at the tick's very time); the next
//    firing is the first after the tick; each time stored its job in the same batch, with the
//    definition's job; no firing's key is ever stored twice in the log, across crashes too.
// An acknowledged cron call holds until a later one on that cron supersedes it; in the liveness
// phase (no faults) a cron fires at its very time, and after the drain none has a firing due.

import { normalizeChannelName } from '../../src/engine/core/channel-config.js'
import type { CronRecord } from '../../src/engine/core/cron.js'
import type { CatchUp, CronDefinition, WharfEvent } from '../../src/engine/core/events.js'
import { CRON_FIRINGS_MAX } from '../../src/engine/core/limits.js'
import type { State } from '../../src/engine/core/state.js'
import { UnknownCronError } from '../../src/engine/errors.js'
import { AuditError, describeError, type CallStatus } from './auditor.js'
import { StorageFaultError } from './store.js'
import type { UsersHost } from './users.js'
import { configuredChannel, MODELS, type ModelName } from './workload.js'

const NAMES = ['c0', 'c1'] as const
/** Every firing of a declaration carries its token; user jobs' tokens stay far below. */
export const CRON_TOKEN_BASE = 1_000_000
const MINUTE = 60_000

/** Zones without DST: local time is UTC plus a fixed offset. */
const ZONES = [
  { tz: 'UTC', offsetMs: 0 },
  { tz: 'Asia/Kathmandu', offsetMs: 345 * MINUTE },
  { tz: 'Asia/Kolkata', offsetMs: 330 * MINUTE },
] as const
/** Sparse schedules: the simulated days pass at every firing. `second`: the second each fires at. */
const SCHEDULES = [
  { expression: '0 0 9 * * *', second: 0, fires: (d: Date) => d.getUTCMinutes() === 0 && d.getUTCHours() === 9 },
  { expression: '0 15 */6 * * *', second: 0, fires: (d: Date) => d.getUTCMinutes() === 15 && d.getUTCHours() % 6 === 0 },
  { expression: '30 45 23 * * *', second: 30, fires: (d: Date) => d.getUTCMinutes() === 45 && d.getUTCHours() === 23 },
] as const

type Times = Pick<CronDefinition, 'schedule' | 'tz'>

function reading(def: Times) {
  const schedule = SCHEDULES.find((s) => s.expression === def.schedule)
  const zone = ZONES.find((z) => z.tz === def.tz)
  if (schedule === undefined || zone === undefined) throw new AuditError(`cron with unknown schedule ${def.schedule} or zone ${def.tz}`)
  return { second: schedule.second, fires: (ms: number) => new Date(ms).getUTCSeconds() === schedule.second && ms % 1000 === 0 && schedule.fires(new Date(ms + zone.offsetMs)) }
}

/** Whether the schedule fires at `ms`. */
export const firesAt = (def: Times, ms: number): boolean => reading(def).fires(ms)

/** The first firing strictly after `ms` (the zones' offsets are whole minutes: step by minutes). */
export function firstAfter(def: Times, ms: number): number {
  const { second, fires } = reading(def)
  let t = Math.floor(ms / MINUTE) * MINUTE + second * 1000
  if (t <= ms) t += MINUTE
  while (!fires(t)) t += MINUTE
  return t
}

function latestAtOrBefore(def: Times, ms: number): number {
  const { second, fires } = reading(def)
  let t = Math.floor(ms / MINUTE) * MINUTE + second * 1000
  if (t > ms) t -= MINUTE
  while (!fires(t)) t -= MINUTE
  return t
}

type CronCallKind = 'cron' | 'pauseCron' | 'resumeCron' | 'removeCron'
/** What a declaration asked for. */
interface Asked { schedule: string; tz: string; catchUp: CatchUp; model: ModelName; token: number; priority: number; maxRetries: number; channel: string | undefined }
interface CronCall {
  id: number
  kind: CronCallKind
  name: string
  incarnation: number
  /** The clock when the call was made: the API computes next firings from it. */
  atMs: number
  status: CallStatus
  asked: Asked | null
  /** The cron surely existed when this call was decided (an UnknownCronError is then a bug). */
  known: boolean
}

const sameDefinition = (a: Asked, d: CronDefinition): boolean =>
  a.schedule === d.schedule && a.tz === d.tz && a.catchUp === d.catchUp && a.model === d.job.model && a.priority === d.job.priority &&
  a.maxRetries === d.job.maxRetries && (d.job.args[0] as { token?: unknown } | undefined)?.token === a.token

export class SimCrons {
  readonly calls: CronCall[] = []
  private declarations = 0
  /** Firings judged (times stored), for the stats. */
  fired = 0

  constructor(private readonly host: UsersHost) {}

  /** One cron call: declare (most often), pause, resume or remove. */
  act(): void {
    const { rng } = this.host
    const kind = rng.weighted({ cron: 5, pauseCron: 2, resumeCron: 2, removeCron: 1 })
    const name = rng.pick(NAMES)
    const inc = this.host.live()
    const durable = this.host.everyJob().crons
    const removing = this.calls.some((c) => c.name === name && c.kind === 'removeCron' && c.status === 'inflight')
    const call: CronCall = { id: this.calls.length, kind, name, incarnation: inc.n, atMs: inc.clock.now(), status: 'inflight', asked: null, known: durable.has(name) && !removing }
    this.calls.push(call)
    let asking: Promise<void>
    if (kind === 'cron') {
      const model = rng.pick(MODELS)
      const asked: Asked = {
        schedule: rng.pick(SCHEDULES).expression, tz: rng.pick(ZONES).tz, catchUp: rng.pick(['none', 'one', 'all'] as const), model,
        token: CRON_TOKEN_BASE + this.declarations++, priority: rng.pick([0, 5, 10]), maxRetries: rng.pick([0, 1, 3]), channel: rng.chance(0.5) ? undefined : rng.pick(['root', 'root.a', 'b.y']),
      }
      call.asked = asked
      const job = inc.models[model].browse([0]).delayable({ priority: asked.priority, maxRetries: asked.maxRetries, ...(asked.channel === undefined ? {} : { channel: asked.channel }) }).run({ token: asked.token })
      asking = inc.wharf.cron(name, asked.schedule, job, { tz: asked.tz, catchUp: asked.catchUp })
    } else {
      asking = inc.wharf[kind](name)
    }
    this.host.note(`${kind} #c${call.id} ${name}${call.asked === null ? '' : ` ${JSON.stringify(call.asked)}`}`)
    asking.then(
      () => this.answer(call, 'acked'),
      (error: unknown) => {
        this.answer(call, 'rejected', error)
        this.host.rejectedBy(inc, error)
      },
    )
  }

  private answer(call: CronCall, status: 'acked' | 'rejected', error?: unknown): void {
    if (call.status === 'lost') return this.host.note(`${call.kind} #c${call.id} settled in dead incarnation ${call.incarnation}: nobody hears it`)
    try {
      if (call.status !== 'inflight') throw new AuditError(`${call.kind} #c${call.id} settled twice`)
      call.status = status
      this.host.note(`${call.kind} #c${call.id} ${status === 'acked' ? 'resolved' : `rejected: ${describeError(error)}`}`)
      if (status === 'acked') this.host.acknowledged(this.host.everyJob().seq)
      else if (!(error instanceof StorageFaultError) && !(error instanceof UnknownCronError && !call.known)) {
        throw new AuditError(`${call.kind} #c${call.id} of ${call.name} rejected unexpectedly: ${describeError(error)}`)
      }
    } catch (error) {
      this.host.problem(describeError(error))
    }
  }

  /** The process of `incarnation` died: its calls in flight may or may not have happened. */
  crashed(incarnation: number): void {
    for (const call of this.calls) if (call.incarnation === incarnation && call.status === 'inflight') call.status = 'lost'
  }

  /** A judge of the durable log from its first event (a new one when the store is rebuilt). */
  judge(): CronJudge {
    return new CronJudge(this)
  }

  /** Calls that may have caused an event: not refused (in flight, lost or acknowledged). */
  causes(kind: CronCallKind, name: string): CronCall[] {
    return this.calls.filter((c) => c.kind === kind && c.name === name && c.status !== 'rejected')
  }

  /** Each cron's last call that was not refused, if acknowledged, still holds in `state`. */
  audit(state: State): void {
    for (const name of NAMES) {
      const last = this.calls.filter((c) => c.name === name && c.status !== 'rejected').at(-1)
      if (last?.status !== 'acked') continue
      const cron = state.crons.get(name)
      const what = `${last.kind} #c${last.id} of ${name} was acknowledged`
      if (last.kind === 'removeCron' ? cron !== undefined : cron === undefined) throw new AuditError(`${what}, yet the cron is ${cron === undefined ? 'absent' : 'there'}`)
      if (last.kind === 'cron' && !sameDefinition(last.asked!, cron!.definition)) throw new AuditError(`${what}, yet it is defined as ${JSON.stringify(cron!.definition)}`)
      if ((last.kind === 'pauseCron' || last.kind === 'resumeCron') && cron!.paused !== (last.kind === 'pauseCron')) throw new AuditError(`${what}, yet paused=${cron!.paused}`)
    }
  }

  /** The earliest next firing of the active crons (null: none). */
  nextFiring(state: State): number | null {
    const times = [...state.crons.values()].flatMap((c) => (c.paused || c.nextMs === null ? [] : [c.nextMs]))
    return times.length === 0 ? null : Math.min(...times)
  }

  /** With the engine settled and running at `nowMs`, no active cron has a firing due. */
  checkNoneDue(state: State, nowMs: number): void {
    for (const cron of state.crons.values()) {
      if (!cron.paused && cron.nextMs !== null && cron.nextMs <= nowMs) throw new AuditError(`cron ${cron.definition.name} still has its firing at ${cron.nextMs} due at ${nowMs}`)
    }
  }

  /** The channel each firing's job of `def` gets: the definition's, else its function's. */
  channelOf(def: CronDefinition): string {
    return normalizeChannelName(def.job.channel ?? configuredChannel(this.host.setup, def.job.model as ModelName) ?? 'root')
  }
}

/** Judges each cron event (and each job.created with a cron key) on the durable fold before it. */
export class CronJudge {
  /** Identity keys of the firings the log stored. */
  private readonly keys = new Set<string>()

  constructor(private readonly crons: SimCrons) {}

  judge(state: State, batch: readonly WharfEvent[], i: number): string | null {
    const e = batch[i]!
    switch (e.type) {
      case 'cron.defined': {
        const cron = state.crons.get(e.cron.name)
        const keep = cron !== undefined && cron.definition.schedule === e.cron.schedule && cron.definition.tz === e.cron.tz
        const caused = this.crons.causes('cron', e.cron.name).some((c) => sameDefinition(c.asked!, e.cron) && (keep || e.nextMs === firstAfter(e.cron, c.atMs)))
        if (!caused) return `no cron() call that was not refused asked for ${JSON.stringify(e.cron)} with its next firing at ${e.nextMs}`
        return keep && e.nextMs !== cron.nextMs ? `same times, yet the next firing moved from ${cron.nextMs} to ${e.nextMs}` : null
      }
      case 'cron.paused':
      case 'cron.removed':
        return this.crons.causes(e.type === 'cron.paused' ? 'pauseCron' : 'removeCron', e.name).length === 0 ? 'no such call that was not refused' : null
      case 'cron.resumed': {
        const cron = state.crons.get(e.name)
        if (cron?.paused !== true) return 'the cron is not paused'
        const caused = this.crons.causes('resumeCron', e.name).some((c) => e.nextMs === firstAfter(cron.definition, c.atMs))
        return caused ? null : `no resumeCron() call that was not refused gives its next firing ${e.nextMs} (${cron.definition.schedule} in ${cron.definition.tz})`
      }
      case 'cron.fired':
        return this.fired(state.crons.get(e.name), batch, i)
      case 'job.created': {
        const key = e.job.identityKey
        if (key?.startsWith('cron:') !== true) return null
        if (this.keys.has(key)) return `firing ${key} stored twice`
        this.keys.add(key)
        const [, name, iso] = /^cron:([^:]+):(.+)$/.exec(key) ?? []
        const claimed = batch.slice(i + 1).some((f) => f.type === 'cron.fired' && f.name === name && f.fired.includes(Date.parse(iso!)))
        return claimed ? null : `job ${e.job.uuid} with key ${key}, but no cron.fired of its batch fired that time`
      }
      default:
        return null
    }
  }

  private fired(cron: CronRecord | undefined, batch: readonly WharfEvent[], i: number): string | null {
    const e = batch[i] as Extract<WharfEvent, { type: 'cron.fired' }>
    if (cron === undefined || cron.paused || cron.nextMs === null) return `the cron is ${cron === undefined ? 'not defined' : cron.paused ? 'paused' : 'done firing'}`
    const def = cron.definition
    const from = cron.nextMs
    if (from > e.at) return `it fired before its next firing at ${from}`
    const due: number[] = []
    for (let t = from; t <= e.at && due.length < CRON_FIRINGS_MAX; t = firstAfter(def, t)) due.push(t)
    const latest = Math.max(from, latestAtOrBefore(def, e.at))
    const allowed = def.catchUp === 'all' ? [due] : def.catchUp === 'one' || latest === e.at ? [[latest]] : [[], [latest]]
    if (!allowed.some((times) => times.join() === e.fired.join())) return `catchUp '${def.catchUp}' from ${from} to ${e.at}: fired [${e.fired}], expected ${allowed.map((a) => `[${a}]`).join(' or ')}`
    if (e.nextMs !== firstAfter(def, e.at)) return `next firing ${e.nextMs}, expected ${firstAfter(def, e.at)}`
    this.crons.fired += e.fired.length
    return this.jobsOf(def, batch, i)
  }

  /** The jobs stored in the batch for `def`'s firings: one per time, as the definition says. */
  private jobsOf(def: CronDefinition, batch: readonly WharfEvent[], i: number): string | null {
    const e = batch[i] as Extract<WharfEvent, { type: 'cron.fired' }>
    const prefix = `cron:${def.name}:`
    const specs = batch.slice(0, i).flatMap((f) => (f.type === 'job.created' && f.job.identityKey?.startsWith(prefix) === true ? [f.job] : []))
    const keys = specs.map((s) => s.identityKey)
    const want = e.fired.map((t) => `${prefix}${new Date(t).toISOString()}`)
    if (keys.join() !== want.join()) return `stored jobs with keys [${keys}], expected [${want}]`
    const expected = { model: def.job.model, method: def.job.method, records: def.job.records, args: def.job.args, priority: def.job.priority, maxRetries: def.job.maxRetries, channel: this.crons.channelOf(def), eta: null, graphUuid: null, dependsOn: [], createdAt: e.at }
    for (const spec of specs) {
      const got = { model: spec.model, method: spec.method, records: spec.records, args: spec.args, priority: spec.priority, maxRetries: spec.maxRetries, channel: normalizeChannelName(spec.channel), eta: spec.eta, graphUuid: spec.graphUuid, dependsOn: spec.dependsOn, createdAt: spec.createdAt }
      if (JSON.stringify(got) !== JSON.stringify(expected)) return `the job of ${spec.identityKey} is ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`
    }
    return null
  }
}
