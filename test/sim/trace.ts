// What a failed run prints: the seed, the one command that reproduces it, the check that failed,
// and the last decisions that led there (a ring buffer: a long run keeps only its tail).

export const TRACE_KEEP = 400

export class Trace {
  private readonly lines: string[] = []
  private dropped = 0
  step = 0

  constructor(private readonly originMs: () => number) {}

  add(line: string): void {
    if (this.lines.length >= TRACE_KEEP) {
      this.lines.shift()
      this.dropped++
    }
    this.lines.push(`#${this.step} t+${(this.originMs() / 1000).toFixed(3)}s ${line}`)
  }

  tail(n: number): string[] {
    const shown = this.lines.slice(-n)
    const hidden = this.dropped + this.lines.length - shown.length
    return hidden > 0 ? [`… ${hidden} earlier decisions`, ...shown] : shown
  }
}

/** A check failed. Carries everything needed to reproduce and read the failure. */
export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly check: string,
    readonly trace: string[],
  ) {
    super(`seed ${seed} failed at step ${step}: ${check}`)
    this.name = 'SimFailure'
  }

  /** Multi-line report: what failed, how to reproduce it, the last decisions. */
  report(): string {
    return [
      `SIMULATION FAILED: seed ${this.seed}, step ${this.step}`,
      `  ${this.check}`,
      `reproduce: ${reproduceCommand(this.seed)}`,
      `last decisions:`,
      ...this.trace.map((l) => `  ${l}`),
    ].join('\n')
  }
}

export function reproduceCommand(seed: number): string {
  return `WHARF_SIM_SEED=${seed} npm run sim`
}
