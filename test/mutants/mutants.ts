// The one-line bugs `npm run mutants` plants, one at a time, in a copy of the repository. Each is
// a plausible slip (a boundary, a reversed comparison, a dropped clause), not a crash: a mutant
// that only throws proves little. `original` must occur exactly once in `file`.

export interface Mutant {
  name: string
  file: string
  original: string
  replacement: string
}

export const MUTANTS: readonly Mutant[] = [
  // ---- core: scheduling and channels ------------------------------------------------------
  {
    name: 'eta-due-strict',
    file: 'src/engine/core/schedule.ts',
    original: 'if (head.eta! <= nowMs &&',
    replacement: 'if (head.eta! < nowMs &&',
  },
  {
    name: 'priority-reversed',
    file: 'src/engine/core/order.ts',
    original: 'return a.priority < b.priority',
    replacement: 'return a.priority > b.priority',
  },
  {
    name: 'fifo-reversed',
    file: 'src/engine/core/order.ts',
    original: 'return a.createdAt < b.createdAt',
    replacement: 'return a.createdAt > b.createdAt',
  },
  {
    name: 'capacity-off-by-one',
    file: 'src/engine/core/channels.ts',
    original: 'n.running + n.held >= n.capacity',
    replacement: 'n.running + n.held > n.capacity',
  },
  {
    name: 'sequential-ignores-failed',
    file: 'src/engine/core/channels.ts',
    original: 'if (after < GATE_FAILED && n.sequential && n.failedOwn > 0) return GATE_FAILED',
    replacement: 'if (after < GATE_FAILED && n.sequential && n.failedOwn > 1) return GATE_FAILED',
  },
  {
    name: 'pause-only-root',
    file: 'src/engine/core/channels.ts',
    original: 'if (after < GATE_PAUSED && n.paused) return GATE_PAUSED',
    replacement: 'if (after < GATE_PAUSED && n.paused && n.parent === null) return GATE_PAUSED',
  },
  {
    name: 'throttle-never-set',
    file: 'src/engine/core/state.ts',
    original: 'this.lastDispatchAt + this.throttleMs : 0',
    replacement: 'this.lastDispatchAt : 0',
  },
  {
    name: 'tick-starts-past-bound',
    file: 'src/engine/core/tick.ts',
    original: 'if (picks === startsMax) {',
    replacement: 'if (picks === startsMax + 1) {',
  },
  // ---- core: retries, identity, graphs -----------------------------------------------------
  {
    name: 'retry-pattern-boundary',
    file: 'src/engine/core/retry.ts',
    original: 'if (retry >= count) delay = value',
    replacement: 'if (retry > count) delay = value',
  },
  {
    name: 'max-retries-one-more',
    file: 'src/engine/core/decide.ts',
    original: 'job.maxRetries !== 0 && job.retry >= job.maxRetries',
    replacement: 'job.maxRetries !== 0 && job.retry > job.maxRetries',
  },
  {
    name: 'retry-delay-tenth',
    file: 'src/engine/core/decide.ts',
    original: 'eta: nowMs + delaySeconds * 1000,',
    replacement: 'eta: nowMs + delaySeconds * 100,',
  },
  {
    name: 'ignore-retry-counts',
    file: 'src/engine/core/decide.ts',
    original: 'retryAdjust: outcome.ignoreRetry ? -1 : 0,',
    replacement: 'retryAdjust: outcome.ignoreRetry ? 0 : 0,',
  },
  {
    name: 'found-dead-early',
    file: 'src/engine/core/decide.ts',
    original: 'const dead = job.maxRetries !== 0 && job.retry > job.maxRetries',
    replacement: 'const dead = job.maxRetries !== 0 && job.retry >= job.maxRetries',
  },
  {
    name: 'identity-any-key-skips',
    file: 'src/engine/core/decide.ts',
    original: 'if (keyed > 0 && matched === keyed) return { existing }',
    replacement: 'if (keyed > 0 && matched > 0) return { existing }',
  },
  {
    name: 'cascade-any-parent',
    file: 'src/engine/core/graph.ts',
    original: "if (!child.parents.every((p) => p.state === 'cancelled' || cancelled.has(p))) continue",
    replacement: "if (!child.parents.some((p) => p.state === 'cancelled' || cancelled.has(p))) continue",
  },
  {
    name: 'future-eta-ready',
    file: 'src/engine/core/transition.ts',
    original: '  if (job.eta !== null && job.eta > atMs) {',
    replacement: '  if (job.eta !== null && job.eta < atMs) {',
  },
  // ---- storage ----------------------------------------------------------------------------
  {
    name: 'checksum-ignored',
    file: 'src/storage/codec.ts',
    original: 'if (crc !== buf.readUInt32BE(CRC_OFFSET))',
    replacement: 'if (crc === 0 && crc !== buf.readUInt32BE(CRC_OFFSET))',
  },
  {
    name: 'record-seq-unchecked',
    file: 'src/storage/codec.ts',
    original: 'if (header.firstSeq !== seq) throw',
    replacement: 'if (header.firstSeq < seq) throw',
  },
  {
    name: 'history-count-dropped',
    file: 'src/storage/level-history.ts',
    original: 'if (c.done === 0 && c.cancelled === 0) batch.del(COUNT_PREFIX + combo)',
    replacement: 'if (c.done === 0 || c.cancelled === 0) batch.del(COUNT_PREFIX + combo)',
  },
  {
    name: 'history-identity-unindexed',
    file: 'src/storage/level-history.ts',
    original: "if (job.identityKey !== null) keys.push(INDEX_PREFIX + 'k",
    replacement: "if (job.identityKey === '') keys.push(INDEX_PREFIX + 'k",
  },
  {
    name: 'replay-after-snapshot-overlap',
    file: 'src/storage/level-log.ts',
    original: 'if (last <= after) continue',
    replacement: 'if (last < after) continue',
  },
  // ---- runtime ----------------------------------------------------------------------------
  {
    name: 'timeout-due-strict',
    file: 'src/engine/runtime/runner.ts',
    original: 'a.deadlineMs! <= now',
    replacement: 'a.deadlineMs! < now',
  },
  {
    name: 'refusal-resolves',
    file: 'src/engine/runtime/submissions.ts',
    original: "if (note !== undefined && 'error' in note) submission.reject!(note.error)",
    replacement: "if (note !== undefined && 'error' in note) submission.resolve!(undefined as never)",
  },
  {
    name: 'no-rollback',
    file: 'src/engine/runtime/engine.ts',
    original: 'this.state = (await replay(this.log, this.config)).state',
    replacement: 'void (await replay(this.log, this.config)).state',
  },
  {
    name: 'cut-tick-not-continued',
    file: 'src/engine/runtime/engine.ts',
    // A tick cut at its dispatch bound is not marked to continue. (The mutant that removed the
    // continue from endTick alone became equivalent once appends were pipelined: the batch's
    // commit schedules the continuation too.)
    original: 'this.dispatchCut = out.cut || fires?.more === true',
    replacement: 'this.dispatchCut = fires?.more === true',
  },
  {
    name: 'snapshots-rare',
    file: 'src/engine/runtime/maintenance.ts',
    original: 'this.snapshotSeq >= this.snapshotEvery',
    replacement: 'this.snapshotSeq >= this.snapshotEvery * 1000',
  },
]
