// The core's outbox of retired jobs (core/retired-jobs.ts) reads as the Map it replaced: lookups,
// deletes and order stay right whether its lazy uuid index was built before a change or after.
import { describe, expect, it } from 'vitest'
import { RetiredJobs } from '../../src/engine/core/retired-jobs.js'
import type { JobRecord } from '../../src/engine/core/state.js'

const job = (uuid: string): JobRecord => ({ uuid }) as JobRecord

describe('RetiredJobs', () => {
  it('keeps the order jobs left in, and finds each by uuid', () => {
    const out = new RetiredJobs()
    const [a, b, c] = [job('a'), job('b'), job('c')]
    out.add(a)
    out.add(b)
    expect(out.get('b')).toBe(b) // the index is built here
    out.add(c) // and kept up to date from here
    expect(out.get('c')).toBe(c)
    expect(out.has('z')).toBe(false)
    expect([...out.keys()]).toEqual(['a', 'b', 'c'])
    expect([...out]).toEqual([['a', a], ['b', b], ['c', c]])
    expect(out.size).toBe(3)
  })

  it('deletes one job and still finds the others at their new places', () => {
    const out = new RetiredJobs()
    for (const uuid of ['a', 'b', 'c', 'd']) out.add(job(uuid))
    expect(out.delete('b')).toBe(true)
    expect(out.delete('b')).toBe(false)
    expect(out.get('c')!.uuid).toBe('c')
    expect(out.get('d')!.uuid).toBe('d')
    expect([...out.values()].map((j) => j.uuid)).toEqual(['a', 'c', 'd'])
  })

  it('after deletes (holes kept in place), counts, iterates and hands over the jobs left, in order; a deleted job retired again goes last', () => {
    const out = new RetiredJobs()
    for (let i = 0; i < 10; i++) out.add(job(`j${i}`))
    for (const i of [0, 3, 4, 9]) expect(out.delete(`j${i}`)).toBe(true)
    expect(out.size).toBe(6)
    expect(out.has('j3')).toBe(false)
    expect(out.get('j5')!.uuid).toBe('j5')
    out.add(job('j3'))
    expect(out.get('j3')!.uuid).toBe('j3')
    expect([...out.keys()]).toEqual(['j1', 'j2', 'j5', 'j6', 'j7', 'j8', 'j3'])
    expect(out.take().map((j) => j.uuid)).toEqual(['j1', 'j2', 'j5', 'j6', 'j7', 'j8', 'j3'])
    expect(out.size).toBe(0)
  })

  it('hands its jobs over once, and is empty afterwards', () => {
    const out = new RetiredJobs()
    out.add(job('a'))
    expect(out.has('a')).toBe(true)
    expect(out.take().map((j) => j.uuid)).toEqual(['a'])
    expect(out.size).toBe(0)
    expect(out.has('a')).toBe(false)
    out.add(job('a')) // a job restored and finished again in a later batch
    expect(out.get('a')!.uuid).toBe('a')
  })

  it('refuses a job retired twice while its index is built (a core bug)', () => {
    const out = new RetiredJobs()
    out.add(job('a'))
    out.has('a')
    expect(() => out.add(job('a'))).toThrow(/retired twice/)
  })
})
