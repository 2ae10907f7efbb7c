// Proves a handler's result is checked like arguments (an unstorable one fails the try with
// NotSerializableError at its path) and that a thrown non-Error keeps its type and JSON.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, Wharf, type JobContext } from '../../src/index.js'
import { EXC_MESSAGE_LENGTH_MAX } from '../../src/engine/core/limits.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

/** Runs one job whose handler returns (or throws, with `throws`) `value`; returns its JobView. */
async function runOne(value: () => unknown, throws = false) {
  const wharf = await Wharf.open({ clock: new FakeClock() })
  opened.push(wharf)
  const model = wharf.model('test.job', {
    async run(this: JobContext) {
      if (throws) throw value()
      return value()
    },
  })
  const job = await model.withDelay({ maxRetries: 1 }).run()
  await wharf.start()
  await wharf.drain()
  return (await wharf.job(job.uuid))!
}

class Money {
  constructor(readonly cents: number) {}
}

describe('a result the log cannot hold', () => {
  it.each([
    ['a function deep inside', () => ({ a: { b: () => 1 } }), 'result.a.b'],
    ['a class instance', () => ({ total: new Money(5) }), 'result.total'],
    ['NaN in an array', () => [1, Number.NaN], 'result[1]'],
    ['a bigint at the top', () => 10n, 'result'],
    ['a Map', () => new Map([[1, 2]]), 'result'],
  ])('(%s) fails the job with NotSerializableError naming %s', async (_what, value, path) => {
    const view = await runOne(value)
    expect(view.state).toBe('failed')
    expect(view.excName).toBe('NotSerializableError')
    expect(view.excMessage?.startsWith(`${path} `)).toBe(true)
    expect(view.result).toBe(null)
  })

  it('a cyclic result fails too, instead of being stored as "[object Object]"', async () => {
    const view = await runOne(() => {
      const a: Record<string, unknown> = {}
      a.self = a
      return a
    })
    expect([view.state, view.excName]).toEqual(['failed', 'NotSerializableError'])
    expect(view.excMessage).toContain('result.self')
  })

  it('a result whose getter throws fails the job with that error, and the engine goes on', async () => {
    const view = await runOne(() => ({
      get total(): number {
        throw new RangeError('no total')
      },
    }))
    expect(view).toMatchObject({ state: 'failed', excName: 'RangeError', excMessage: 'no total' })
  })

  it('a storable result is still stored as is', async () => {
    const view = await runOne(() => ({ at: new Date(5), list: [1, 'two', null] }))
    expect(view.state).toBe('done')
    expect(view.result).toEqual({ at: new Date(5), list: [1, 'two', null] })
  })
})

describe('a thrown value that is not an Error', () => {
  it.each([
    ['an object', () => ({ code: 42, why: 'nope' }), 'object', '{"code":42,"why":"nope"}'],
    ['a string', () => 'boom', 'string', '"boom"'],
    ['a number', () => 7, 'number', '7'],
    ['null', () => null, 'object', 'null'],
    ['an array', () => [1, 'x'], 'object', '[1,"x"]'],
    ['a boolean', () => false, 'boolean', 'false'],
    ['undefined', () => undefined, 'undefined', 'undefined'],
  ])('(%s) fails the job with excName its type and excMessage its JSON', async (_what, value, excName, excMessage) => {
    const view = await runOne(value, true)
    expect(view).toMatchObject({ state: 'failed', excName, excMessage })
  })

  it(`cuts the JSON at ${EXC_MESSAGE_LENGTH_MAX} characters`, async () => {
    const big = { text: 'x'.repeat(5000) }
    const view = await runOne(() => big, true)
    expect(view.excName).toBe('object')
    expect(view.excMessage).toHaveLength(EXC_MESSAGE_LENGTH_MAX)
    expect(JSON.stringify(big).startsWith(view.excMessage!)).toBe(true)
  })
})
