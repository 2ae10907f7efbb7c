// A default description is stored as 0 and rebuilt on read (description.ts), from a one-entry
// cache: reading jobs of several methods in turn must still give each its own model.method.
import { describe, expect, it } from 'vitest'
import { packDescription, unpackDescription } from '../../src/storage/description.js'

describe('descriptions', () => {
  it('rebuilds each job its own default, whatever was read before it', () => {
    const jobs: [string, string][] = [['a', 'run'], ['a', 'run'], ['a', 'stop'], ['b', 'stop'], ['a', 'run'], ['a.b', 'c'], ['a', 'b.c']]
    for (const [model, method] of jobs) {
      const stored = packDescription(model, method, `${model}.${method}`)
      expect(stored).toBe(0)
      expect(unpackDescription(model, method, stored)).toBe(`${model}.${method}`)
    }
  })

  it('keeps a description of its own as it is', () => {
    expect(unpackDescription('a', 'run', packDescription('a', 'run', 'nightly run'))).toBe('nightly run')
    expect(unpackDescription('a', 'run', 0)).toBe('a.run')
  })
})
