// durability: 'fsync' given to Wharf.open reaches LevelDB: a real store runs jobs (appends, history
// batches, a snapshot and its compaction) while every write LevelDB receives is recorded at
// classic-level's lowest layer (put, del, array batch, chained batch) with its options.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FakeClock, RetryableJobError, Wharf } from '../../src/index.js'
import { STORE_ID_KEY } from '../../src/storage/end-mark.js'

// classic-level does not export its chained batch; its prototype is where every db.batch() writes.
const { ChainedBatch } = createRequire(import.meta.url)('classic-level/chained-batch.js') as {
  ChainedBatch: { prototype: { _write: (options: unknown) => Promise<void> } }
}

type Kind = 'put' | 'del' | 'batch' | 'chained'
interface Write {
  kind: Kind
  sync: boolean
  /** The key of a put (the others write many). */
  key?: unknown
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-fsync-'))
})
afterEach(() => {
  restoreWrites()
  rmSync(dir, { recursive: true, force: true })
})

type WriteFn = (...args: unknown[]) => Promise<void>
type Methods = Record<string, WriteFn>
/** Undoes the patches of recordWrites (afterEach). */
const restores: (() => void)[] = []

/** Record every write LevelDB is asked to make, with whether it asked for a sync. */
function recordWrites(): Write[] {
  const writes: Write[] = []
  const wrap = (target: Methods, method: string, kind: Kind, optionsAt: number): void => {
    const original = target[method]!
    target[method] = function (this: unknown, ...args: unknown[]) {
      const sync = (args[optionsAt] as { sync?: unknown } | undefined)?.sync === true
      writes.push(kind === 'put' ? { kind, sync, key: args[0] } : { kind, sync })
      return original.apply(this, args)
    }
    restores.push(() => (target[method] = original))
  }
  const level = ClassicLevel.prototype as unknown as Methods
  wrap(level, '_put', 'put', 2)
  wrap(level, '_del', 'del', 1)
  wrap(level, '_batch', 'batch', 1)
  wrap(ChainedBatch.prototype as unknown as Methods, '_write', 'chained', 0)
  return writes
}

function restoreWrites(): void {
  for (const restore of restores.splice(0).reverse()) restore()
}

/** Open a real store, run jobs to done, failed and postponed, snapshot often, and close. */
async function workload(durability: 'process' | 'fsync' | undefined): Promise<Write[]> {
  const clock = new FakeClock()
  const path = join(dir, 'jobs')
  const writes = recordWrites()
  const wharf = await Wharf.open({ path, clock, channels: 'root:2', snapshotEvery: 5, ...(durability === undefined ? {} : { durability }) })
  const m = wharf.model('res.partner', {
    async work(kind: string) {
      if (kind === 'retry' && this.job!.retry === 0) throw new RetryableJobError('again', { seconds: 10 })
      if (kind === 'fail') throw new TypeError('broken')
      return kind
    },
  })
  for (const kind of ['ok', 'retry', 'fail', 'ok', 'ok', 'retry']) await m.withDelay().work(kind)
  await wharf.start()
  await wharf.idle()
  await clock.advance(60_000)
  await wharf.idle()
  expect((await wharf.jobs()).map((j) => j.state).sort()).toEqual(['done', 'done', 'done', 'done', 'done', 'failed'])
  await wharf.close()
  // Reopened, the store gives back what was acknowledged: the writes recorded are the real ones.
  const again = await Wharf.open({ path, clock })
  expect((await again.jobs()).length).toBe(6)
  await again.close()
  return writes
}

describe("durability: 'fsync' through Wharf.open", () => {
  it('syncs every write LevelDB receives: puts, chained history batches and compaction batches', async () => {
    const writes = await workload('fsync')
    const kinds = new Set(writes.map((w) => w.kind))
    // Each path that makes an acknowledged change durable was taken at least once.
    expect([...kinds].sort()).toEqual(['batch', 'chained', 'put'])
    const unsynced = writes.filter((w) => !w.sync)
    // The reopen in 'process' mode writes nothing: a clean open of an existing store only reads.
    expect(unsynced).toEqual([])
  })

  it("leaves them unsynced by default ('process': survives kill -9, not a power cut)", async () => {
    for (const durability of [undefined, 'process'] as const) {
      const writes = await workload(durability)
      expect(writes.length).toBeGreaterThan(10)
      // The store's identity is written once, synced in every mode, before the end-of-log mark that
      // names it (storage/end-mark.ts): it acknowledges nothing. Every other write is unsynced.
      expect(writes.filter((w) => w.sync && w.key !== STORE_ID_KEY)).toEqual([])
      expect(writes.filter((w) => w.sync)).toHaveLength(1)
      rmSync(join(dir, 'jobs'), { recursive: true, force: true })
      restoreWrites()
    }
  })
})
