// The simulator's only source of entropy: one seeded generator (mulberry32) from which every
// decision of a run is drawn, plus a stateless mix for draws that must not depend on how many
// numbers were drawn before (handler outcomes: a re-run of a job after a crash sees the same one).

/** A 32-bit seed as the simulator accepts it: any integer, reduced mod 2^32. */
export function toSeed(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`a simulator seed must be an integer, got ${String(value)}`)
  return value >>> 0
}

export class Rng {
  private a: number

  constructor(seed: number) {
    this.a = toSeed(seed)
  }

  /** Uniform uint32. */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0
    let t = this.a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    if (!(Number.isSafeInteger(n) && n > 0)) throw new RangeError(`below(${n}): n must be a positive integer`)
    return Math.floor(this.float() * n)
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1)
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list')
    return items[this.below(items.length)]!
  }

  /** One of the keys, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const keys = Object.keys(weights) as K[]
    let total = 0
    for (const k of keys) total += weights[k]
    let x = this.float() * total
    for (const k of keys) {
      x -= weights[k]
      if (x < 0 && weights[k] > 0) return k
    }
    return keys.filter((k) => weights[k] > 0).at(-1)!
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1)
      ;[items[i], items[j]] = [items[j]!, items[i]!]
    }
    return items
  }

  /** A new independent stream, seeded from this one (so it is still one seed for the run). */
  fork(): Rng {
    return new Rng(this.next())
  }
}

/** Stateless 32-bit hash of a few integers (murmur3 finaliser over a running mix). */
export function mix32(...values: number[]): number {
  let h = 0x9e3779b9
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
  }
  return h >>> 0
}

/** A uniform [0, 1) function of a seed (mulberry32), for tests and workers outside the simulator. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed)
  return () => rng.float()
}
