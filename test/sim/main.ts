// `npm run sim`: run the seeded simulator over many seeds, or exactly one.
//   WHARF_SIM_SEED=<n>      the first seed (default: a fixed base); alone, that seed only —
//                           the reproduction a failure prints
//   WHARF_SIM_SEEDS=<n>     how many consecutive seeds (default 200; 1 when WHARF_SIM_SEED is set)
//   WHARF_SIM_STEPS=<n>     safety-phase steps per seed (default 250)
//   WHARF_SIM_TRACE=<n>     decisions printed with a failure (default 40)
//   WHARF_SIM_BUG=<name>    run against a deliberately broken variant (see bugs.ts)
// Exits 1 on the first failing seed, after printing it.

import { BUG_DESCRIPTIONS, SIM_BUGS, type SimBug } from './bugs.js'
import { runSimulation, type SimStats } from './simulator.js'
import { toSeed } from './prng.js'

export const DEFAULT_BASE_SEED = 20_260_101
export const DEFAULT_SEEDS = 200

function intFromEnv(name: string): number | undefined {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n)) throw new RangeError(`${name} must be an integer, got ${JSON.stringify(raw)}`)
  return n
}

async function main(): Promise<number> {
  const first = intFromEnv('WHARF_SIM_SEED')
  const base = first ?? DEFAULT_BASE_SEED
  const count = intFromEnv('WHARF_SIM_SEEDS') ?? (first === undefined ? DEFAULT_SEEDS : 1)
  const steps = intFromEnv('WHARF_SIM_STEPS')
  const traceLines = intFromEnv('WHARF_SIM_TRACE')
  const bug = process.env.WHARF_SIM_BUG as SimBug | undefined
  if (bug !== undefined && !SIM_BUGS.includes(bug)) throw new RangeError(`WHARF_SIM_BUG must be one of ${SIM_BUGS.join(', ')}`)
  if (bug !== undefined) console.log(`running against a broken variant: ${BUG_DESCRIPTIONS[bug]}`)

  const total = { seeds: 0, steps: 0, jobs: 0, events: 0, acked: 0, rejected: 0, lost: 0, failedAppends: 0, lateFailures: 0, failedMidPipeline: 0, failedReads: 0, crashes: 0, interruptedOpens: 0, failedOpens: 0, lostAtCrash: 0, writtenAtCrash: 0, snapshots: 0, vacuums: 0, vacuumed: 0, removed: 0, checkedGone: 0, reads: 0, picks: 0, keyed: 0, retries: 0, cancels: 0, orphans: 0, removals: 0, cronCalls: 0, cronFired: 0, simulatedMs: 0, maxLivenessMs: 0, realMs: 0 }
  const add = (s: SimStats): void => {
    total.seeds++
    total.steps += s.steps
    total.jobs += s.jobs
    total.events += s.events
    total.acked += s.calls.acked
    total.rejected += s.calls.rejected
    total.lost += s.calls.lost
    total.failedAppends += s.faults.failedAppends
    total.lateFailures += s.faults.lateFailures
    total.failedMidPipeline += s.faults.failedMidPipeline
    total.failedReads += s.faults.failedReads
    total.crashes += s.faults.crashes
    total.interruptedOpens += s.faults.interruptedOpens
    total.failedOpens += s.faults.failedOpens
    total.lostAtCrash += s.faults.lostAtCrash
    total.writtenAtCrash += s.faults.writtenAtCrash
    total.snapshots += s.faults.snapshots
    total.vacuums += s.history.vacuums
    total.vacuumed += s.history.vacuumed
    total.removed += s.history.removed
    total.checkedGone += s.history.checkedGone
    total.reads += s.history.reads
    total.picks += s.rules.picks
    total.keyed += s.rules.keyed
    total.retries += s.rules.retries
    total.cancels += s.rules.cancels
    total.orphans += s.rules.orphans
    total.removals += s.rules.removals
    total.cronCalls += s.crons.calls
    total.cronFired += s.crons.fired
    total.simulatedMs += s.simulatedMs
    total.maxLivenessMs = Math.max(total.maxLivenessMs, s.livenessMs)
    total.realMs += s.realMs
  }
  for (let i = 0; i < count; i++) {
    const seed = toSeed(base + i)
    const result = await runSimulation(seed, { ...(steps === undefined ? {} : { steps }), ...(traceLines === undefined ? {} : { traceLines }), bug: bug ?? null })
    add(result.stats)
    if (count === 1 || result.failure !== null) {
      const s = result.stats
      console.log(`seed ${seed}: ${s.steps} steps, ${s.jobs} jobs, ${s.events} events, ${s.incarnations} incarnations, fingerprint ${result.fingerprint}, ${s.realMs.toFixed(0)} ms`)
    }
    if (result.failure !== null) {
      console.error(result.failure.report())
      printSummary(total, total.seeds - 1)
      return 1
    }
  }
  printSummary(total, total.seeds)
  return 0
}

function printSummary(t: Record<string, number>, passed: number): void {
  console.log(
    [
      `wharf sim: ${t.seeds} seeds run, ${passed} passed`,
      `  steps ${t.steps}, jobs ${t.jobs}, events ${t.events}, simulated ${(t.simulatedMs! / 3_600_000).toFixed(1)} h, real ${(t.realMs! / 1000).toFixed(1)} s`,
      `  longest liveness phase: ${(t.maxLivenessMs! / 60_000).toFixed(1)} simulated minutes`,
      `  calls: ${t.acked} acknowledged, ${t.rejected} rejected, ${t.lost} lost in crashes`,
      `  faults: ${t.failedAppends} failed appends (${t.lateFailures} after a few turns, ${t.failedMidPipeline} of them with a tick waiting behind), ` +
        `${t.failedReads} failed reads of an open, ${t.crashes} crashes (+${t.interruptedOpens} during open, ${t.failedOpens} failed opens), ` +
        `in-flight writes at a crash: ${t.writtenAtCrash} kept, ${t.lostAtCrash} lost; ${t.snapshots} snapshots`,
      `  history: ${t.vacuumed} jobs vacuumed by ${t.vacuums} vacuums (${t.checkedGone} graphs or lone jobs checked gone once due), ${t.removed} removed by remove(), ${t.reads} read answers checked`,
      `  rules judged: ${t.picks} picks (priority, etas, dependencies), ${t.keyed} keyed jobs stored, ${t.retries} retry delays, ${t.cancels} cancel cascades, ${t.orphans} jobs sent back to waiting on cancelled parents, ${t.removals} removals`,
      `  crons: ${t.cronCalls} calls, ${t.cronFired} firings judged`,
    ].join('\n'),
  )
}

process.exitCode = await main()
