// Reads through the public API — job(), jobs(), graph(), stats() — checked against the durable
// log, which holds live jobs in memory and finished ones in history (DESIGN.md §5–§6):
//  - committed: a job() made at any moment (a write in flight, about to fail, or a crash ahead)
//    answers the job as the durable log held it at some point between the call and the answer:
//    never a state that a failed write rolled back, never one not yet written;
//  - exact: between steps, with nothing in flight, jobs() pages (any limit, either order), its
//    filters, graph() and stats() show exactly the jobs in memory and in history, each as the log
//    says — and no job autovacuum removed.

import { JOB_STATES } from '../../src/engine/core/events.js'
import type { JobRecord } from '../../src/engine/core/state.js'
import { toJobView, type JobView } from '../../src/engine/core/view.js'
import type { Wharf } from '../../src/engine/api/wharf.js'
import { AuditError, describeError } from './auditor.js'
import { firstDifference } from './checks.js'
import type { Incarnation } from './incarnation.js'
import type { Rng } from './prng.js'
import type { SimStore } from './store.js'

const PAGE_LIMITS = [2, 7, 50, 1000] as const
const JOBS_LIMIT_MAX = 10_000
/** job() of this many uuids autovacuum removed, per exact audit. */
const VACUUMED_PROBES = 3

interface PendingRead {
  uuid: string
  incarnation: number
  /** The job as the durable log held it from the call on (views as keys; 'none' when absent). */
  seen: Set<string>
  latest: JobView | undefined
}

/** A view with its edge lists sorted (their order is free: API.md). */
function canonical(view: JobView | undefined): JobView | undefined {
  if (view === undefined) return undefined
  return { ...view, dependsOn: [...view.dependsOn].sort(), dependents: [...view.dependents].sort() }
}

function keyOf(view: JobView | undefined): string {
  return view === undefined ? 'none' : JSON.stringify(canonical(view))
}

function describeView(view: JobView | undefined): string {
  return view === undefined ? 'no job' : `a ${view.state} job`
}

function viewOf(job: JobRecord | undefined): JobView | undefined {
  return job === undefined ? undefined : toJobView(job)
}

const byUuid = (a: { uuid: string }, b: { uuid: string }): number => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0)

export interface ReadHost {
  problem(check: string): void
  note(line: string): void
}

export class ReadAudit {
  private pending: PendingRead[] = []
  /** Answers checked: job() calls, and pages and graphs of the exact audits. */
  checked = 0

  constructor(
    private readonly store: SimStore,
    private readonly host: ReadHost,
  ) {
    store.onWrite = () => this.written()
  }

  /** job(uuid), not awaited: its answer must be a view the durable log held meanwhile. */
  readJob(inc: Incarnation, uuid: string): void {
    const latest = viewOf(this.store.jobNow(uuid))
    const read: PendingRead = { uuid, incarnation: inc.n, seen: new Set([keyOf(latest)]), latest }
    this.pending.push(read)
    this.host.note(`read job(${uuid})`)
    inc.wharf.job(uuid).then(
      (view) => this.answered(read, inc, view),
      (error: unknown) => {
        this.drop(read)
        if (!inc.handle.dead) this.host.problem(`job(${uuid}) rejected: ${describeError(error)}`)
      },
    )
  }

  /** A process died: its reads answer nobody. */
  crashed(incarnation: number): void {
    this.pending = this.pending.filter((r) => r.incarnation !== incarnation)
  }

  /**
   * With nothing in flight the live state is the durable one (checkReplay says so): every read
   * must show exactly the jobs the durable log holds.
   */
  async auditExact(wharf: Wharf, rng: Rng): Promise<void> {
    const expected = [...this.store.everyJob().jobs.values()].sort(byUuid)
    compareViews('jobs(), every page', await this.everyPage(wharf, rng.pick(PAGE_LIMITS), rng.chance(0.5)), expected)
    const stats = wharf.stats().states
    for (const state of JOB_STATES) {
      const want = expected.filter((j) => j.state === state)
      compareViews(`jobs({ state: '${state}' })`, await wharf.jobs({ state, limit: JOBS_LIMIT_MAX }), want)
      if (stats[state] !== want.length) throw new AuditError(`stats().states.${state} is ${stats[state]}, the log holds ${want.length}`)
    }
    const probe = expected.length === 0 ? undefined : rng.pick(expected)
    if (probe !== undefined) await this.auditFilters(wharf, probe, expected)
    for (const uuid of [...this.store.vacuumed.keys()].slice(-VACUUMED_PROBES)) {
      const view = await wharf.job(uuid)
      if (view !== undefined) throw new AuditError(`job(${uuid}) answers a ${view.state} job, which autovacuum removed`)
    }
    this.checked += JOB_STATES.length + 1
  }

  /** Filters on one job's channel, model, key and graph; graph() of that graph. */
  private async auditFilters(wharf: Wharf, probe: JobRecord, expected: readonly JobRecord[]): Promise<void> {
    const channel = probe.channel.name
    compareViews(`jobs({ channel: '${channel}' })`, await wharf.jobs({ channel, limit: JOBS_LIMIT_MAX }), expected.filter((j) => j.channel.name === channel))
    compareViews(`jobs({ model: '${probe.model}' }), newest first`, (await wharf.jobs({ model: probe.model, order: 'desc', limit: JOBS_LIMIT_MAX })).reverse(), expected.filter((j) => j.model === probe.model))
    const key = probe.identityKey
    if (key !== null) compareViews(`jobs({ identityKey: '${key}' })`, await wharf.jobs({ identityKey: key, limit: JOBS_LIMIT_MAX }), expected.filter((j) => j.identityKey === key))
    const graphUuid = probe.graphUuid
    if (graphUuid === null) return
    const members = expected.filter((j) => j.graphUuid === graphUuid)
    compareViews(`jobs({ graphUuid: '${graphUuid}' })`, await wharf.jobs({ graphUuid, limit: JOBS_LIMIT_MAX }), members)
    const graph = await wharf.graph(graphUuid)
    compareViews(`graph('${graphUuid}')`, [...graph.jobs].sort(byUuid), members)
    const edges = graph.edges.map(([p, c]) => `${p}>${c}`).sort()
    const want = members.flatMap((j) => j.parents.map((p) => `${p.uuid}>${j.uuid}`)).sort()
    if (edges.join() !== want.join()) throw new AuditError(`graph('${graphUuid}') has edges [${edges}], the log [${want}]`)
    this.checked += 2
  }

  /** Every job, page after page (the next page starts after the last uuid), oldest first. */
  private async everyPage(wharf: Wharf, limit: number, desc: boolean): Promise<JobView[]> {
    const listed: JobView[] = []
    for (;;) {
      const after = listed.at(-1)?.uuid
      const page = await wharf.jobs({ limit, order: desc ? 'desc' : 'asc', ...(after === undefined ? {} : { after }) })
      listed.push(...page)
      this.checked++
      if (page.length < limit) break
      if (listed.length > JOBS_LIMIT_MAX) throw new AuditError(`jobs() pages of ${limit} never end (${listed.length} jobs listed)`)
    }
    return desc ? listed.reverse() : listed
  }

  private written(): void {
    for (const read of this.pending) {
      read.latest = viewOf(this.store.jobNow(read.uuid))
      read.seen.add(keyOf(read.latest))
    }
  }

  private answered(read: PendingRead, inc: Incarnation, view: JobView | undefined): void {
    this.drop(read)
    if (inc.handle.dead) return
    this.checked++
    if (read.seen.has(keyOf(view))) return
    const diff = view === undefined || read.latest === undefined ? '' : `; first difference ${firstDifference(canonical(view), canonical(read.latest), '')}`
    this.host.problem(`job(${read.uuid}) answered ${describeView(view)}, which the durable log never held between the call and the answer (it holds ${describeView(read.latest)}${diff})`)
  }

  private drop(read: PendingRead): void {
    const i = this.pending.indexOf(read)
    if (i >= 0) this.pending.splice(i, 1)
  }
}

/** The same jobs in the same (uuid) order, each view exactly as the durable log has it. */
function compareViews(what: string, have: readonly JobView[], want: readonly JobRecord[]): void {
  const diff = firstDifference(have.map((v) => canonical(v)), want.map((j) => canonical(toJobView(j))), '')
  if (diff !== null) throw new AuditError(`${what} differs from the durable log: ${diff}`)
}
