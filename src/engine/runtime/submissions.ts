// What a tick decides: API calls, each with a caller waiting for its answer, and handler
// outcomes, which nobody awaits. Both wait here in order until a tick takes a bounded share of
// them (core/limits.ts bounds a tick's batch); the calls' callers are answered only once the
// tick's batch is committed, and refused if it is lost.

import type { Command } from '../core/commands.js'
import type { DecideNote } from '../core/decide.js'
import { BATCH_DONE_EVENTS_MAX, TICK_CALL_EVENTS_MAX, TICK_OUTCOMES_MAX } from '../core/limits.js'
import type { State } from '../core/state.js'

/** Turns a decision into what the caller's promise resolves with once it is committed (a static
 * function, so a submission costs no closure of its own). It runs right after the command's
 * events are applied, before later commands and the dispatch of the same tick: an enqueue
 * answers with the jobs as it stored them, even if they start in that tick. */
export type ResultOf<T> = (note: DecideNote, command: Command, state: State) => T

/** An API call and its caller. */
export interface Submission {
  command: Command
  resolve: ((value: unknown) => void) | null
  reject: ((error: unknown) => void) | null
  result: ResultOf<unknown> | null
}

const NO_RESULT: ResultOf<undefined> = () => undefined

/** A ResultOf that threw: its caller is rejected with the error once the tick is committed. */
class AnswerFailed {
  constructor(readonly error: unknown) {}
}

// One shared executor captures the resolvers: no closure per call on the enqueue hot path.
let capturedResolve: ((value: unknown) => void) | null = null
let capturedReject: ((error: unknown) => void) | null = null
function captureResolvers(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve as (value: unknown) => void
  capturedReject = reject
}

/** The calls one tick took, and what their callers get once its batch is committed (filled by
 * CallQueue.answer while the core decides). Several ticks' calls can wait for their batches at
 * once (appends are pipelined): each keeps its own. */
export interface TakenCalls {
  readonly submissions: Submission[]
  readonly answers: unknown[]
}

/** The error a caller gets for this answer of `answers` (its ResultOf threw), or undefined. */
export function answerFailure(answer: unknown): { error: unknown } | undefined {
  return answer instanceof AnswerFailed ? answer : undefined
}

const NO_CALLS: TakenCalls = Object.freeze({ submissions: [], answers: [] })

/** API calls: queued, taken by a tick, answered once that tick is committed. */
export class CallQueue {
  /** Not taken by a tick yet, in order. */
  private waiting: Submission[] = []
  /** The calls of the tick being decided: where answer() writes. */
  private current: TakenCalls = NO_CALLS

  /** How many calls wait for a tick. */
  get length(): number {
    return this.waiting.length
  }

  /** The calls not taken yet, in order (a tick looks at them before it takes any). */
  peek(): readonly Submission[] {
    return this.waiting
  }

  /** Queue a command; the promise settles once a tick has decided it and answered (see ResultOf). */
  submit<T>(command: Command, result: ResultOf<T> | undefined): Promise<T> {
    const promise = new Promise<T>(captureResolvers)
    this.waiting.push({ command, resolve: capturedResolve!, reject: capturedReject!, result: result ?? NO_RESULT })
    capturedResolve = capturedReject = null
    return promise
  }

  /** This tick's API calls, in order, while their events fit in TICK_CALL_EVENTS_MAX; the first
   * always fits (limits.ts asserts it), so every call is decided in some tick. */
  take(): TakenCalls {
    const queue = this.waiting
    let events = 0
    let taken = 0
    while (taken < queue.length) {
      events += eventsBound(queue[taken]!.command)
      if (taken > 0 && events > TICK_CALL_EVENTS_MAX) break
      taken++
    }
    this.waiting = taken === queue.length ? [] : queue.slice(taken)
    const submissions = taken === queue.length ? queue : queue.slice(0, taken)
    this.current = { submissions, answers: new Array(submissions.length) }
    return this.current
  }

  /** runTick's afterCommand: the caller's answer, computed on the state right after its command
   * (a ResultOf that throws rejects that caller only, once the tick is committed). */
  readonly answer = (index: number, note: DecideNote, state: State): void => {
    const { submissions, answers } = this.current
    const submission = submissions[index]!
    if (submission.resolve === null || (note !== undefined && 'error' in note)) return
    try {
      answers[index] = submission.result!(note, submission.command, state)
    } catch (error) {
      answers[index] = new AnswerFailed(error)
    }
  }

  /** These calls' tick is committed; their answers come later (TickAnswers). */
  release(calls: TakenCalls): void {
    if (this.current === calls) this.current = NO_CALLS
  }

  /** A tick's batch is committed: each of its callers gets its answer, or the core's refusal. */
  answerTaken(calls: TakenCalls, notes: readonly DecideNote[]): void {
    if (this.current === calls) this.current = NO_CALLS
    const { submissions, answers } = calls
    for (let i = 0; i < submissions.length; i++) {
      const submission = submissions[i]!
      if (submission.resolve === null) continue
      const note = notes[i]
      const answer = answers[i]
      if (note !== undefined && 'error' in note) submission.reject!(note.error)
      else if (answer instanceof AnswerFailed) submission.reject!(answer.error)
      else submission.resolve(answer)
    }
  }

  /** A batch was lost: its callers get the log's error, and nothing it decided. */
  refuse(submissions: readonly Submission[], error: unknown): void {
    this.current = NO_CALLS
    for (const submission of submissions) submission.reject?.(error)
  }

  /** The engine failed: every caller, taken by a tick whose batch is not committed (`taken`) or
   * still waiting, gets why. (A promise already settled ignores this.) */
  refuseAll(error: unknown, taken: readonly TakenCalls[]): void {
    for (const calls of taken) for (const submission of calls.submissions) submission.reject?.(error)
    for (const submission of this.current.submissions) submission.reject?.(error)
    this.current = NO_CALLS
    for (const submission of this.waiting.splice(0)) submission.reject?.(error)
  }
}

/** Handler outcomes: internal commands nobody awaits, decided before the tick's API calls. */
export class OutcomeQueue {
  private waiting: Command[] = []
  /** Outcomes of a tick whose append failed: decided again by the next tick. */
  private parked: Command[] = []

  /** How many outcomes wait for a tick (parked ones aside). */
  get length(): number {
    return this.waiting.length
  }

  push(command: Command): void {
    this.waiting.push(command)
  }

  /** The outcomes waiting (parked ones aside), in order, without taking them: the array only
   * grows until the next take(). */
  peek(): readonly Command[] {
    return this.waiting
  }

  /** Outcomes of a lost batch wait to be decided again. */
  get hasParked(): boolean {
    return this.parked.length > 0
  }

  /**
   * This tick's handler outcomes, parked ones first: at most TICK_OUTCOMES_MAX, so that with
   * the calls and starts a tick's batch stays bounded (core/limits.ts). The rest wait in order.
   */
  take(): Command[] {
    const all = this.parked.length === 0 ? this.waiting : this.parked.concat(this.waiting)
    this.parked = []
    this.waiting = all.length > TICK_OUTCOMES_MAX ? all.slice(TICK_OUTCOMES_MAX) : []
    return all.length > TICK_OUTCOMES_MAX ? all.slice(0, TICK_OUTCOMES_MAX) : all
  }

  /** Outcomes are facts, not requests: those of a lost batch go to the next tick. */
  park(outcomes: Command[]): void {
    this.parked = outcomes
  }

  /** The engine failed: no tick will decide what waits. */
  clear(): void {
    this.waiting = []
  }
}

/** At most how many events deciding `command` appends (a refused enqueue appends none). */
function eventsBound(command: Command): number {
  switch (command.type) {
    case 'enqueue':
      return command.jobs.length + (command.joins?.length ?? 0)
    case 'batch':
      return command.jobs.length + 1
    // Each job recovered, and cancelled when it waits on parents all cancelled (with its batch's
    // completion).
    case 'recover':
      return command.limit * (2 + BATCH_DONE_EVENTS_MAX)
    // jobs.restored first, when part of a graph in history is taken; and the completions of the
    // batches whose failed jobs go (a job cancelled or set done may complete its batch).
    case 'remove':
      return 2 + command.uuids.length * BATCH_DONE_EVENTS_MAX
    case 'purge':
      return 2 + (command.state === 'failed' ? command.limit * BATCH_DONE_EVENTS_MAX : 0)
    case 'cancel':
    case 'setDone':
      return 2 + BATCH_DONE_EVENTS_MAX
    default:
      return 1
  }
}
