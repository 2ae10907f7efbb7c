// An indexed binary min-heap of jobs. Each job stores its own slot (`heapIndex`) so that a
// cancel, requeue or set-done can remove it in O(log n) instead of scanning the queue.
// A job is in at most one heap at a time (its channel's ready heap or its eta heap).

export interface HeapItem {
  heapIndex: number
}

export class IndexedHeap<T extends HeapItem> {
  private readonly items: T[] = []
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  /** Items in heap-array order (for audits and snapshots; not sorted). */
  values(): readonly T[] {
    return this.items
  }

  push(item: T): void {
    item.heapIndex = this.items.length
    this.items.push(item)
    this.up(item.heapIndex)
  }

  pop(): T | undefined {
    const top = this.items[0]
    if (top !== undefined) this.removeAt(0)
    return top
  }

  remove(item: T): boolean {
    const i = item.heapIndex
    if (i < 0 || this.items[i] !== item) return false
    this.removeAt(i)
    return true
  }

  contains(item: T): boolean {
    return item.heapIndex >= 0 && this.items[item.heapIndex] === item
  }

  /** True when every parent sorts before its children and every slot index is right. */
  isValid(): boolean {
    const items = this.items
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!
      if (item.heapIndex !== i) return false
      if (i > 0 && this.less(item, items[(i - 1) >> 1]!)) return false
    }
    return true
  }

  private removeAt(i: number): void {
    const items = this.items
    const removed = items[i]!
    const last = items.pop()!
    removed.heapIndex = -1
    if (i < items.length) {
      items[i] = last
      last.heapIndex = i
      this.up(i)
      this.down(last.heapIndex)
    }
  }

  private up(i: number): void {
    const items = this.items
    const item = items[i]!
    while (i > 0) {
      const parentIndex = (i - 1) >> 1
      const parent = items[parentIndex]!
      if (!this.less(item, parent)) break
      items[i] = parent
      parent.heapIndex = i
      i = parentIndex
    }
    items[i] = item
    item.heapIndex = i
  }

  private down(i: number): void {
    const items = this.items
    const n = items.length
    const item = items[i]!
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      let child = left
      if (right < n && this.less(items[right]!, items[left]!)) child = right
      const childItem = items[child]!
      if (!this.less(childItem, item)) break
      items[i] = childItem
      childItem.heapIndex = i
      i = child
    }
    items[i] = item
    item.heapIndex = i
  }
}
