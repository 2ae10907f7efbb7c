// runTick: everything one tick decides, in one pure call (STYLE habit 2b). The engine, the tests
// and the benches all drive the core through it, so the loop that decides, stamps, applies, picks
// and starts exists once. The shell keeps what needs I/O or promises: it reads history before,
// and after, appends the batch, answers callers, aborts and launches what this says.

import { fail } from './assert.js'
import type { Command } from './commands.js'
import { decideInto, type DecideNote } from './decide.js'
import type { CronClock } from './cron.js'
import type { WharfEvent } from './events.js'
import { evolve } from './evolve.js'
import { decideBatchesDone } from './batch.js'
import { CRONS_MAX, TICK_OUTCOMES_MAX, TICK_STARTS_MAX } from './limits.js'
import { pickNext, type RegisteredFunctions } from './schedule.js'
import type { JobRecord, State } from './state.js'
import { WorkerChoice, type Worker } from './workers.js'

/**
 * Called by runTick right after command `index`'s events are applied, before the next command
 * and the dispatch: the state is the one the command produced (an enqueue's jobs as stored,
 * even if the same tick starts them). It must only read the state.
 */
export type CommandApplied = (index: number, note: DecideNote, state: State) => void

/** Called with each scheduling event before it is applied, on the state it was picked from. */
export type PickAudit = (event: WharfEvent, state: State) => void

export interface TickInput {
  /** Handler outcomes: decided first, in order; their notes are not reported (nobody awaits them). */
  outcomes: readonly Command[]
  /** fireCron commands of the crons due (the shell's), decided after the outcomes; at most
   * CRONS_MAX, storing CRON_FIRINGS_MAX jobs in all. Nobody awaits them either. */
  fires?: readonly Command[]
  /** API calls, decided in order after the outcomes, each seeing the one before. */
  commands: readonly Command[]
  nowMs: number
  /** Pick and start what can start (the engine: while running). */
  dispatch: boolean
  /** Which job functions this process has (see schedule.ts); null: all. */
  registered: RegisteredFunctions
  /** A cluster's scheduler: the workers alive (workers.ts) — they, not `registered`, say what may
   * start, and each start names the one that runs it. Absent or null: this process runs it all. */
  workers?: readonly Worker[] | null
  /** The shell's cron clock: the first firing of a definition strictly after a time (null: none
   * ever). A pure function of its arguments; it times each resumeCron by the cron as decided. */
  cronNext?: CronClock | null
  /** Picks this tick may make at most (TICK_STARTS_MAX, or fewer to step a dispatch). */
  startsMax: number
  afterCommand: CommandApplied | null
  /** Tests only (the model test audits every pick); null elsewhere. */
  auditPick: PickAudit | null
}

/** A run a command took out of `started`: its handler must be aborted once the batch is durable. */
export interface AbortedRun {
  uuid: string
  run: number
}

/**
 * What a tick decided, as data. A fresh one per tick when the caller keeps `events` (the engine
 * hands them to the log); otherwise clear() and reuse it.
 */
export class TickOutput {
  /** The batch: every event of the tick in order, stamped with its seq and applied. */
  events: WharfEvent[] = []
  /** notes[i]: what deciding commands[i] said (a refusal, identity matches, counts…). */
  notes: DecideNote[] = []
  /** commands[i]'s events are events[commandFrom[i]] up to events[commandFrom[i + 1]]; the
   * last entry is where the dispatch's events begin. */
  commandFrom: number[] = []
  /** Jobs the dispatch started, in pick order: their handlers launch once the batch is durable. */
  launch: JobRecord[] = []
  /** Runs superseded by a command (cancel, requeue, setDone of a started job), in order. */
  abort: AbortedRun[] = []
  /** The dispatch stopped at startsMax: more may start now, and the next tick should follow at once. */
  cut = false

  clear(): void {
    this.events.length = 0
    this.notes.length = 0
    this.commandFrom.length = 0
    this.launch.length = 0
    this.abort.length = 0
    this.cut = false
  }
}

/**
 * Decide and apply each outcome, then each command (calling afterCommand after each), then, if
 * asked, pick and start until nothing more can start or startsMax picks were made. Each event is
 * stamped seq = state.seq + 1 and applied before the next decision, so every decision sees the
 * ones before it; the events are exactly what the log must hold for a replay to reach this state.
 */
export function runTick(state: State, input: TickInput, out: TickOutput): void {
  if (out.events.length !== 0 || out.notes.length !== 0 || out.commandFrom.length !== 0 || out.launch.length !== 0 || out.abort.length !== 0 || out.cut) {
    fail('runTick needs an empty TickOutput')
  }
  if (input.outcomes.length > TICK_OUTCOMES_MAX) fail(`${input.outcomes.length} outcomes in one tick, more than TICK_OUTCOMES_MAX`)
  if (!(input.startsMax > 0 && input.startsMax <= TICK_STARTS_MAX)) fail(`startsMax ${input.startsMax} outside 1..TICK_STARTS_MAX`)
  const nowMs = input.nowMs
  const events = out.events
  const outcomes = input.outcomes
  for (let i = 0; i < outcomes.length; i++) {
    const from = events.length
    decideInto(state, outcomes[i]!, nowMs, events)
    applyFrom(state, events, from, nowMs)
  }
  const fires = input.fires
  if (fires !== undefined) {
    if (fires.length > CRONS_MAX) fail(`${fires.length} cron firings in one tick, more than CRONS_MAX`)
    for (let i = 0; i < fires.length; i++) {
      const from = events.length
      decideInto(state, fires[i]!, nowMs, events)
      applyFrom(state, events, from, nowMs)
    }
  }
  const commands = input.commands
  const afterCommand = input.afterCommand
  for (let i = 0; i < commands.length; i++) {
    const from = events.length
    out.commandFrom.push(from)
    const note = decideInto(state, commands[i]!, nowMs, events, input.cronNext)
    out.notes.push(note)
    if (note !== undefined) {
      // A refusal changes nothing: the caller is told, and the log holds nothing of it.
      if ('error' in note && events.length !== from) fail(`a refused ${commands[i]!.type} decided ${events.length - from} events`)
      if ('superseded' in note) out.abort.push(note.superseded)
    }
    applyFrom(state, events, from, nowMs)
    if (afterCommand !== null) afterCommand(i, note, state)
  }
  out.commandFrom.push(events.length)
  if (input.dispatch) dispatch(state, input, out)
}

/** Pick, apply, and start each job enqueued, as long as the scheduler has something and the
 * bound allows; cut says the bound stopped it. */
function dispatch(state: State, input: TickInput, out: TickOutput): void {
  const { nowMs, startsMax, auditPick } = input
  const events = out.events
  // One start command for the whole tick: decide reads it and keeps nothing.
  const start: { type: 'start'; uuid: string; node?: string } = { type: 'start', uuid: '' }
  const workers = input.workers === undefined || input.workers === null ? null : new WorkerChoice(state, input.workers)
  for (let picks = 0; ; picks++) {
    if (picks === startsMax) {
      out.cut = true
      return
    }
    const event = pickNext(state, nowMs, workers === null ? input.registered : workers.registered)
    if (event === null) return
    if (auditPick !== null) auditPick(event, state)
    events.push(event)
    event.seq = state.seq + 1
    evolve(state, event)
    if (event.type === 'job.enqueued') {
      const from = events.length
      start.uuid = event.uuid
      if (workers !== null) start.node = workers.assign(state.jobs.get(event.uuid)!)
      decideInto(state, start, nowMs, events)
      applyFrom(state, events, from, nowMs)
      if (workers !== null) workers.took(start.node!)
      out.launch.push(state.jobs.get(event.uuid)!)
    }
  }
}

/**
 * Stamp and apply the events decided since `from` — then, if they completed a batch, what its
 * completion decides (batch.done, its onDone jobs), in the same decision, so that the completion
 * and the onDone jobs are in the same log record as the event that completed it.
 */
function applyFrom(state: State, events: WharfEvent[], from: number, nowMs: number): void {
  stampAndApply(state, events, from)
  if (state.batchesCompleting.size === 0) return
  const at = events.length
  decideBatchesDone(state, nowMs, events)
  stampAndApply(state, events, at)
}

function stampAndApply(state: State, events: WharfEvent[], from: number): void {
  for (let i = from; i < events.length; i++) {
    const event = events[i]!
    event.seq = state.seq + 1
    evolve(state, event)
  }
}
