// The stored form of a finished job: whatever a JobView holds comes back equal (fast-check over
// every field), the common job is stored small, and bytes that are not a view are refused.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { JobView } from '../../src/engine/core/view.js'
import { crc32 } from '../../src/storage/crc32.js'
import { decodeView, encodeView, encodeViewStringified, ViewDecodeError } from '../../src/storage/view-codec.js'
import { TRICKY_ARGS } from './event-log-contract.js'

const time = fc.option(fc.integer({ min: 0, max: 4_000_000_000_000 }), { nil: null })
const text = fc.string({ maxLength: 12 })
const arbView: fc.Arbitrary<JobView> = fc.record({
  uuid: fc.string({ minLength: 1, maxLength: 26 }),
  graphUuid: fc.option(text, { nil: null }),
  model: text,
  method: text,
  records: fc.array(fc.oneof(fc.integer(), text), { maxLength: 3 }),
  args: fc.array(fc.oneof(fc.jsonValue(), fc.date({ noInvalidDate: true }), fc.constantFrom(...TRICKY_ARGS)), { maxLength: 4 }),
  context: fc.dictionary(text, fc.jsonValue(), { maxKeys: 3 }),
  state: fc.constantFrom('done' as const, 'cancelled' as const),
  priority: fc.integer(),
  eta: time,
  maxRetries: fc.nat(),
  retry: fc.nat(),
  description: text,
  channel: text,
  identityKey: fc.option(text, { nil: null }),
  dependsOn: fc.array(text, { maxLength: 3 }),
  dependents: fc.array(text, { maxLength: 3 }),
  result: fc.oneof(fc.jsonValue(), fc.date({ noInvalidDate: true })),
  excName: fc.option(text, { nil: null }),
  excMessage: fc.option(text, { nil: null }),
  excInfo: fc.option(text, { nil: null }),
  createdAt: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  enqueuedAt: time,
  startedAt: time,
  doneAt: time,
  cancelledAt: time,
  execTimeMs: fc.option(fc.integer(), { nil: null }),
  progress: fc.option(fc.record({ fraction: fc.double({ min: 0, max: 1, noNaN: true }).map((f) => f + 0), message: fc.option(text, { nil: null }) }), { nil: null }),
  node: fc.option(text, { nil: null }),
  batchUuid: fc.option(text, { nil: null }),
})

/** The positional fields of a stored (checked) view. */
const fieldsOf = (bytes: Buffer): unknown[] => JSON.parse(bytes.toString('utf8', 5)) as unknown[]

/** A checked view of `format` holding `fields`, as an older build stored it. */
function stored(format: number, fields: unknown[], uuid: string): Buffer {
  const text = Buffer.from(JSON.stringify(fields), 'utf8')
  const out = Buffer.alloc(5 + text.length)
  out[0] = format
  text.copy(out, 5)
  out.writeUInt32BE(crc32(text, crc32(Buffer.from(uuid, 'utf8'))), 1)
  return out
}

describe('view codec', () => {
  it('gives back every view it stores, field for field', () => {
    fc.assert(
      fc.property(arbView, fc.boolean(), (view, defaultDescription) => {
        if (defaultDescription) view.description = `${view.model}.${view.method}`
        // JSON has no -0 outside tagged values; the engine's views never hold one in a number field.
        expect(decodeView(encodeView(view), view.uuid)).toEqual(view)
      }),
      { numRuns: 300 },
    )
  })

  it('stores the common finished job in under 160 bytes', () => {
    const view: JobView = {
      uuid: '01M8MJSBRSZ7324C4V313RYMK0', graphUuid: null, model: 'bench', method: 'noop', records: [1], args: [0], context: {},
      state: 'done', priority: 10, eta: null, maxRetries: 5, retry: 1, description: 'bench.noop', channel: 'root',
      identityKey: null, dependsOn: [], dependents: [], result: null, excName: null, excMessage: null, excInfo: null,
      createdAt: 1795987123993, enqueuedAt: 1795987124003, startedAt: 1795987124003, doneAt: 1795987124038, cancelledAt: null, execTimeMs: 35,
      progress: null, node: null, batchUuid: null,
    }
    const bytes = encodeView(view)
    expect(bytes.length).toBeLessThan(160)
    expect(decodeView(bytes, view.uuid)).toEqual(view)
  })

  it('checksums a view with its uuid: a flipped byte, or the view under another key, is refused; format 3 still reads', () => {
    const view: JobView = {
      uuid: 'job-1', graphUuid: null, model: 'm', method: 'f', records: [], args: [7], context: {},
      state: 'done', priority: 10, eta: null, maxRetries: 5, retry: 0, description: 'm.f', channel: 'root',
      identityKey: null, dependsOn: [], dependents: [], result: 42, excName: null, excMessage: null, excInfo: null,
      createdAt: 1000, enqueuedAt: 1000, startedAt: 1001, doneAt: 1002, cancelledAt: null, execTimeMs: 1,
      progress: null, node: null, batchUuid: null,
    }
    const bytes = encodeView(view)
    // A digit of the result changed: still valid JSON, so only the checksum can tell.
    const flipped = Buffer.from(bytes.toString('latin1').replace('42', '43'), 'latin1')
    expect(() => decodeView(flipped, view.uuid)).toThrow(/checksum mismatch/)
    expect(() => decodeView(bytes, 'job-2')).toThrow(/checksum mismatch/)
    const legacy = Buffer.concat([Buffer.from([3]), bytes.subarray(5)])
    expect(decodeView(legacy, view.uuid)).toEqual(view)
  })

  /** A finished job of batch-1, as the next tests store it. */
  const batched: JobView = {
    uuid: 'job-b', graphUuid: null, model: 'm', method: 'f', records: [], args: [], context: {},
    state: 'done', priority: 10, eta: null, maxRetries: 5, retry: 1, description: 'm.f', channel: 'root',
    identityKey: null, dependsOn: [], dependents: [], result: null, excName: null, excMessage: null, excInfo: null,
    createdAt: 1000, enqueuedAt: 1000, startedAt: 1001, doneAt: 1002, cancelledAt: null, execTimeMs: 1,
    progress: null, node: null, batchUuid: 'batch-1',
  }

  it('stores the batch uuid (format 9, now 11) after the progress; reads format 7 (no batch) as batchUuid null', () => {
    const view = batched
    const bytes = encodeView(view)
    expect(bytes[0]).toBe(11)
    expect(fieldsOf(bytes).slice(25)).toEqual([null, 'batch-1'])
    expect(decodeView(bytes, view.uuid)).toEqual(view)
    const timed = encodeView({ ...view, execTimeMs: 99 })
    expect(fieldsOf(timed).slice(25)).toEqual([null, 'batch-1', null, 99])
    expect(decodeView(timed, view.uuid)).toEqual({ ...view, execTimeMs: 99 })
    // Format 7 (progress, then an execution time of its own) reads with no batch.
    const format7 = stored(7, [...fieldsOf(bytes).slice(0, 25), [0.5, null], 99], view.uuid)
    expect(decodeView(format7, view.uuid)).toEqual({ ...view, batchUuid: null, progress: { fraction: 0.5, message: null }, execTimeMs: 99 })
    expect(() => decodeView(stored(9, [...fieldsOf(bytes).slice(0, 25), null, 7], view.uuid), view.uuid)).toThrow(/holds/)
  })

  it('stores the node of the latest try (format 11) after the batch; reads format 9 and 10 (no node) as node null', () => {
    const view: JobView = { ...batched, uuid: 'job-n', node: 'web-2', batchUuid: null }
    const bytes = encodeView(view)
    expect(bytes[0]).toBe(11)
    expect(fieldsOf(bytes).slice(25)).toEqual([null, null, 'web-2'])
    expect(decodeView(bytes, view.uuid)).toEqual(view)
    const timed = encodeView({ ...view, execTimeMs: 99 })
    expect(fieldsOf(timed).slice(25)).toEqual([null, null, 'web-2', 99])
    expect(decodeView(timed, view.uuid)).toEqual({ ...view, execTimeMs: 99 })
    // Views an older build stored, in format 9 (with an execution time of its own) and 10
    // (tagged): no node, so null — the third optional field of 9 is its execution time.
    const base = fieldsOf(bytes).slice(0, 25)
    expect(decodeView(stored(9, [...base, null, 'batch-1', 99], view.uuid), view.uuid)).toEqual({ ...view, node: null, batchUuid: 'batch-1', execTimeMs: 99 })
    expect(decodeView(stored(10, [...base, null, 'batch-1'], view.uuid), view.uuid)).toEqual({ ...view, node: null, batchUuid: 'batch-1' })
    expect(() => decodeView(stored(11, [...base, null, null, 7], view.uuid), view.uuid)).toThrow(/holds/)
  })

  it('stores progress (format 7; 9 since batches, 11 since nodes), and reads the formats before it (5: no progress) as progress null', () => {
    const view: JobView = {
      uuid: 'job-p', graphUuid: null, model: 'm', method: 'f', records: [], args: [], context: {},
      state: 'done', priority: 10, eta: null, maxRetries: 5, retry: 1, description: 'm.f', channel: 'root',
      identityKey: null, dependsOn: [], dependents: [], result: null, excName: null, excMessage: null, excInfo: null,
      createdAt: 1000, enqueuedAt: 1000, startedAt: 1001, doneAt: 1002, cancelledAt: null, execTimeMs: 1,
      progress: { fraction: 0.5, message: 'half' }, node: null, batchUuid: null,
    }
    const bytes = encodeView(view)
    expect(bytes[0]).toBe(11)
    expect(decodeView(bytes, view.uuid)).toEqual(view)
    // No progress and the derived execution time: nothing is stored for either.
    const plain = encodeView({ ...view, progress: null })
    expect(fieldsOf(plain)).toHaveLength(25)
    // An execution time of its own follows the progress, the batch and the node (null here) …
    const timed = encodeView({ ...view, progress: null, execTimeMs: 99 })
    expect(fieldsOf(timed).slice(25)).toEqual([null, null, null, 99])
    expect(decodeView(timed, view.uuid)).toEqual({ ...view, progress: null, execTimeMs: 99 })
    // … and right after the 25 fields in format 5, which has no progress.
    const format5 = stored(5, [...fieldsOf(plain), 99], view.uuid)
    expect(decodeView(format5, view.uuid)).toEqual({ ...view, progress: null, execTimeMs: 99 })
    expect(() => decodeView(stored(7, [...fieldsOf(plain), 'half'], view.uuid), view.uuid)).toThrow(/holds/)
  })

  it('refuses bytes that are not a stored view, saying why', () => {
    expect(() => decodeView(Buffer.from([13, 0x5b, 0x5d]), 'u')).toThrow(new ViewDecodeError('unknown format 13'))
    expect(() => decodeView(Buffer.from('\x03[1,', 'latin1'), 'u')).toThrow(/unreadable/)
    expect(() => decodeView(Buffer.from('\x03[1,2]', 'latin1'), 'u')).toThrow(/holds \[1,2\]/)
    // The named form of 0.2 development builds is not read as a positional one.
    expect(() => decodeView(Buffer.from('\x01{"uuid":"u"}', 'latin1'), 'u')).toThrow(ViewDecodeError)
  })

  it('writes the same bytes as JSON.stringify would, for every value a view can hold (json-bytes.ts)', () => {
    // What the byte writer must get exactly right, or leave to JSON.stringify: escapes, UTF-8,
    // lone surrogates, number forms, holes, undefined, inherited keys, toJSON, tagged values.
    class Point {
      constructor(readonly x: number) {}
    }
    const inherited = Object.create({ shared: 1 }) as Record<string, unknown>
    inherited.own = 2
    const awkward: unknown[] = [
      'quote " backslash \\ tab \t nul \x00 del \x7f', '\u2028 é ✓ 😀', '\ud800 lone', '\udc00', 'café', '\x80\xff', '',
      0, 1, -1, 10, 1e21, -1e21, 2 ** 53, 2 ** 53 + 2, 1.5, -0.25, 5e-7, Number.MAX_VALUE, Number.MIN_VALUE, -0, NaN, Infinity,
      true, false, null, undefined, [1, , 3], [undefined, () => 1], { a: undefined, b: 1 }, { f: () => 1 }, inherited,
      { toJSON: () => 'x' }, new Point(1), new Date(5), { $ref: 1 }, [{ $ref: 1 }], [[[-0]]], [[new Date(0)]],
      { '': { deep: ['x', { y: '\n' }] } }, Object.create(null) as object, new Map([[1, 2]]), [{}, []], 10n,
    ]
    const base: JobView = {
      uuid: '01M8MJSBRSZ7324C4V313RYMK0', graphUuid: null, model: 'm', method: 'f', records: [1], args: [], context: {},
      state: 'done', priority: 10, eta: null, maxRetries: 5, retry: 1, description: 'm.f', channel: 'root',
      identityKey: null, dependsOn: [], dependents: [], result: null, excName: null, excMessage: null, excInfo: null,
      createdAt: 1795987123993, enqueuedAt: 1795987124003, startedAt: 1795987124003, doneAt: 1795987124038, cancelledAt: null, execTimeMs: 35,
      progress: null, node: null, batchUuid: null,
    }
    const same = (view: JobView): void => {
      let expected: Buffer | Error
      try {
        expected = encodeViewStringified(view)
      } catch (error) {
        expected = error as Error
      }
      if (expected instanceof Error) expect(() => encodeView(view)).toThrow(expected.message)
      else expect(encodeView(view).equals(expected)).toBe(true)
    }
    for (const value of awkward) {
      for (const view of [{ ...base, result: value }, { ...base, args: [value] }, { ...base, context: { k: value } }, { ...base, excInfo: value as string }]) same(view)
    }
    fc.assert(
      fc.property(arbView, fc.string({ unit: 'binary', maxLength: 8 }), fc.double(), (view, s, d) => {
        same(view)
        same({ ...view, model: s, excMessage: s, result: [s, d, { [s]: d }], args: [d] })
      }),
      { numRuns: 300 },
    )
  })
})

