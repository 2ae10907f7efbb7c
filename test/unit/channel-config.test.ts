// Proves channel-config.ts parses channel strings like queue_job's parse_simple_config /
// Channel.configure / simple_configure (doctests ported), with Wharf's strict names, options and flags.
import { describe, expect, it } from 'vitest'
import { CHANNEL_DEPTH_MAX, DELAY_SECONDS_MAX } from '../../src/engine/core/limits.js'
import {
  ROOT,
  formatChannelConfig,
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
  it('root:4,root.sub:2:sequential is refused, as simple_configure would refuse it', () => {
    // queue_job's parse step accepts it and Channel.configure raises; this module does both steps.
    // (The doctest's ':k=v' is left out: Wharf refuses unknown options, see below.)
    expectInvalid(
      () => parseChannelConfig('root:4,root.sub:2:sequential'),
      '"root.sub:2:sequential"',
      'A sequential channel must have a capacity of 1',
    )
  })
  it('a name alone has capacity 1; sub:2 is root.sub', () => {
    expect(parseChannelConfig('root')).toEqual([cfg('root', 1)])
    expect(parseChannelConfig('sub:2')).toEqual([cfg('root.sub', 2)])
  })
  it('ignores whitespace around entries, ":" and "=", and empty entries', () => {
    // Wharf: the doctest's 'foo bar' name and 'k=va lue' option are refused (see the error tests).
    const text = '\n    root : 4,\n    ,\n    foo_bar : 1 : throttle = 3 ,\n'
    expect(parseChannelConfig(text)).toEqual([cfg('root', 4), cfg('root.foo_bar', 1, { throttleSeconds: 3 })])
  })
  it('accepts line breaks instead of commas', () => {
    const text = '\n    root : 4\n    foo-bar:1\n    baz\n'
    expect(parseChannelConfig(text)).toEqual([cfg('root', 4), cfg('root.foo-bar', 1), cfg('root.baz', 1)])
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
  it('returns sequential=true for a bare key', () => {
    expect(parseChannelConfig('root.sub:1:sequential')).toEqual([cfg('root.sub', 1, { sequential: true })])
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
  it('reads sequential/paused as bare key or =true (true) and =false (false), not Python bool()', () => {
    expect(parseChannelConfig('a:1:sequential')[0]?.sequential).toBe(true)
    expect(parseChannelConfig('a:1:sequential=true')[0]?.sequential).toBe(true)
    expect(parseChannelConfig('a:1:sequential=false')[0]?.sequential).toBe(false)
    expect(parseChannelConfig('a:2:sequential=false')[0]?.sequential).toBe(false)
    expect(parseChannelConfig('a:2:paused')[0]?.paused).toBe(true)
    expect(parseChannelConfig('a:2:paused=true')[0]?.paused).toBe(true)
    expect(parseChannelConfig('a:2:paused=false')[0]?.paused).toBe(false)
    expect(parseChannelConfig('a:2')[0]?.paused).toBe(false)
  })
  it('reads throttle (bare key = int(True) = 1) and remove_after_days', () => {
    expect(parseChannelConfig('a:2:throttle = 5')[0]?.throttleSeconds).toBe(5)
    expect(parseChannelConfig('a:2:throttle=0')[0]?.throttleSeconds).toBe(0)
    expect(parseChannelConfig('a:2:throttle')[0]?.throttleSeconds).toBe(1)
    expect(parseChannelConfig('a:2:remove_after_days=60')[0]?.removeAfterDays).toBe(60)
  })
  it('refuses an empty option (queue_job accepted it as an unknown key)', () => {
    expectInvalid(() => parseChannelConfig('a:2:'), '"a:2:"', 'unknown option ""')
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
    ['a:1:throttle:throttle=2', 'throttle'],
    ['a:1:name=x', 'name'],
    ['a:1:capacity=2', 'capacity'],
    ['a:1:sequential:sequential', 'sequential'],
  ])('duplicate key in %j', (entry, key) => {
    expectInvalid(() => parseChannelConfig(entry), JSON.stringify(entry), `duplicate key "${key}"`)
  })
  it.each(['throttle=-1', 'throttle=x', 'throttle=', 'throttle=1.5'])('invalid %s', (option) => {
    expectInvalid(() => parseChannelConfig(`a:2:${option}`), `"a:2:${option}"`, 'invalid throttle')
  })
  it('a throttle longer than the latest time Wharf stores is refused, not kept as a window past it', () => {
    // 99999999999999 s once became a throttle of 99999999999999.02 s in stats() (ms not exact).
    expect(parseChannelConfig(`a:2:throttle=${DELAY_SECONDS_MAX}`)[0]?.throttleSeconds).toBe(DELAY_SECONDS_MAX)
    const entry = `a:2:throttle=${DELAY_SECONDS_MAX + 1}`
    expectInvalid(() => parseChannelConfig(entry), JSON.stringify(entry), `invalid throttle "${DELAY_SECONDS_MAX + 1}": at most DELAY_SECONDS_MAX`)
    expectInvalid(() => parseChannelConfig('a:2:throttle=99999999999999'), 'invalid throttle "99999999999999"')
  })
  it.each(['remove_after_days=0', 'remove_after_days=-3', 'remove_after_days=x', 'remove_after_days'])(
    'invalid %s',
    (option) => {
      expectInvalid(() => parseChannelConfig(`a:2:${option}`), `"a:2:${option}"`, 'invalid remove_after_days')
    },
  )
  it('a sequential channel must have capacity 1', () => {
    expectInvalid(() => parseChannelConfig('s:2:sequential'), '"s:2:sequential"', 'A sequential channel must have a capacity of 1')
    expectInvalid(() => parseChannelConfig('s:0:sequential=true'), 'A sequential channel must have a capacity of 1')
  })
  it('invalid names inside an entry', () => {
    expectInvalid(() => parseChannelConfig('a..b:2'), '"a..b:2"', 'empty segment')
    expectInvalid(() => parseChannelConfig('a.:2'), '"a.:2"', 'empty segment')
    expectInvalid(() => parseChannelConfig('a . b:2'), '"a . b:2"', "only letters, digits, '_' and '-'")
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
    ['root.Root', 'root.Root'],
    ['  my_channel.sub-2 ', 'root.my_channel.sub-2'],
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
    ['a_b.c-d', 'root.a_b'],
  ])('%j -> %j', (name, parent) => {
    expect(parentChannelName(name)).toBe(parent)
  })
  it('rejects invalid names', () => {
    expectInvalid(() => parentChannelName('a..b'), '"a..b"')
  })
})

// Regression tests for API.md 0.2 "Channel configuration is strict".
describe('strict channel configuration (0.2)', () => {
  it.each(['a:1:sequentail', 'a:1:throtle=10', 'a:1:pause', 'a:1:k=v', 'root:4, mail : 2 : sequentail '])(
    'refuses the unknown option in %j, naming the entry',
    (text) => {
      const entry = text.split(',').at(-1)!.trim()
      expectInvalid(() => parseChannelConfig(text), JSON.stringify(entry), 'unknown option')
    },
  )
  it.each(['root.a b:1', 'Root.Mail:1', 'ROOT:2', 'root..a:1', 'root.a.:1', 'a/b:1', 'root.é:1', 'root.a+b'])(
    'refuses the malformed name in %j, naming the entry',
    (entry) => {
      expectInvalid(() => parseChannelConfig(`root:2,${entry}`), JSON.stringify(entry))
    },
  )
  it('accepts letters, digits, _ and - in segments, with spaces trimmed around entries, ":" and "="', () => {
    expect(parseChannelConfig('  root : 3 ,  Mail_2.sub-x : 1 : sequential = true : throttle = 2  ')).toEqual([
      cfg('root', 3),
      cfg('root.Mail_2.sub-x', 1, { sequential: true, throttleSeconds: 2 }),
    ])
  })
  it('sequential and sequential=true mean sequential, sequential=false does not', () => {
    expect(parseChannelConfig('a:1:sequential,b:1:sequential=true,c:1:sequential=false').map((c) => c.sequential)).toEqual([true, true, false])
  })
  it.each(['sequential=0', 'sequential=yes', 'sequential=', 'paused=no', 'paused='])('refuses the flag value in %j', (option) => {
    expectInvalid(() => parseChannelConfig(`a:1:${option}`), `"a:1:${option}"`, 'invalid')
  })
  it('a later entry for the same channel still wins', () => {
    const merged = mergeChannelConfig(parseChannelConfig('mail:1:sequential, root.mail : 3'))
    expect(merged.get('root.mail')).toEqual(cfg('root.mail', 3))
  })
  it.each(['Root', 'Root.Mail', 'root.a b', 'a b', 'root.mail:2', 'a/b'])('normalizeChannelName refuses %j, naming it', (name) => {
    expectInvalid(() => normalizeChannelName(name), JSON.stringify(name))
  })
})

describe('formatChannelConfig (what a cluster scheduler publishes)', () => {
  it('writes each channel once, the later entry winning, every option spelled out, so that it parses back to the merged entries', () => {
    const text = ' mail : 2 : throttle = 10 , root:4, root.seq:1:sequential, mail:3:paused:remove_after_days=7, root.off:0 '
    const formatted = formatChannelConfig(parseChannelConfig(text))
    expect(formatted).toBe('root.mail:3:paused:remove_after_days=7,root:4,root.seq:1:sequential,root.off:0')
    expect(parseChannelConfig(formatted)).toEqual([...mergeChannelConfig(parseChannelConfig(text)).values()])
    expect(formatChannelConfig(parseChannelConfig('root.t:1:throttle'))).toBe('root.t:1:throttle=1')
  })
})
