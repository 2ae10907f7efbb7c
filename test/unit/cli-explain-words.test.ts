// `wharf explain` in words: a reason's sentence says what an operator must know to act on it.
import { describe, expect, it } from 'vitest'
import { sentence } from '../../src/cli/explain-command.js'

describe('wharf explain: the parents reason in words', () => {
  it('names the parents it waits for, and those failed or cancelled, which need someone to act', () => {
    expect(sentence({ kind: 'parents', waitingFor: ['p1', 'p2'], failed: [], cancelled: [] })).toBe('waits for its parent job(s) to be done: p1, p2')
    expect(sentence({ kind: 'parents', waitingFor: ['p1', 'p2', 'p3'], failed: ['p1'], cancelled: ['p2', 'p3'] })).toBe(
      'waits for its parent job(s) to be done: p1, p2, p3' +
        '; failed (it waits until they are requeued or set done): p1' +
        '; cancelled (it waits until they are requeued or set done): p2, p3',
    )
  })

  it('reads the answer of an app of an earlier version, which names no failed or cancelled parents', () => {
    expect(sentence({ kind: 'parents', waitingFor: ['p1'] })).toBe('waits for its parent job(s) to be done: p1')
  })
})

describe('wharf explain: the retry-wait reason in words', () => {
  it('names the try that waits: the one after those made (retry counts the tries started)', () => {
    const untilMs = Date.parse('2026-01-01T00:00:30Z')
    expect(sentence({ kind: 'retry-wait', untilMs, retry: 1 })).toBe('waits to retry (try 2, retry 1) until 2026-01-01T00:00:30Z')
  })
})

describe('wharf explain: the finished reason in words', () => {
  it('says when the job finished, and that it is not recorded for a job that failed before the time was kept', () => {
    expect(sentence({ kind: 'finished', state: 'done', atMs: Date.parse('2026-01-01T00:00:30Z') })).toBe('finished done at 2026-01-01T00:00:30Z')
    expect(sentence({ kind: 'finished', state: 'failed', atMs: null })).toBe('finished failed (when is not recorded)')
  })
})
