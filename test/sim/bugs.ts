// Deliberately broken variants, to prove the simulator can fail (a checker that never fires
// proves nothing). Each is injected from outside — a storage wrapper or a patch on one engine
// instance — so no engine file changes. Never used outside tests and `WHARF_SIM_BUG=<name> npm run sim`.

import type { Command } from '../../src/engine/core/commands.js'
import { VACUUM_BATCH } from '../../src/engine/core/limits.js'
import type { State } from '../../src/engine/core/state.js'
import type { JobView } from '../../src/engine/core/view.js'
import { VACUUM_INTERVAL_MS, type Engine } from '../../src/engine/runtime/engine.js'
import { vacuumCandidates } from '../../src/engine/runtime/history-io.js'
import type { HistoryStore } from '../../src/storage/history.js'
import { breakDecisions, DECISION_BUG_DESCRIPTIONS, DECISION_BUGS, type DecisionBug } from './decision-bugs.js'

export const SIM_BUGS = ['lose-acked-write', 'no-rollback', 'pipeline-acks-lost-ticks', 'capacity-off-by-one', 'vacuum-ignores-channel-retention', 'vacuum-splits-graphs', 'uncommitted-reads', ...DECISION_BUGS, 'cron-skips-missed-firings'] as const
export type SimBug = (typeof SIM_BUGS)[number]
/** The bugs breakEngine() plants in each opened engine (the others live in storage). */
export const ENGINE_BUGS: readonly SimBug[] = ['no-rollback', 'pipeline-acks-lost-ticks', 'capacity-off-by-one', 'vacuum-ignores-channel-retention', 'vacuum-splits-graphs', 'uncommitted-reads', ...DECISION_BUGS, 'cron-skips-missed-firings']
/** The bugs whose runs need crons (the others run without, as they did before crons existed). */
export const CRON_BUGS: readonly SimBug[] = ['cron-skips-missed-firings']

export const BUG_DESCRIPTIONS: Readonly<Record<SimBug, string>> = {
  'lose-acked-write': 'storage: a crash also loses the last batch that acknowledged a call (a missing fsync)',
  'no-rollback': 'engine: a failed append rejects its callers but keeps their events in the live state',
  'pipeline-acks-lost-ticks': 'engine: a failed append loses only its own tick; the callers of the ticks in flight behind it are answered though their batches were never written',
  'capacity-off-by-one': 'engine: the scheduler lets one job more than capacity start on every channel',
  'vacuum-ignores-channel-retention': "engine: autovacuum while running keeps every job removeAfterDays, whatever its channel's remove_after_days says",
  'vacuum-splits-graphs': 'engine: autovacuum while running judges each job alone, so a graph loses its old jobs while a recent one stays',
  'uncommitted-reads': 'engine: reads answer from the live state at once, even while the batch that changed it is still being written (and may fail)',
  ...DECISION_BUG_DESCRIPTIONS,
  'cron-skips-missed-firings': "engine: a cron fires only a firing due at the tick's very time; those it missed (a downtime, a lost write) are skipped, whatever its catchUp",
}

// The engine's private members these patches reach, typed here rather than as `any`.
interface EngineInternals {
  decideTick: (...args: unknown[]) => unknown
  ticking: boolean
  outcomes: unknown[]
  /** (submissions, …, error): the error comes last whatever else the engine passes. */
  rollback: (submissions: { reject: ((e: unknown) => void) | null }[], ...rest: unknown[]) => Promise<void>
  armTimer(): void
  scheduleTick(): void
  wakeWaiters(): void
  read<T>(read: (state: State) => T): Promise<T>
  loseTicks: (ticks: { calls: unknown; out: { notes: unknown } }[], error: unknown) => Promise<void>
  queue: unknown[] & { answerTaken(calls: unknown, notes: unknown): void }
  /** Snapshots and autovacuum (runtime/maintenance.ts): Engine.vacuum and the hourly one call its vacuum. */
  maintenance: { vacuum(): Promise<number>; nextVacuumMs: number; removeAfterDays: number }
}

/** Patch a freshly opened engine (engine-level bugs only). */
export function breakEngine(engine: Engine, bug: SimBug): void {
  const inside = engine as unknown as EngineInternals
  if ((DECISION_BUGS as readonly string[]).includes(bug)) {
    breakDecisions(engine, bug as DecisionBug)
  } else if (bug === 'no-rollback') {
    inside.rollback = async function (this: EngineInternals, submissions, ...rest) {
      const error = rest.at(-1)
      for (const submission of submissions) submission.reject?.(error)
      this.ticking = false
      this.armTimer()
      if (this.queue.length > 0 || this.outcomes.length > 0) this.scheduleTick()
      else this.wakeWaiters()
    }
  } else if (bug === 'pipeline-acks-lost-ticks') {
    const loseTicks = inside.loseTicks
    inside.loseTicks = function (this: EngineInternals, ticks, error) {
      for (const tick of ticks.slice(1)) this.queue.answerTaken(tick.calls, tick.out.notes)
      return loseTicks.call(this, ticks.slice(0, 1), error)
    }
  } else if (bug === 'vacuum-ignores-channel-retention') {
    // The candidates' reader is handed no channel tree: every job gets the default retention.
    vacuumWith(engine, (history, nowMs, days) => vacuumCandidates({ ...engine.state, channels: new Map() } as State, history, nowMs, days, VACUUM_BATCH))
  } else if (bug === 'vacuum-splits-graphs') {
    // The finish-time scan forgets which graph each job belongs to: each is judged alone.
    vacuumWith(engine, (history, nowMs, days) => vacuumCandidates(engine.state, graphless(history), nowMs, days, VACUUM_BATCH))
  } else if (bug === 'cron-skips-missed-firings') {
    // The fires the shell hands the core keep only the times due right now (and their jobs).
    const decideTick = inside.decideTick
    inside.decideTick = function (this: EngineInternals, ...args) {
      const [now, fires] = [args[2] as number, args[3] as Command[] | undefined]
      const onTime = fires?.map((c) => (c.type !== 'fireCron' ? c : { ...c, fired: c.fired.filter((t) => t === now), jobs: c.jobs.filter((_, i) => c.fired[i] === now) }))
      return decideTick.apply(this, [...args.slice(0, 3), onTime])
    }
  } else if (bug === 'uncommitted-reads') {
    inside.read = (read) => Promise.resolve(read(engine.state))
  } else if (bug === 'capacity-off-by-one') {
    // While the core decides a tick, every limit is one higher (only the scheduler's pick reads
    // it); the state is right again afterwards, as if `running >= capacity` had been written
    // `running > capacity`.
    const decideTick = inside.decideTick
    inside.decideTick = function (this: EngineInternals, ...args) {
      const raised = [...engine.state.channels.values()].filter((node) => node.capacity !== null)
      for (const node of raised) node.capacity!++
      try {
        return decideTick.apply(this, args)
      } finally {
        for (const node of raised) node.capacity!--
      }
    }
  }
}

/** Replace the engine's vacuum (the hourly one and any asked for; the one on open ran already). */
function vacuumWith(engine: Engine, candidates: (history: HistoryStore, nowMs: number, days: number) => Promise<JobView[]>): void {
  const maintenance = (engine as unknown as EngineInternals).maintenance
  maintenance.vacuum = async () => {
    maintenance.nextVacuumMs = engine.clock.now() + VACUUM_INTERVAL_MS
    const jobs = await candidates(engine.history, engine.clock.now(), maintenance.removeAfterDays)
    if (jobs.length === 0) return 0
    return engine.submit({ type: 'vacuum', jobs }, (note) => (note !== undefined && 'removed' in note ? note.removed : 0))
  }
}

/** History whose finish-time scan answers every job as if it were in no graph. */
function graphless(history: HistoryStore): HistoryStore {
  return {
    complete: history.complete,
    get: (uuid) => history.get(uuid),
    page: (query) => history.page(query),
    counts: () => history.counts(),
    finishedUpTo: async (atMs, limit, cursor) => (await history.finishedUpTo(atMs, limit, cursor)).map((view) => ({ ...view, graphUuid: null })),
  }
}
