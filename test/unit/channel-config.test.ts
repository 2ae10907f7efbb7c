// Proves channel-config.ts parses channel strings exactly like queue_job's parse_simple_config /
// Channel.configure / simple_configure (doctests ported), with Wharf's stricter names and errors.
import { describe, expect, it } from 'vitest'
import {
  CHANNEL_DEPTH_MAX,
  ROOT,
  mergeChannelConfig,
  normalizeChannelName,
  parentChannelName,
  parseChannelConfig,
} from '../../src/engine/core/channel-config.js'
import type { ChannelConfig } from '../../src/engine/core/channel-config.js'
import { InvalidChannelConfigError } from '../../src/engine/errors.js'

const cfg = (name: string, capacity: number | null, extra: Partial<ChannelConfig> = {}): ChannelConfig => ({
  name,
  capacity,
  sequential: false,
  throttleSeconds: 0,
  paused: false,
  removeAfterDays: null,
  ...extra,
})

function expectInvalid(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(InvalidChannelConfigError)
  const err = caught as InvalidChannelConfigError
  expect(err.code).toBe('INVALID_CHANNEL_CONFIG')
  for (const fragment of fragments) expect(err.message).toContain(fragment)
}

describe('parseChannelConfig: queue_job doctests', () => {
  it('root:4', () => {
    expect(parseChannelConfig('root:4')).toEqual([cfg('root', 4)])
  })
  it('root:4,root.sub:2', () => {
    expect(parseChannelConfig('root:4,root.sub:2')).toEqual([cfg('root', 4), cfg('root.sub', 2)])
  })
  it('root:4,root.sub:2:sequential:k=v is refused, as simple_configure would refuse it', () => {
    // queue_job's parse step accepts it and Channel.configure raises; this module does both steps.
    expectInvalid(
      () => parseChannelConfig('root:4,root.sub:2:sequential:k=v'),
      '"root.sub:2:sequential:k=v"',
      'A sequential channel must have a capacity of 1',
    )
  })
  it('a name alone has capacity 1; sub:2 is root.sub', () => {
    expect(parseChannelConfig('root')).toEqual([cfg('root', 1)])
    expect(parseChannelConfig('sub:2')).toEqual([cfg('root.sub', 2)])
  })
  it('ignores surrounding whitespace and empty entries, keeps spaces inside names and values', () => {
    const text = '\n    root : 4,\n    ,\n    foo bar:1: k=va lue,\n'
    expect(parseChannelConfig(text)).toEqual([cfg('root', 4), cfg('root.foo bar', 1)])
  })
  it('accepts line breaks instead of commas', () => {
    const text = '\n    root : 4\n    foo bar:1: k=va lue\n    baz\n'
    expect(parseChannelConfig(text)).toEqual([cfg('root', 4), cfg('root.foo bar', 1), cfg('root.baz', 1)])
  })
  it('root:4,autosub.sub:2,seq:1:sequential (simple_configure doctest)', () => {
    expect(parseChannelConfig('root:4,autosub.sub:2,seq:1:sequential')).toEqual([
      cfg('root', 4),
      cfg('root.autosub.sub', 2),
      cfg('root.seq', 1, { sequential: true }),
    ])
  })
  it('throttle=2 (throttle doctest)', () => {
    expect(parseChannelConfig('root:4,A:4:throttle=2')[1]).toEqual(cfg('root.A', 4, { throttleSeconds: 2 }))
  })
})

describe('parseChannelConfig: entries and options', () => {
  it('returns sequential=true for a bare key and ignores k=v', () => {
    expect(parseChannelConfig('root.sub:1:sequential:k=v')).toEqual([cfg('root.sub', 1, { sequential: true })])
  })
  it('returns [] for empty, blank and comma-only text; tolerates CRLF', () => {
    expect(parseChannelConfig('')).toEqual([])
    expect(parseChannelConfig(' ,\n, \n')).toEqual([])
    expect(parseChannelConfig('a:2\r\nb:3\r\n')).toEqual([cfg('root.a', 2), cfg('root.b', 3)])
  })
  it('keeps later duplicates as separate entries', () => {
    expect(parseChannelConfig('A:2,root.A:3').map((c) => c.capacity)).toEqual([2, 3])
  })
  it('returns capacity 0 as is, for root and subchannels', () => {
    expect(parseChannelConfig('root:0,Z:0').map((c) => c.capacity)).toEqual([0, 0])
  })
  it('treats any non-empty sequential/paused value as true (Python bool of a string), empty as false', () => {
    expect(parseChannelConfig('a:1:sequential=false')[0]?.sequential).toBe(true)
    expect(parseChannelConfig('a:1:sequential=0')[0]?.sequential).toBe(true)
    expect(parseChannelConfig('a:2:sequential=')[0]?.sequential).toBe(false)
    expect(parseChannelConfig('a:2:paused')[0]?.paused).toBe(true)
    expect(parseChannelConfig('a:2:paused=false')[0]?.paused).toBe(true)
    expect(parseChannelConfig('a:2:paused=')[0]?.paused).toBe(false)
    expect(parseChannelConfig('a:2')[0]?.paused).toBe(false)
  })
  it('reads throttle (bare key = int(True) = 1) and remove_after_days', () => {
    expect(parseChannelConfig('a:2:throttle = 5')[0]?.throttleSeconds).toBe(5)
    expect(parseChannelConfig('a:2:throttle=0')[0]?.throttleSeconds).toBe(0)
    expect(parseChannelConfig('a:2:throttle')[0]?.throttleSeconds).toBe(1)
    expect(parseChannelConfig('a:2:remove_after_days=60')[0]?.removeAfterDays).toBe(60)
  })
  it('accepts an empty option key once, like queue_job', () => {
    expect(parseChannelConfig('a:2:')).toEqual([cfg('root.a', 2)])
  })
})

describe('parseChannelConfig: errors name the offending entry', () => {
  it('missing channel name', () => {
    expectInvalid(() => parseChannelConfig('root:4, :2'), '":2"', 'missing channel name')
    expectInvalid(() => parseChannelConfig('root:4,:'), '":"', 'missing channel name')
  })
  it.each(['x', '', '-1', '1.5', '+3', '1e3', '99999999999999999999'])('invalid capacity %j', (capacity) => {
    expectInvalid(() => parseChannelConfig(`root:4,a:${capacity}:x`), `"a:${capacity}:x"`, `invalid capacity "${capacity}"`)
  })
  it('incorrect config item (more than one "=")', () => {
    expectInvalid(() => parseChannelConfig('a:1:k=v=w'), '"a:1:k=v=w"', 'incorrect config item "k=v=w"')
  })
  it.each([
    ['a:1:k:k=v', 'k'],
    ['a:1:name=x', 'name'],
    ['a:1:capacity=2', 'capacity'],
    ['a:1:sequential:sequential', 'sequential'],
    ['a:1::', ''],
  ])('duplicate key in %j', (entry, key) => {
    expectInvalid(() => parseChannelConfig(entry), JSON.stringify(entry), `duplicate key "${key}"`)
  })
  it.each(['throttle=-1', 'throttle=x', 'throttle=', 'throttle=1.5'])('invalid %s', (option) => {
    expectInvalid(() => parseChannelConfig(`a:2:${option}`), `"a:2:${option}"`, 'invalid throttle')
  })
  it.each(['remove_after_days=0', 'remove_after_days=-3', 'remove_after_days=x', 'remove_after_days'])(
    'invalid %s',
    (option) => {
      expectInvalid(() => parseChannelConfig(`a:2:${option}`), `"a:2:${option}"`, 'invalid remove_after_days')
    },
  )
  it('a sequential channel must have capacity 1', () => {
    expectInvalid(() => parseChannelConfig('s:2:sequential'), '"s:2:sequential"', 'A sequential channel must have a capacity of 1')
    expectInvalid(() => parseChannelConfig('s:0:sequential=yes'), 'A sequential channel must have a capacity of 1')
  })
  it('invalid names inside an entry', () => {
    expectInvalid(() => parseChannelConfig('a..b:2'), '"a..b:2"', 'empty path component')
    expectInvalid(() => parseChannelConfig('a.:2'), '"a.:2"', 'empty path component')
    expectInvalid(() => parseChannelConfig('a . b:2'), '"a . b:2"', 'whitespace')
  })
})

describe('mergeChannelConfig', () => {
  it('a later entry for the same complete name wins, in first-seen order', () => {
    const merged = mergeChannelConfig(parseChannelConfig('root:4,A:2,B:1,root.A:3'))
    expect([...merged.keys()]).toEqual(['root', 'root.A', 'root.B'])
    expect(merged.get('root.A')?.capacity).toBe(3)
  })
  it('the later entry replaces the earlier one entirely, options included', () => {
    const merged = mergeChannelConfig(parseChannelConfig('A:1:sequential:throttle=3,A:5'))
    expect(merged.get('root.A')).toEqual(cfg('root.A', 5))
  })
  it('returns copies, so mutating the result leaves the input alone', () => {
    const entries = parseChannelConfig('root:4')
    mergeChannelConfig(entries).get('root')!.capacity = 9
    expect(entries[0]?.capacity).toBe(4)
  })
})

describe('normalizeChannelName', () => {
  it.each([
    [undefined, 'root'],
    ['', 'root'],
    ['   ', 'root'],
    ['root', 'root'],
    [' root ', 'root'],
    ['mail', 'root.mail'],
    ['a.b', 'root.a.b'],
    ['root.a', 'root.a'],
    ['root.root', 'root.root'],
    ['Root', 'root.Root'],
    ['  my channel.sub ', 'root.my channel.sub'],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeChannelName(input)).toBe(expected)
  })
  it.each(['a..b', 'a.', '.a', 'root.', 'root..a', 'a. .b', 'a .b', 'a. b'])('rejects %j, naming it', (name) => {
    expectInvalid(() => normalizeChannelName(name), JSON.stringify(name))
  })
  it(`allows depth ${CHANNEL_DEPTH_MAX} (root included) and rejects one more`, () => {
    const parts = Array.from({ length: CHANNEL_DEPTH_MAX - 1 }, (_, i) => `c${i}`)
    expect(normalizeChannelName(parts.join('.')).split('.')).toHaveLength(CHANNEL_DEPTH_MAX)
    expectInvalid(() => normalizeChannelName([...parts, 'x'].join('.')), 'deeper than 16')
    expectInvalid(() => normalizeChannelName([ROOT, ...parts, 'x'].join('.')), 'deeper than 16')
    expectInvalid(() => parseChannelConfig(`${[...parts, 'x'].join('.')}:1`), 'deeper than 16')
  })
})

describe('parentChannelName', () => {
  it.each([
    ['root', null],
    ['', null],
    ['root.a', 'root'],
    ['a', 'root'],
    ['root.a.b', 'root.a'],
    ['a b.c d', 'root.a b'],
  ])('%j -> %j', (name, parent) => {
    expect(parentChannelName(name)).toBe(parent)
  })
  it('rejects invalid names', () => {
    expectInvalid(() => parentChannelName('a..b'), '"a..b"')
  })
})
