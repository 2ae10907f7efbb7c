// Handler progress (JobContext.progress): the check of what a handler reports, and the coalescing
// of one try's reports into few log writes. A handler may report in a tight loop; each write is an
// event in the log, so at most one is written per PROGRESS_INTERVAL_MS of clock time per try: the
// first at once, the latest held until the interval has passed (the engine's one timer wakes for
// it) or the try ends, whichever comes first. A value equal to the last written is not written.

import { cutText } from '../core/cut-text.js'
import { describe } from '../core/describe.js'
import { PROGRESS_INTERVAL_MS, PROGRESS_MESSAGE_LENGTH_MAX } from '../core/limits.js'
import { frozenProgress, type JobProgress } from '../core/view.js'
import { InvalidPropertyError } from '../errors.js'

/**
 * The progress a handler reported, checked: `fraction` a finite number from 0 to 1 (else
 * InvalidPropertyError, thrown in the handler); `message` a string, cut at
 * PROGRESS_MESSAGE_LENGTH_MAX characters (a long message is not worth failing a job for), or
 * absent (null).
 */
export function checkProgress(fraction: unknown, message: unknown): JobProgress {
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
    throw new InvalidPropertyError(`progress(): fraction must be a finite number from 0 to 1, got ${describe(fraction)}`)
  }
  if (message !== undefined && message !== null && typeof message !== 'string') {
    throw new InvalidPropertyError(`progress(): message must be a string (or left out), got ${describe(message)}`)
  }
  // -0 would be written as 0 by JSON but kept by tagged JSON: one zero only.
  return frozenProgress(fraction === 0 ? 0 : fraction, typeof message === 'string' ? cutText(message, PROGRESS_MESSAGE_LENGTH_MAX) : null)
}


/** Where a JobContext sends what its handler reports (the runner's attempt of a stored job). */
export interface ProgressSink {
  report(progress: JobProgress): void
}

/** One try's progress writes: what was written when, and the latest value waiting for its turn. */
export class ProgressGate {
  private written: JobProgress | null = null
  private writtenAtMs = Number.NEGATIVE_INFINITY
  /** Reported since the last write, within its interval: written when the interval ends. */
  held: JobProgress | null = null

  /** A report at `nowMs`: the value to write now, or null (held, or equal to the last written).
   * `held` is set when the caller must make sure to come back at dueMs(). */
  offer(progress: JobProgress, nowMs: number): JobProgress | null {
    if (nowMs < this.writtenAtMs + PROGRESS_INTERVAL_MS) {
      this.held = progress
      return null
    }
    this.held = null
    return this.take(progress, nowMs)
  }

  /** When the held value may be written (meaningful while `held` is set). */
  dueMs(): number {
    return this.writtenAtMs + PROGRESS_INTERVAL_MS
  }

  /** The held value, to write now (the interval passed, or the try ends); null when none or unchanged. */
  flush(nowMs: number): JobProgress | null {
    const held = this.held
    if (held === null) return null
    this.held = null
    return this.take(held, nowMs)
  }

  private take(progress: JobProgress, nowMs: number): JobProgress | null {
    const last = this.written
    if (last !== null && last.fraction === progress.fraction && last.message === progress.message) return null
    this.written = progress
    this.writtenAtMs = nowMs
    return progress
  }
}
