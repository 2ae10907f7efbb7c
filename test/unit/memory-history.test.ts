// The in-memory history store indexes lazily: apply() only queues what it is given, and the first
// read or delete builds the uuid index and the finish-time order. These tests prove that deferring
// changes no answer and hides no bug: a put of a job already kept is still refused, by the read
// that indexes it.
import { describe, expect, it } from 'vitest'
import type { JobView } from '../../src/engine/core/view.js'
import { historyQuery } from '../../src/storage/history.js'
import { MemoryHistory } from '../../src/storage/memory-history.js'

function view(uuid: string, doneAt: number): JobView {
  return {
    uuid, graphUuid: null, model: 'm', method: 'f', records: [], args: [], context: {}, state: 'done', priority: 10,
    eta: null, maxRetries: 5, retry: 1, description: 'm.f', channel: 'root', identityKey: null, dependsOn: [],
    dependents: [], result: null, excName: null, excMessage: null, excInfo: null, createdAt: 0, enqueuedAt: 0,
    startedAt: 0, doneAt, cancelledAt: null, execTimeMs: doneAt, progress: null, node: null, batchUuid: null,
  }
}

describe('MemoryHistory (lazy index)', () => {
  it('counts at once, and answers every read with the jobs put before it, in order', async () => {
    const history = new MemoryHistory()
    history.apply({ put: [view('b', 20), view('a', 10)], del: [] })
    expect(history.counts().get('root')).toEqual({ done: 2, cancelled: 0 })
    history.apply({ put: [view('c', 5)], del: [] })
    expect((await history.page(historyQuery())).map((v) => v.uuid)).toEqual(['a', 'b', 'c'])
    expect((await history.finishedUpTo(20, 10)).map((v) => v.uuid)).toEqual(['c', 'a', 'b'])
    history.apply({ put: [view('d', 1)], del: [view('a', 10)] })
    expect(await history.get('a')).toBeUndefined()
    expect(history.peek('d')?.doneAt).toBe(1)
    expect((await history.finishedUpTo(100, 10)).map((v) => v.uuid)).toEqual(['d', 'c', 'b'])
    expect(history.counts().get('root')).toEqual({ done: 3, cancelled: 0 })
  })

  it('a job deleted and put back in one write is kept once, with its new finish time', async () => {
    const history = new MemoryHistory()
    history.apply({ put: [view('a', 10)], del: [] })
    history.apply({ put: [view('a', 30)], del: [view('a', 10)] })
    expect((await history.finishedUpTo(100, 10)).map((v) => [v.uuid, v.doneAt])).toEqual([['a', 30]])
  })

  it('refuses a second put of a kept job when it indexes it', async () => {
    const history = new MemoryHistory()
    history.apply({ put: [view('a', 10)], del: [] })
    history.apply({ put: [view('a', 20)], del: [] })
    await expect(history.get('a')).rejects.toThrow(/job a is already in history/)
  })
})
