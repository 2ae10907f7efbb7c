// The uuids of one millisecond's finish-time groups (finish-groups.ts) in uuid order, each once,
// produced lazily from a cursor: a k-way merge of the groups, each sorted once. A millisecond can
// hold tens of thousands of jobs (a FakeClock that stands still, a graph cancelled whole), and a
// vacuum pages through it a thousand at a time: sorting all of it for each page made that
// quadratic; this costs each page about its own size (times log k).

import { IndexedHeap, type HeapItem } from '../engine/core/heap.js'

/** A group of a millisecond: its key and its uuids in uuid order. */
export interface SortedGroup {
  readonly key: string
  readonly uuids: readonly string[]
}

interface Head extends HeapItem {
  group: SortedGroup
  at: number
}

/** The first index of `uuids` (sorted) whose uuid comes after `uuid`. */
function upperBound(uuids: readonly string[], uuid: string): number {
  let lo = 0
  let hi = uuids.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (uuids[mid]! <= uuid) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The uuids of `groups` after `after` (none: from the first), in order, each once, with every
 * group that lists it (a job finished, brought back and finished again within one millisecond is
 * listed by two groups of it, and a cleanup must find both). */
export function* mergedAfter(groups: readonly SortedGroup[], after: string | undefined): Generator<{ uuid: string; groups: SortedGroup[] }> {
  const heap = new IndexedHeap<Head>((a, b) => a.group.uuids[a.at]! < b.group.uuids[b.at]!)
  const advance = (head: Head): void => {
    if (++head.at < head.group.uuids.length) heap.push(head)
  }
  for (const group of groups) {
    const at = after === undefined ? 0 : upperBound(group.uuids, after)
    if (at < group.uuids.length) heap.push({ heapIndex: -1, group, at })
  }
  for (let head = heap.pop(); head !== undefined; head = heap.pop()) {
    const uuid = head.group.uuids[head.at]!
    const listing = [head.group]
    advance(head)
    for (let same = heap.peek(); same !== undefined && same.group.uuids[same.at] === uuid; same = heap.peek()) {
      heap.pop()
      if (listing[listing.length - 1] !== same.group) listing.push(same.group)
      advance(same)
    }
    yield { uuid, groups: listing }
  }
}
