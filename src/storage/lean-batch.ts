// A LevelDB write batch on the durable hot path, through classic-level's implementation
// interface (`_put`, `_del`, `_write`: the methods abstract-level documents for implementations
// to provide, called by its public ones). The public `put` builds an operation object per call
// (a spread of the options, both encodings looked up, the key and value checked), which for the
// keys of every finished job written on each tick cost about as much as LevelDB's own insert and
// a third of a KB of garbage per key. Wharf opens its database with utf8 keys and `view` values,
// whose encodings are the identity for the strings and Uint8Arrays it writes, so the operations
// can go to the native batch as they are. classic-level is pinned: the `lean-batch` unit test
// checks that what this writes reads back.

import type { Staging } from './level-history.js'
import type { Db } from './level-recovery.js'

/** classic-level's ChainedBatch, seen through the implementation interface. */
interface NativeBatch {
  _put(key: string, value: Uint8Array): void
  _del(key: string): void
  _write(options: { sync: boolean }): Promise<void>
  close(): Promise<void>
}

export class LeanBatch implements Staging {
  private readonly native: NativeBatch
  private ops = 0

  constructor(private readonly db: Db) {
    this.native = db.batch() as unknown as NativeBatch
  }

  /** How many puts and deletes this holds. */
  get length(): number {
    return this.ops
  }

  put(key: string, value: Uint8Array): void {
    this.native._put(key, value)
    this.ops++
  }

  del(key: string): void {
    this.native._del(key)
    this.ops++
  }

  /** Write everything atomically (`sync`: durable on disk when this resolves), then release it. */
  async write(options: { sync: boolean }): Promise<void> {
    try {
      // The public write() refuses a closed database; the native one must never see one. (A
      // close that starts during the write waits for it: classic-level counts it as pending work.)
      if (this.db.status !== 'open') throw new Error(`cannot write a batch: the database is ${this.db.status}`)
      if (this.ops > 0) await this.native._write(options)
    } finally {
      await this.native.close()
    }
  }
}
