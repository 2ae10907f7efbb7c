// The shell's one call into the core per tick. runTick reads its input and keeps nothing, so one
// input object and one command array serve every tick: deciding allocates only the output, which
// the tick hands on (its events go to the log).

import type { Command } from '../core/commands.js'
import { TICK_STARTS_MAX } from '../core/limits.js'
import type { RegisteredFunctions } from '../core/schedule.js'
import type { State } from '../core/state.js'
import type { Worker } from '../core/workers.js'
import type { CronClock } from '../core/cron.js'
import { runTick, TickOutput, type CommandApplied, type TickInput } from '../core/tick.js'
import { emptyKeepingRoom } from '../core/arrays.js'

const NO_COMMANDS: readonly Command[] = Object.freeze([])

export class TickDecider {
  /** The commands of the taken submissions, for runTick (emptied after it). */
  private readonly commands: Command[] = []
  /** Reused by every tick: runTick reads it and keeps nothing. */
  private readonly input: TickInput

  /** `afterCommand`: how each caller's answer is taken, right after its command is applied;
   * `cronNext`: the cron clock that times each resumeCron (TickInput.cronNext). */
  constructor(registered: RegisteredFunctions, afterCommand: CommandApplied, cronNext: CronClock) {
    this.input = {
      outcomes: [], commands: this.commands, nowMs: 0, dispatch: false, registered,
      startsMax: TICK_STARTS_MAX, afterCommand, auditPick: null, cronNext,
    }
  }

  /** Decide the outcomes, then the calls, then (if `dispatch`) what starts, applying each to `state`. */
  decide(state: State, outcomes: readonly Command[], calls: readonly { command: Command }[], nowMs: number, dispatch: boolean, fires: readonly Command[] = NO_COMMANDS, workers: readonly Worker[] | null = null): TickOutput {
    const commands = this.commands
    for (let i = 0; i < calls.length; i++) commands.push(calls[i]!.command)
    const input = this.input
    input.outcomes = outcomes
    input.fires = fires
    input.nowMs = nowMs
    input.dispatch = dispatch
    input.workers = workers
    const out = new TickOutput()
    try {
      runTick(state, input, out)
    } finally {
      // Keep no command alive past its tick.
      emptyKeepingRoom(commands)
      input.outcomes = NO_COMMANDS
      input.fires = NO_COMMANDS
      input.workers = null
    }
    return out
  }
}
