// Dependency-graph rules of the core. Walks use explicit stacks, never recursion, so a deep
// chain cannot overflow the call stack.

import type { JobRecord, State } from './state.js'

const DAY_MS = 86_400_000

/**
 * The descendants cancelled along with `root`: a waiting descendant is cancelled when every one
 * of its parents is cancelled (already, or by this cascade). Transitive, unlike queue_job, which
 * only reaches direct children.
 */
export function cascadeOfCancel(root: JobRecord): JobRecord[] {
  const cancelled = new Set<JobRecord>([root])
  const order: JobRecord[] = []
  const stack: JobRecord[] = [root]
  while (stack.length > 0) {
    const job = stack.pop()!
    for (const child of job.children) {
      if (cancelled.has(child)) continue
      if (child.state !== 'wait_dependencies' && !(child.state === 'pending' && child.unfinishedParents === 0 && allParentsDone(child))) {
        continue
      }
      if (!child.parents.every((p) => p.state === 'cancelled' || cancelled.has(p))) continue
      cancelled.add(child)
      order.push(child)
      stack.push(child)
    }
  }
  return order
}

function allParentsDone(job: JobRecord): boolean {
  return job.parents.every((p) => p.state === 'done')
}

/** True when the parent/child edges reachable from `jobs` contain no cycle (Kahn's algorithm). */
export function isAcyclic(jobs: Iterable<JobRecord>): boolean {
  const indegree = new Map<JobRecord, number>()
  let total = 0
  for (const job of jobs) {
    indegree.set(job, job.parents.length)
    total++
  }
  const stack: JobRecord[] = []
  for (const [job, d] of indegree) if (d === 0) stack.push(job)
  let seen = 0
  while (stack.length > 0) {
    const job = stack.pop()!
    seen++
    for (const child of job.children) {
      const d = indegree.get(child)! - 1
      indegree.set(child, d)
      if (d === 0) stack.push(child)
    }
  }
  return seen === total
}

/**
 * Up to `limit` done or cancelled jobs older than their channel's removeAfterDays (else
 * `defaultDays`), children before parents: a job is taken only when each of its children is
 * gone or taken before it, so no kept job ever points at a removed one. Failed jobs are kept
 * (queue_job). Order is the log's (seq), so the choice is deterministic.
 */
export function vacuumable(state: State, nowMs: number, defaultDays: number, limit: number): string[] {
  const old = (job: JobRecord): boolean => {
    const at = job.state === 'done' ? job.doneAt : job.state === 'cancelled' ? job.cancelledAt : null
    if (at === null) return false
    let days = defaultDays
    for (const node of job.channel.path) {
      if (node.removeAfterDays !== null) {
        days = node.removeAfterDays
        break
      }
    }
    return at <= nowMs - days * DAY_MS
  }
  const taken = new Set<JobRecord>()
  const order: string[] = []
  // Leaves first: a job whose children are all taken becomes a leaf; walk up with a stack.
  for (const job of state.jobs.values()) {
    if (order.length >= limit) break
    if (taken.has(job) || job.children.length > 0 || !old(job)) continue
    const stack: JobRecord[] = [job]
    while (stack.length > 0 && order.length < limit) {
      const next = stack.pop()!
      if (taken.has(next) || !old(next) || !next.children.every((c) => taken.has(c))) continue
      taken.add(next)
      order.push(next.uuid)
      for (const parent of next.parents) stack.push(parent)
    }
  }
  return order
}
