// Job ids are valid ULIDs carrying the engine clock's time, strictly increasing even within one
// millisecond; sequentialIds is deterministic for simulations.
import { decodeTime, isValid } from 'ulid'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/engine/runtime/clock.js'
import { InvalidPropertyError } from '../../src/engine/errors.js'
import { SEEDS_PER_REFILL, sequentialIds, ulidFactory } from '../../src/engine/runtime/ids.js'

describe('ulidFactory', () => {
  it('mints valid, strictly increasing ULIDs with the clock time', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1))
    const next = ulidFactory(clock)
    const ids: string[] = []
    for (let i = 0; i < 2000; i++) ids.push(next())
    await clock.advance(1)
    ids.push(next())
    expect(ids.every((id) => isValid(id) && id.length === 26)).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    expect(decodeTime(ids[0]!)).toBe(Date.UTC(2026, 0, 1))
    expect(decodeTime(ids[ids.length - 1]!)).toBe(Date.UTC(2026, 0, 1) + 1)
  })

  it('counts up by one within a millisecond: the random part is an 80-bit number, in base 32', () => {
    const next = ulidFactory({ now: () => 10_000 } as FakeClock)
    const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
    const valueOf = (id: string): bigint => [...id.slice(10)].reduce((n, c) => n * 32n + BigInt(B32.indexOf(c)), 0n)
    let previous = valueOf(next())
    // Enough to carry through several digits of the low 40 bits.
    for (let i = 0; i < 40_000; i++) {
      const value = valueOf(next())
      expect(value).toBe(previous + 1n)
      previous = value
    }
  })

  it('stays increasing when the clock goes back', () => {
    let now = 10_000
    const next = ulidFactory({ now: () => now } as FakeClock)
    const a = next()
    now = 5_000
    expect(next() > a).toBe(true)
  })

  it('takes a fresh random part for every millisecond, past several refills of its pool', () => {
    let now = 10_000
    const next = ulidFactory({ now: () => now } as FakeClock)
    const ids: string[] = []
    for (let ms = 0; ms < 3 * SEEDS_PER_REFILL + 5; ms++, now++) ids.push(next(), next())
    expect(ids.every((id) => isValid(id))).toBe(true)
    expect([...ids].sort()).toEqual(ids)
    // The first id of each millisecond carries that millisecond's seed: none is used twice.
    const randomParts = ids.filter((_, i) => i % 2 === 0).map((id) => id.slice(10))
    expect(new Set(randomParts).size).toBe(randomParts.length)
  })
})

describe('sequentialIds', () => {
  it('counts from 1 with its prefix', () => {
    const next = sequentialIds('x-')
    expect([next(), next()]).toEqual(['x-000001', 'x-000002'])
  })

  it.each([123, null, {}])('refuses a prefix that is not a string (%j), naming it, rather than mint "null000001"', (prefix) => {
    expect(() => sequentialIds(prefix as unknown as string)).toThrow(InvalidPropertyError)
    expect(() => sequentialIds(prefix as unknown as string)).toThrow(/sequentialIds\(\): prefix must be a string/)
  })
})
