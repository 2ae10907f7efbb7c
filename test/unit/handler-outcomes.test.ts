// Proves a handler's result is checked like arguments (an unstorable one fails the try with
// NotSerializableError at its path) and that a thrown non-Error keeps its type and JSON.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, InvalidPropertyError, RetryableJobError, Wharf, type JobContext } from '../../src/index.js'
import { EXC_MESSAGE_LENGTH_MAX, EXC_NAME_LENGTH_MAX, EXC_TEXT_LENGTH_MAX } from '../../src/engine/core/limits.js'

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

describe('a thrown value that misbehaves when read', () => {
  /** An Error whose `key` is a getter that throws. */
  function trap(key: string): Error {
    const error = new Error('unreadable')
    Object.defineProperty(error, key, {
      get() {
        throw new Error(`the ${key} getter threw`)
      },
    })
    return error
  }

  it.each([
    ['message', false],
    ['message', true],
    ['stack', false],
    ['stack', true],
    ['constructor', true],
  ])('(a throwing %s getter, async: %s) fails the job instead of killing the engine or losing the try', async (key, async) => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    opened.push(wharf)
    const model = wharf.model('test.job', {
      run(this: JobContext) {
        return async ? Promise.reject(trap(key)) : (() => { throw trap(key) })()
      },
    })
    const job = await model.withDelay({ maxRetries: 1 }).run()
    const next = await model.withDelay().run()
    await wharf.start()
    await wharf.drain()
    const view = (await wharf.job(job.uuid))!
    expect(view.state).toBe('failed')
    expect([typeof view.excName, typeof view.excMessage, typeof view.excInfo]).toEqual(['string', 'string', 'string'])
    if (key !== 'message') expect(view.excMessage).toBe('unreadable')
    expect((await wharf.job(next.uuid))!.state).toBe('failed') // the engine went on
  })

  it('a message or stack that is not a string is stored as text, as JobView types it', async () => {
    const error = new Error('x')
    Object.assign(error, { message: 42, stack: { frames: 1 } })
    const view = await runOne(() => error, true)
    expect(view).toMatchObject({ state: 'failed', excName: 'Error', excMessage: '42', excInfo: '{"frames":1}' })
  })

  it('a RetryableJobError whose seconds was changed to a bad value after it was made fails the try, naming it', async () => {
    const error = new RetryableJobError('later') as RetryableJobError & { seconds: unknown }
    error.seconds = Number.NaN
    const view = await runOne(() => error, true)
    expect(view).toMatchObject({ state: 'failed', excName: 'InvalidPropertyError' })
    expect(view.excMessage).toContain('seconds')
    expect(view.excMessage).toContain('NaN')
    expect(view.eta).toBe(null)
  })

  it('a RetryableJobError given seconds of another type names its type: "7" (text) is not 7', () => {
    let caught: unknown
    try {
      new RetryableJobError('later', { seconds: '7' as unknown as number })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidPropertyError)
    expect((caught as Error).message).toMatch(/, got "7"$/)
  })

  it('a handler returning an object whose `then` getter throws, or whose then() throws, fails its try', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    opened.push(wharf)
    const values: Record<string, unknown> = {
      getter: {
        get then() {
          throw new RangeError('no then')
        },
      },
      call: {
        then() {
          throw new RangeError('no then')
        },
      },
    }
    const model = wharf.model('test.job', {
      run(this: JobContext, which: string) {
        return values[which] // returned as is, not through an async function's promise
      },
    })
    const jobs = [await model.withDelay({ maxRetries: 1 }).run('getter'), await model.withDelay({ maxRetries: 1 }).run('call')]
    await wharf.start()
    await wharf.drain()
    for (const job of jobs) {
      expect(await wharf.job(job.uuid)).toMatchObject({ state: 'failed', excName: 'RangeError', excMessage: 'no then' })
    }
  })
})

describe('a thrown Error with a huge message', () => {
  it(`keeps at most EXC_TEXT_LENGTH_MAX (${EXC_TEXT_LENGTH_MAX}) characters of its message and stack, as a result is bounded`, async () => {
    const message = 'a response body '.repeat(500_000) // 8 MB, as an HTTP client may put in its error
    const view = await runOne(() => new Error(message), true)
    expect(view).toMatchObject({ state: 'failed', excName: 'Error' })
    expect(view.excMessage).toBe(message.slice(0, EXC_TEXT_LENGTH_MAX))
    expect(view.excInfo!.length).toBe(EXC_TEXT_LENGTH_MAX)
  })

  it('a RetryableJobError: the message its retry stores, and then the failure, are bounded alike', async () => {
    const message = 'x'.repeat(EXC_TEXT_LENGTH_MAX * 3)
    const view = await runOne(() => new RetryableJobError(message, { seconds: 0 }), true)
    expect(view).toMatchObject({ state: 'failed', excName: 'FailedJobError' })
    expect(view.excMessage).toBe(`Max. retries (1) reached: ${message.slice(0, EXC_TEXT_LENGTH_MAX)}`)
  })
})

describe('a thrown Error with a huge class name', () => {
  // The message and stack were bounded, the class name (excName) not: a class named at runtime
  // (from a response, a generated name) stored it whole with every try.
  it(`keeps at most EXC_NAME_LENGTH_MAX (${EXC_NAME_LENGTH_MAX}) characters of it, never half a character`, async () => {
    const name = 'N'.repeat(EXC_NAME_LENGTH_MAX - 1) + '😀' + 'tail'.repeat(250_000) // 1 MB; the emoji straddles the bound
    const Named = class extends Error {}
    Object.defineProperty(Named, 'name', { value: name })
    const view = await runOne(() => new Named('boom'), true)
    expect(view).toMatchObject({ state: 'failed', excMessage: 'boom' })
    expect(view.excName).toBe('N'.repeat(EXC_NAME_LENGTH_MAX - 1))
  })

  it('an Error whose constructor has no name: its `name` property, bounded alike', async () => {
    const error = new Error('boom')
    Object.defineProperty(error, 'constructor', { value: undefined })
    error.name = 'E'.repeat(EXC_NAME_LENGTH_MAX * 10)
    const view = await runOne(() => error, true)
    expect(view.excName).toBe('E'.repeat(EXC_NAME_LENGTH_MAX))
  })
})
