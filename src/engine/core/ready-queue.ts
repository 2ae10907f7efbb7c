// A channel's ready queue: jobs ordered by (priority, createdAt, seq), kept as one FIFO bucket
// per priority. Jobs almost always arrive in (createdAt, seq) order within their priority, so a
// push appends and a pop takes the head: O(1) where a heap pays log n comparisons for each.
// A job that re-enters with an old (createdAt, seq) — a retry whose eta passed, a requeue — is
// inserted at its sorted place by binary search, which is rare and still exact.

import { readyLess } from './order.js'
import type { JobRecord } from './state.js'

class Bucket {
  items: JobRecord[] = []
  head = 0
  constructor(readonly priority: number) {}

  get size(): number {
    return this.items.length - this.head
  }
}

/** Marks a job as queued in a ReadyQueue (JobRecord.heapIndex is shared with the eta heap). */
const QUEUED = 0

export class ReadyQueue {
  private readonly buckets = new Map<number, Bucket>()
  /** Distinct priorities with a non-empty bucket, ascending (few in practice). */
  private readonly priorities: number[] = []
  private count = 0

  get size(): number {
    return this.count
  }

  peek(): JobRecord | undefined {
    if (this.count === 0) return undefined
    const bucket = this.buckets.get(this.priorities[0]!)!
    return bucket.items[bucket.head]
  }

  push(job: JobRecord): void {
    let bucket = this.buckets.get(job.priority)
    if (bucket === undefined) {
      bucket = new Bucket(job.priority)
      this.buckets.set(job.priority, bucket)
      insertSorted(this.priorities, job.priority)
    }
    const items = bucket.items
    if (bucket.size === 0 || readyLess(items[items.length - 1]!, job)) items.push(job)
    else items.splice(this.position(bucket, job), 0, job)
    job.heapIndex = QUEUED
    this.count++
  }

  contains(job: JobRecord): boolean {
    if (job.heapIndex !== QUEUED) return false
    const bucket = this.buckets.get(job.priority)
    return bucket !== undefined && bucket.items[this.position(bucket, job)] === job
  }

  remove(job: JobRecord): boolean {
    const bucket = this.buckets.get(job.priority)
    if (bucket === undefined || job.heapIndex !== QUEUED) return false
    const items = bucket.items
    if (items[bucket.head] === job) {
      items[bucket.head++] = undefined as unknown as JobRecord
      // Compact now and then so a long-lived queue does not keep a long dead prefix.
      if (bucket.head > 1024 && bucket.head * 2 > items.length) {
        bucket.items = items.slice(bucket.head)
        bucket.head = 0
      }
    } else {
      const i = this.position(bucket, job)
      if (items[i] !== job) return false
      items.splice(i, 1)
    }
    job.heapIndex = -1
    this.count--
    if (bucket.size === 0) {
      this.buckets.delete(job.priority)
      this.priorities.splice(this.priorities.indexOf(job.priority), 1)
    }
    return true
  }

  /** The first job in queue order that passes `test` (undefined: none does). */
  firstWhere(test: (job: JobRecord) => boolean): JobRecord | undefined {
    for (const priority of this.priorities) {
      const bucket = this.buckets.get(priority)!
      for (let i = bucket.head; i < bucket.items.length; i++) if (test(bucket.items[i]!)) return bucket.items[i]
    }
    return undefined
  }

  /** Jobs in queue order (audits and snapshots). */
  values(): JobRecord[] {
    const out: JobRecord[] = []
    for (const priority of this.priorities) {
      const bucket = this.buckets.get(priority)!
      for (let i = bucket.head; i < bucket.items.length; i++) out.push(bucket.items[i]!)
    }
    return out
  }

  /** True when every bucket is sorted, non-empty and indexed under its priority. */
  isValid(): boolean {
    let total = 0
    for (let p = 0; p < this.priorities.length; p++) {
      if (p > 0 && this.priorities[p - 1]! >= this.priorities[p]!) return false
      const bucket = this.buckets.get(this.priorities[p]!)
      if (bucket === undefined || bucket.size === 0) return false
      for (let i = bucket.head; i < bucket.items.length; i++) {
        const job = bucket.items[i]!
        if (job.priority !== bucket.priority || job.heapIndex !== QUEUED) return false
        if (i > bucket.head && !readyLess(bucket.items[i - 1]!, job)) return false
      }
      total += bucket.size
    }
    return total === this.count && this.buckets.size === this.priorities.length
  }

  /** First index in the bucket whose job does not sort before `job`. */
  private position(bucket: Bucket, job: JobRecord): number {
    let lo = bucket.head
    let hi = bucket.items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (readyLess(bucket.items[mid]!, job)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function insertSorted(values: number[], value: number): void {
  let i = values.length
  while (i > 0 && values[i - 1]! > value) i--
  values.splice(i, 0, value)
}
