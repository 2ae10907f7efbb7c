// Dependency-graph rules of the core. Walks use explicit stacks, never recursion, so a deep
// chain cannot overflow the call stack.

import type { JobRecord } from './state.js'

/**
 * The descendants cancelled along with `root`: a waiting descendant is cancelled when every one
 * of its parents is cancelled (already, by this cascade, or in `gone`: jobs the same decision
 * cancelled before, whose events are not applied yet). Transitive, unlike queue_job, which only
 * reaches direct children.
 */
export function cascadeOfCancel(root: JobRecord, gone?: ReadonlySet<JobRecord>): JobRecord[] {
  const cancelled = new Set<JobRecord>([root])
  const order: JobRecord[] = []
  const stack: JobRecord[] = [root]
  while (stack.length > 0) {
    const job = stack.pop()!
    for (const child of job.children) {
      if (cancelled.has(child) || gone?.has(child) === true) continue
      if (child.state !== 'wait_dependencies' && !(child.state === 'pending' && child.unfinishedParents === 0 && allParentsDone(child))) {
        continue
      }
      if (!child.parents.every((p) => p.state === 'cancelled' || cancelled.has(p) || gone?.has(p) === true)) continue
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
