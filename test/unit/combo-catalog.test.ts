// Proves the combos' counts a pinned read sees are those of its moment: a count changed after the
// pin (a batch committed while the read runs) is seen as it was, a combo first known after it is
// not seen, and a released pin costs later changes nothing. Also that a channel's combos are
// found without the others.
import { describe, expect, it } from 'vitest'
import { ComboCatalog } from '../../src/storage/combo-catalog.js'

const combo = (channel: string, method = 'run') => `${channel}\x00jobs\x00${method}`

describe('the combos of history', () => {
  it("gives a pinned read the counts of its moment, whatever is committed after", () => {
    const catalog = new ComboCatalog()
    catalog.set(combo('root.a'), { done: 2, cancelled: 0 })
    const pin = catalog.pin()
    catalog.set(combo('root.a'), { done: 0, cancelled: 1 })
    catalog.set(combo('root.b'), { done: 5, cancelled: 0 })
    catalog.set(combo('root.a'), { done: 7, cancelled: 0 })
    expect(pin.count(combo('root.a'))).toEqual({ done: 2, cancelled: 0 })
    expect(pin.count(combo('root.b'))).toBeUndefined()
    expect(pin.jobs).toEqual({ done: 2, cancelled: 0 })
    expect(pin.combos).toEqual({ done: 1, cancelled: 0 })
    expect(catalog.count(combo('root.a'))).toEqual({ done: 7, cancelled: 0 })
    expect(catalog.jobs).toEqual({ done: 12, cancelled: 0 })
    expect(catalog.combos).toEqual({ done: 2, cancelled: 0 })
    catalog.unpin(pin)
    catalog.set(combo('root.c'), { done: 6, cancelled: 0 })
    expect(pin.count(combo('root.c'))).toEqual({ done: 6, cancelled: 0 }) // released: nothing more is kept for it
  })

  it("lists a channel's combos alone, and every combo for no channel", () => {
    const catalog = new ComboCatalog()
    catalog.set(combo('root.a'), { done: 1, cancelled: 0 })
    catalog.set(combo('root.b'), { done: 1, cancelled: 0 })
    catalog.set(combo('root.a', 'other'), { done: 0, cancelled: 1 })
    expect(catalog.of('root.a').map((c) => catalog.name(c))).toEqual([
      { channel: 'root.a', model: 'jobs', method: 'run' },
      { channel: 'root.a', model: 'jobs', method: 'other' },
    ])
    expect(catalog.of(undefined)).toHaveLength(3)
    expect(catalog.of('root.none')).toEqual([])
    expect(catalog.combos).toEqual({ done: 2, cancelled: 1 })
  })
})
