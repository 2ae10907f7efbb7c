// Proves the payload boundary: every refused value is reported with its exact path, accepted values
// are deep copies (later mutation of the input cannot reach the stored job), and serializableEqual.
import { describe, expect, it } from 'vitest'
import { NotSerializableError } from '../../src/engine/errors.js'
import { PAYLOAD_BYTES_MAX, PAYLOAD_DEPTH_MAX } from '../../src/engine/core/limits.js'
import { cloneArgs, cloneSerializable, serializableEqual } from '../../src/storage/serialize.js'

/** Runs `f`, expects a NotSerializableError, returns it. */
function refusal(f: () => unknown): NotSerializableError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(NotSerializableError)
    return error as NotSerializableError
  }
  throw new Error('expected a NotSerializableError, nothing was thrown')
}

/** `levels` arrays nested inside each other, the innermost holding 1. */
function nested(levels: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

class Point {
  constructor(readonly x: number) {}
}

describe('cloneArgs refusals name the exact path', () => {
  const cases: Array<[string, unknown[], string, RegExp]> = [
    ['function', [{ f: () => 1 }], 'args[0].f', /a function/],
    ['symbol', [1, Symbol('s')], 'args[1]', /symbol \(Symbol\(s\)\)/],
    ['bigint', [10n], 'args[0]', /bigint \(10n\)/],
    ['NaN', [{ a: [NaN] }], 'args[0].a[0]', /is NaN/],
    ['Infinity', [Infinity], 'args[0]', /is Infinity/],
    ['-Infinity', [[0, -Infinity]], 'args[0][1]', /is -Infinity/],
    ['undefined argument', [1, undefined], 'args[1]', /undefined inside an array/],
    ['undefined in array', [[1, undefined]], 'args[0][1]', /undefined inside an array/],
    // eslint-disable-next-line no-sparse-arrays
    ['hole', [[1, , 3]], 'args[0][1]', /sparse array/],
    ['Map', [{ m: new Map() }], 'args[0].m', /instance of Map/],
    ['Set', [new Set([1])], 'args[0]', /instance of Set/],
    ['RegExp', [/x/], 'args[0]', /instance of RegExp/],
    ['Buffer', [Buffer.from('x')], 'args[0]', /instance of Buffer/],
    ['Uint8Array', [[new Uint8Array(2)]], 'args[0][0]', /instance of Uint8Array/],
    ['user class', [{ p: new Point(1) }], 'args[0].p', /instance of Point/],
    ['Array subclass', [new (class Tuple extends Array {})()], 'args[0]', /instance of Tuple/],
    ['custom prototype', [Object.create({ inherited: 1 }) as unknown], 'args[0]', /custom prototype/],
    ['invalid Date', [{ when: new Date('nope') }], 'args[0].when', /invalid Date/],
    ['symbol key', [{ a: { [Symbol('tag')]: 1 } }], 'args[0].a', /symbol-keyed property Symbol\(tag\)/],
  ]
  it.each(cases)('%s', (_name, args, path, message) => {
    const error = refusal(() => cloneArgs(args))
    expect(error.path).toBe(path)
    expect(error.code).toBe('NOT_SERIALIZABLE')
    expect(error.message.startsWith(`${path} `)).toBe(true)
    expect(error.message).toMatch(message)
  })

  it('writes nested paths with identifiers as .key and other keys quoted', () => {
    expect(refusal(() => cloneArgs([{ when: [1, 2, NaN] }])).path).toBe('args[0].when[2]')
    expect(refusal(() => cloneArgs([{ 'a b': () => 0 }])).path).toBe('args[0]["a b"]')
    expect(refusal(() => cloneArgs([0, { $ok_1: { '0': [[1n]] } }])).path).toBe('args[1].$ok_1["0"][0][0]')
    expect(refusal(() => cloneArgs([{ 'q"': NaN }])).path).toBe('args[0]["q\\""]')
  })

  it('refuses a non-array arguments value', () => {
    expect(refusal(() => cloneArgs('x' as unknown as unknown[])).path).toBe('args')
  })

  it('ignores non-enumerable symbol keys, like non-enumerable string keys', () => {
    const value = {}
    Object.defineProperty(value, Symbol('hidden'), { value: 1, enumerable: false })
    expect(cloneArgs([value])).toEqual([{}])
  })
})

describe('cloneSerializable uses the root as the path prefix', () => {
  it('reports the root itself', () => {
    expect(refusal(() => cloneSerializable(undefined, 'result')).path).toBe('result')
    expect(refusal(() => cloneSerializable(() => 0, 'context')).path).toBe('context')
  })

  it('reports paths below the root', () => {
    expect(refusal(() => cloneSerializable({ tz: Symbol('x') }, 'context')).path).toBe('context.tz')
    expect(refusal(() => cloneSerializable([1, [NaN]], 'records')).path).toBe('records[1][0]')
  })
})

describe('cycles and shared references', () => {
  it('refuses an object cycle, naming where the object first appeared', () => {
    const a: Record<string, unknown> = { x: {} }
    ;(a.x as Record<string, unknown>).back = a
    const error = refusal(() => cloneArgs([1, a]))
    expect(error.path).toBe('args[1].x.back')
    expect(error.message).toMatch(/circular reference to args\[1\], where it first appeared/)
  })

  it('refuses an array containing itself and an args array containing itself', () => {
    const list: unknown[] = [1]
    list.push(list)
    expect(refusal(() => cloneSerializable({ list }, 'v')).message).toMatch(/^v\.list\[1\] is a circular reference to v\.list,/)
    const args: unknown[] = []
    args.push(args)
    expect(refusal(() => cloneArgs(args)).message).toMatch(/^args\[0\] is a circular reference to args,/)
    const self: Record<string, unknown> = {}
    self.me = self
    expect(refusal(() => cloneSerializable(self, 'v')).message).toMatch(/^v\.me is a circular reference to v,/)
  })

  it('accepts a DAG and copies the shared object once per reference', () => {
    const shared = { n: 1, deep: [1, 2] }
    const value = { a: shared, b: [shared, { c: shared }] }
    const copy = cloneSerializable(value, 'v')
    expect(copy).toEqual(value)
    expect(copy.a).not.toBe(shared)
    expect(copy.b[0]).not.toBe(copy.a)
    expect((copy.b[1] as { c: unknown }).c).not.toBe(copy.a)
    expect(copy.a.deep).not.toBe(shared.deep)
  })
})

describe('copying', () => {
  it('freezes flat arguments in an array the caller owns (a rest parameter), and copies one it does not', () => {
    const owned = [1, 'a', true, null]
    expect(cloneArgs(owned, true)).toBe(owned)
    expect(Object.isFrozen(owned)).toBe(true)
    const theirs = [1, 'a']
    const copy = cloneArgs(theirs)
    expect(copy).not.toBe(theirs)
    expect(Object.isFrozen(theirs)).toBe(false)
    // Not flat: copied by the walk either way, the caller's array left as it is.
    const nested = [{ a: 1 }]
    expect(cloneArgs(nested, true)).not.toBe(nested)
    expect(Object.isFrozen(nested)).toBe(false)
  })

  it('returns a deep copy that later mutation of the input does not change', () => {
    const when = new Date(Date.UTC(2026, 0, 2))
    const input = { size: [50, 50], meta: { tags: ['x'] }, when }
    const [copy] = cloneArgs([input]) as [typeof input]
    input.size.push(1)
    input.meta.tags[0] = 'changed'
    when.setUTCFullYear(1999)
    expect(copy).toEqual({ size: [50, 50], meta: { tags: ['x'] }, when: new Date(Date.UTC(2026, 0, 2)) })
    expect(copy.when).toBeInstanceOf(Date)
    expect(copy.when).not.toBe(when)
  })

  it('drops object properties whose value is undefined', () => {
    const copy = cloneSerializable({ a: 1, b: undefined }, 'v')
    expect(Object.keys(copy)).toEqual(['a'])
  })

  it('accepts null-prototype objects and reads getters as values', () => {
    const bare = Object.create(null) as Record<string, unknown>
    bare.k = 'v'
    const withGetter = { get g() { return 42 } }
    expect(cloneArgs([bare, withGetter])).toEqual([{ k: 'v' }, { g: 42 }])
  })

  it('keeps a "__proto__" key as data without changing the prototype of the copy', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>
    const copy = cloneSerializable(input, 'v')
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.hasOwn(copy, '__proto__')).toBe(true)
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined()
    expect(serializableEqual(copy, input)).toBe(true)
  })

  it('passes primitives through', () => {
    expect(cloneArgs([null, true, 0, -1.5, '', 'é'])).toEqual([null, true, 0, -1.5, '', 'é'])
  })
})

describe('limits', () => {
  it(`accepts ${PAYLOAD_DEPTH_MAX} nested levels and refuses one more`, () => {
    expect(cloneArgs([nested(PAYLOAD_DEPTH_MAX)])).toEqual([nested(PAYLOAD_DEPTH_MAX)])
    const error = refusal(() => cloneArgs([nested(PAYLOAD_DEPTH_MAX + 1)]))
    expect(error.path).toBe(`args[0]${'[0]'.repeat(PAYLOAD_DEPTH_MAX)}`)
    expect(error.message).toMatch(/PAYLOAD_DEPTH_MAX \(64\)/)
  })

  it('refuses payloads over the byte budget and says what the limit is', () => {
    const error = refusal(() => cloneArgs(['ok', { big: 'x'.repeat(PAYLOAD_BYTES_MAX) }]))
    expect(error.path).toBe('args[1].big')
    expect(error.message).toContain(`${PAYLOAD_BYTES_MAX} bytes`)
    // Numbers count too: many small values add up.
    const many = new Array<number>(PAYLOAD_BYTES_MAX / 8).fill(1)
    expect(refusal(() => cloneArgs([many])).path).toMatch(/^args\[0\]\[\d+\]$/)
    expect(cloneArgs(['x'.repeat(PAYLOAD_BYTES_MAX / 2)])[0]).toHaveLength(PAYLOAD_BYTES_MAX / 2)
  })
})

describe('serializableEqual', () => {
  const equal: Array<[string, unknown, unknown]> = [
    ['primitives', [1, 'a', null, true], [1, 'a', null, true]],
    ['key order', { a: 1, b: [2] }, { b: [2], a: 1 }],
    ['Dates by time', { t: new Date(5) }, { t: new Date(5) }],
    ['undefined properties as absent', { a: 1, b: undefined }, { a: 1 }],
    ['null prototype vs plain', Object.assign(Object.create(null) as object, { a: 1 }), { a: 1 }],
    ['-0 and 0', [-0], [0]],
    ['empty containers', [[], {}], [[], {}]],
  ]
  it.each(equal)('equal: %s', (_name, a, b) => {
    expect(serializableEqual(a, b)).toBe(true)
    expect(serializableEqual(b, a)).toBe(true)
  })

  const different: Array<[string, unknown, unknown]> = [
    ['numbers', [1], [2]],
    ['number vs string', 1, '1'],
    ['array lengths', [1, 2], [1]],
    ['array vs object', [1], { 0: 1 }],
    ['Dates by time', new Date(5), new Date(6)],
    ['Date vs number', new Date(5), 5],
    ['Date vs object', new Date(5), {}],
    ['missing key', { a: 1, b: 2 }, { a: 1 }],
    ['null vs object', null, {}],
    ['deep difference', { a: [{ b: [1, { c: 'x' }] }] }, { a: [{ b: [1, { c: 'y' }] }] }],
    ['class instance vs plain', new Point(1), { x: 1 }],
  ]
  it.each(different)('different: %s', (_name, a, b) => {
    expect(serializableEqual(a, b)).toBe(false)
    expect(serializableEqual(b, a)).toBe(false)
  })

  it('holds between a value and its clone', () => {
    const value = { s: 'x', n: [1, 2.5, { d: new Date(0) }], o: { p: null } }
    expect(serializableEqual(cloneSerializable(value, 'v'), value)).toBe(true)
  })

  it('terminates on two distinct cycles (which cannot be stored) and returns false', () => {
    const a: Record<string, unknown> = {}
    a.self = a
    const b: Record<string, unknown> = {}
    b.self = b
    expect(serializableEqual(a, b)).toBe(false)
  })
})
