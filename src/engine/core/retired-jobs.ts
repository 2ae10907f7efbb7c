// The outbox of jobs that left memory in the batch being formed (State.retired), in the order they
// left. Retiring is on every finished job's path and taking the outbox on every tick's, while
// looking a job up in it is rare (a command on a job that finished earlier in the same batch, a
// replayed removal): so retiring is one push, taking hands the array over, and the uuid index a
// Map would have kept on every retire is built at the first lookup and kept from then on (a
// delete leaves a hole in the array and takes the uuid out of the index, so a replay that deletes
// many jobs in a row — a 0.1 store's history rebuilt — stays linear). Reads as a Map does (get, has,
// keys, values, entries, size), so tests and the simulator read it as they read state.jobs.

import { fail } from './assert.js'
import type { JobRecord } from './state.js'

export class RetiredJobs implements Iterable<[string, JobRecord]> {
  /** The jobs in the order they left; null where one was deleted since. */
  private list: (JobRecord | null)[] = []
  /** Jobs in `list` (not holes). */
  private live = 0
  /** uuid -> position in `list`; null until a lookup needs it, kept until the outbox is taken. */
  private index: Map<string, number> | null = null

  get size(): number {
    return this.live
  }

  /** A job that left memory: it is not in the outbox (it was in state.jobs until now). */
  add(job: JobRecord): void {
    if (this.index !== null) {
      if (this.index.has(job.uuid)) fail(`job ${job.uuid} retired twice in one batch`)
      this.index.set(job.uuid, this.list.length)
    }
    this.list.push(job)
    this.live++
  }

  get(uuid: string): JobRecord | undefined {
    const at = this.indexed().get(uuid)
    return at === undefined ? undefined : this.list[at]!
  }

  has(uuid: string): boolean {
    return this.indexed().has(uuid)
  }

  /** Take a job out (it came back to memory, or history will never see it); false if absent. */
  delete(uuid: string): boolean {
    const at = this.indexed().get(uuid)
    if (at === undefined) return false
    this.list[at] = null
    this.index!.delete(uuid)
    this.live--
    return true
  }

  /** Every job in the outbox, in the order they left; the outbox is empty afterwards. */
  take(): JobRecord[] {
    const jobs = this.live === this.list.length ? (this.list as JobRecord[]) : this.list.filter((job) => job !== null)
    this.list = []
    this.live = 0
    this.index = null
    return jobs
  }

  clear(): void {
    if (this.list.length > 0) this.take()
  }

  *values(): IterableIterator<JobRecord> {
    for (const job of this.list) if (job !== null) yield job
  }

  *keys(): IterableIterator<string> {
    for (const job of this.list) if (job !== null) yield job.uuid
  }

  *entries(): IterableIterator<[string, JobRecord]> {
    for (const job of this.list) if (job !== null) yield [job.uuid, job]
  }

  [Symbol.iterator](): IterableIterator<[string, JobRecord]> {
    return this.entries()
  }

  private indexed(): Map<string, number> {
    if (this.index === null) {
      this.index = new Map()
      for (let i = 0; i < this.list.length; i++) {
        const job = this.list[i]!
        if (job !== null) this.index.set(job.uuid, i)
      }
    }
    return this.index
  }
}
