// Proves that values a caller without TypeScript can pass (bigint, cyclic objects, symbols, wrong
// types) are refused at the boundary with a WharfError that names them — never a TypeError thrown
// from inside Wharf while it builds its message or uses the value — and that nothing is stored.
import { describe, expect, it } from 'vitest'
import { FakeClock, InvalidJobFunctionError, InvalidPropertyError, LevelLog, MemoryLog, RetryableJobError, Wharf, type JobContext } from '../../src/index.js'
import { dashboard } from '../../src/dashboard.js'
import { closedAfterEach, failure } from './helpers.js'

const opened = closedAfterEach()

async function open(): Promise<Wharf> {
  const wharf = await Wharf.open({ clock: new FakeClock() })
  opened.push(wharf)
  wharf.model('shop', { async ship() {} })
  return wharf
}

const cyclic: Record<string, unknown> = {}
cyclic.self = cyclic

describe('configure() and model() from an untyped caller', () => {
  it.each([
    ['channel 5', { channel: 5 }, 'channel must be a string', 'got 5'],
    ['channel {}', { channel: {} }, 'channel must be a string', 'got {}'],
    ['a bigint retry delay', { retryPattern: { 1: 10n } }, 'value for 1', '10n'],
    ['a cyclic retry delay', { retryPattern: { 1: cyclic } }, 'value for 1', '[object Object]'],
    // '01' is try 1 again: which delay counted depended on the keys' order in the object.
    ['a zero-padded try count', { retryPattern: { 1: 10, '01': 20 } }, 'key "01"', 'not a non-negative integer'],
    ['a bigint relatedAction', { relatedAction: 10n }, 'relatedAction must be an object', '10n'],
    ['a cyclic relatedAction.enable', { relatedAction: { enable: cyclic } }, 'enable must be a boolean', '[object Object]'],
    ['a bigint relatedAction.funcName', { relatedAction: { funcName: 10n } }, 'funcName', '10n'],
    ['a symbol timeoutMs', { timeoutMs: Symbol('t') }, 'timeoutMs', 'Symbol(t)'],
  ])('configure() refuses %s with InvalidJobFunctionError naming it', async (_what, options, says, value) => {
    const wharf = await open()
    const error = await failure(() => wharf.configure('shop.ship', options as never))
    expect(error).toBeInstanceOf(InvalidJobFunctionError)
    expect((error as Error).message).toContain(says)
    expect((error as Error).message).toContain(value)
    expect(wharf.functionList().find((f) => f.name === 'shop.ship')?.channel).toBeNull()
  })

  it.each([
    ['a bigint', 10n, '10n'],
    ['a cyclic object', cyclic, '[object Object]'],
  ])('configure() and model() refuse %s as a name, naming it', async (_what, name, value) => {
    const wharf = await open()
    for (const call of [() => wharf.configure(name as never, {}), () => wharf.model(name as never, {})]) {
      const error = await failure(call)
      expect(error).toBeInstanceOf(InvalidJobFunctionError)
      expect((error as Error).message).toContain(value)
    }
  })
})

describe('Wharf.open() options an untyped caller gets wrong', () => {
  it.each([
    ['clock', {}, 'clock must be a Clock'],
    ['clock', 'system', 'clock must be a Clock'],
    ['log', { open() {} }, 'log must be an EventLog'],
    ['log', 5, 'log must be an EventLog'],
    ['newId', 'ulid', 'newId must be a function'],
    ['random', 0.5, 'random must be a function'],
  ])('refuses %s = %o before opening anything, naming it', async (option, value, says) => {
    const error = await failure(() => Wharf.open({ [option]: value } as never))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain(says)
  })
})

describe("a custom newId()'s ids", () => {
  it.each([
    ['a number', 5, 'returned 5'],
    ['an empty string', '', 'returned ""'],
    ['an object', {}, 'returned {}'],
    ['a lone surrogate', 'id-\uD800', 'returned "id-\\ud800"'],
    ['a huge string', 'x'.repeat(100_000), 'at most 200 characters'],
    // Nothing could name these: the dashboard's paths and the CLI's --after take uuids without.
    ['an id with a blank', 'order 42', 'returned "order 42"'],
    ['an id with a control character', 'order\u000742', 'no blanks or control characters'],
  ])('refuses %s as a uuid: the delay rejects and nothing is stored', async (_what, id, says) => {
    const wharf = await Wharf.open({ clock: new FakeClock(), newId: () => id as string })
    opened.push(wharf)
    const shop = wharf.model('shop', { async ship() {} })
    const error = await failure(() => shop.withDelay().ship())
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain('newId()')
    expect((error as Error).message).toContain(says)
    expect(await wharf.jobs()).toEqual([])
  })
})

describe('split() options', () => {
  it.each([
    ['null', null, 'options must be an object', 'got null'],
    ['a number', 2, 'options must be an object', 'got 2'],
    ["{ chain: 'yes' }", { chain: 'yes' }, 'chain must be a boolean', 'got "yes"'],
    ['a misspelt key', { chian: true }, 'unknown option "chian"', 'known: chain'],
  ])('refuses %s with InvalidPropertyError naming it, storing nothing', async (_what, options, says, value) => {
    const wharf = await open()
    const shop = wharf.model('cart', { async pack() {} })
    const error = await failure(() => shop.browse([1, 2, 3]).delayable().pack().split(2, options as never).delay())
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain(says)
    expect((error as Error).message).toContain(value)
    expect(await wharf.jobs()).toEqual([])
  })
})

describe('JobContext.sleep() past the last time Wharf knows', () => {
  it("fails the try naming the sleep, and drain() still ends (the FakeClock cannot get there)", async () => {
    const wharf = await open()
    const nap = wharf.model('nap', {
      async long(this: JobContext, ms: number) {
        await this.sleep(ms)
      },
    })
    const job = await nap.withDelay({ maxRetries: 1 }).long(1e300)
    await wharf.start()
    await wharf.drain()
    const view = await wharf.job(job.uuid)
    expect(view?.state).toBe('failed')
    expect(view?.excName).toBe('RangeError')
    expect(view?.excMessage).toContain('sleep(1e+300) would wake after TIME_MS_MAX')
  })
})

describe("a custom clock's now()", () => {
  // Seconds instead of ms (Date.now() / 1000) failed each delay with the ULID encoder's error,
  // naming no clock; NaN was stored as every time of the job.
  it.each([
    ['seconds with a fraction', 1_764_547_200.5],
    ['NaN', NaN],
    ['a time before 1970', -1],
    ["a string", '1764547200000'],
  ])('returning %s is refused by Wharf.open(), naming the value, before anything is opened', async (_what, value) => {
    const fake = new FakeClock()
    const clock = { now: () => value as number, setTimer: fake.setTimer.bind(fake), clearTimer: fake.clearTimer.bind(fake), sleep: fake.sleep.bind(fake) }
    const error = await failure(() => Wharf.open({ clock }))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain('clock.now() must return')
    expect((error as Error).message).toContain(`returned ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
  })
})

describe("a custom random()'s values", () => {
  it.each([
    ['NaN', NaN, 'returned NaN'],
    ['-5', -5, 'returned -5'],
    ['1', 1, 'returned 1'],
    ["'x'", 'x', 'returned "x"'],
  ])('%s is warned, naming it, and the retry still waits within its [min, max] range', async (_what, value, says) => {
    const clock = new FakeClock()
    const warned: unknown[] = []
    const logger = { debug() {}, info() {}, error() {}, warn: (fields: unknown, message?: string) => warned.push([fields, message]) }
    const wharf = await Wharf.open({ clock, random: () => value as number, logger })
    opened.push(wharf)
    const flaky = wharf.model('flaky', {
      async go() {
        throw new RetryableJobError('again')
      },
    })
    wharf.configure('flaky.go', { retryPattern: { 1: [1, 10] } })
    const job = await flaky.withDelay().go()
    await wharf.start()
    await wharf.idle()
    const view = await wharf.job(job.uuid)
    expect(view?.state).toBe('pending')
    expect(view?.eta).toBeGreaterThanOrEqual(clock.now() + 1_000)
    expect(view?.eta).toBeLessThanOrEqual(clock.now() + 10_000)
    expect(warned).toContainEqual([{ code: 'WHARF_BAD_RANDOM' }, expect.stringContaining(says)])
  })
})

describe('new LevelLog() from an untyped caller', () => {
  it.each([
    ['a number path', 5, {}, 'path must be a directory path, got 5'],
    ['an empty path', '', {}, 'path must be a directory path, got ""'],
    ['null options', '/tmp/never-made', null, 'options must be an object, got null'],
    ["durability 'sync' (which wrote without fsync)", '/tmp/never-made', { durability: 'sync' }, `durability must be 'process' or 'fsync', got "sync"`],
    ["onCorruption 'repair'", '/tmp/never-made', { onCorruption: 'repair' }, `onCorruption must be 'throw' or 'truncate', got "repair"`],
    ['a misspelt option', '/tmp/never-made', { durabilty: 'fsync' }, 'unknown option "durabilty"'],
    ['a non-function onWarning', '/tmp/never-made', { onWarning: 'log' }, 'onWarning must be a function, got "log"'],
  ])('refuses %s, naming it, before anything is opened', (_what, path, options, says) => {
    expect(() => new LevelLog(path as string, options as never)).toThrow(InvalidPropertyError)
    expect(() => new LevelLog(path as string, options as never)).toThrow(says)
  })
})

describe('dashboard() given something else than a Wharf', () => {
  it.each([
    ['null', null, 'got null'],
    ['an object', {}, 'got {}'],
    ['a string', '/jobs', 'got "/jobs"'],
  ])('refuses %s with InvalidPropertyError naming it (it threw a TypeError)', (_what, wharf, says) => {
    expect(() => dashboard(wharf as never)).toThrow(InvalidPropertyError)
    expect(() => dashboard(wharf as never)).toThrow(says)
  })
})

describe('Wharf.open() options that only a store on disk can honour', () => {
  it.each([
    ["durability 'fsync' in memory", { durability: 'fsync' }, "durability \"fsync\" is given without `path`", 'jobs live in memory'],
    ["onCorruption 'truncate' in memory", { onCorruption: 'truncate' }, "onCorruption \"truncate\" is given without `path`", 'jobs live in memory'],
    ["durability 'fsync' with a log", { durability: 'fsync', log: new MemoryLog() }, "durability \"fsync\" is given without `path`", 'has its own'],
  ])('refuses %s rather than dropping it', async (_what, options, says, why) => {
    const error = await failure(() => Wharf.open({ clock: new FakeClock(), ...options } as never))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain(says)
    expect((error as Error).message).toContain(why)
  })
})

describe('a Map (or another built-in object) where an options object belongs', () => {
  // Its entries are no properties: read as an object, every option it holds was dropped unseen.
  const map = <V>(key: string, value: V) => new Map([[key, value]])
  it('is refused as job properties, a context, a query, purge() or configure() options, naming it, and nothing is stored', async () => {
    const wharf = await open()
    const shop = wharf.model('shop2', { async ship() {} })
    const refusals: Array<[() => unknown, new (...args: never[]) => Error]> = [
      [() => shop.withDelay(map('priority', 1) as never).ship(), InvalidPropertyError],
      [() => shop.delayable(map('channel', 'mail') as never).ship().delay(), InvalidPropertyError],
      [() => shop.delayable().ship().set(map('eta', 60) as never), InvalidPropertyError],
      [() => shop.delayable().ship().split(1, map('chain', true) as never), InvalidPropertyError],
      [() => wharf.jobs(map('state', 'failed') as never), InvalidPropertyError],
      [() => wharf.batches(map('state', 'failed') as never), InvalidPropertyError],
      [() => wharf.purge(map('state', 'failed') as never), InvalidPropertyError],
      [() => shop.withContext(map('lang', 'fr') as never), InvalidPropertyError],
      [() => wharf.configure('shop2.ship', map('channel', 'mail') as never), InvalidJobFunctionError],
      [() => wharf.configure('shop2.ship', { retryPattern: new Map([[1, 60]]) as never }), InvalidJobFunctionError],
      [() => wharf.configure('shop2.ship', { relatedAction: map('enable', false) as never }), InvalidJobFunctionError],
    ]
    for (const [call, type] of refusals) {
      const error = await failure(call)
      expect(error).toBeInstanceOf(type)
      expect((error as Error).message).toContain('a Map')
    }
    expect(await wharf.jobs()).toEqual([])
    expect(wharf.functionList().find((f) => f.name === 'shop2.ship')).toMatchObject({ channel: null, retryPattern: null })
  })
  it('is refused as Wharf.open() options, naming it', async () => {
    const error = await failure(() => Wharf.open(map('channels', 'root:4') as never))
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain('a Map')
  })
})
