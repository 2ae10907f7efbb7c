// Proves the public API contract of API.md at the boundary: property defaults and refusals (nothing
// stored), payload copies, context allow-list, management calls, queries, events, no-delay, env, close.
import { afterEach, describe, expect, it } from 'vitest'
import {
  FailedJobError,
  FakeClock,
  InvalidChannelConfigError,
  InvalidGraphError,
  InvalidJobFunctionError,
  InvalidPropertyError,
  JOB_STATES,
  JobStateConflictError,
  JobTimeoutError,
  LogCorruptionError,
  NotSerializableError,
  NothingToDoJob,
  RetryableJobError,
  StorageLockedError,
  UnknownJobError,
  Wharf,
  WharfClosedError,
  WharfError,
  chain,
  group,
} from '../../src/index.js'
import type { OpenOptions, WharfEvent } from '../../src/index.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close()
})

async function setup(options: OpenOptions = {}) {
  const wharf = await Wharf.open({ channels: 'root:1', clock: new FakeClock(), ...options })
  opened.push(wharf)
  const ran: unknown[][] = []
  const m = wharf.model('test.api', {
    run(...args: unknown[]) {
      ran.push(args)
      return args.length
    },
    other() {
      return 'other'
    },
    boom(name: string) {
      ran.push([name])
      throw new Error(`boom ${name}`)
    },
  })
  return { wharf, ran, m }
}

class Point {
  constructor(readonly x: number) {}
}

describe('job properties', () => {
  it('defaults to priority 10, maxRetries 5, description model.method, channel root, no eta', async () => {
    const { m } = await setup()
    const job = await m.browse([1]).withDelay().run('x')
    expect(job).toMatchObject({ priority: 10, maxRetries: 5, description: 'test.api.run', channel: 'root', eta: null })
    expect(job).toMatchObject({ state: 'pending', graphUuid: null, identityKey: null, dependsOn: [], dependents: [], retry: 0 })
  })

  it("an empty description means the default, as queue_job's falsy one does (split chunks too)", async () => {
    const { wharf, m } = await setup()
    expect((await m.withDelay({ description: '' }).run()).description).toBe('test.api.run')
    await m.browse([1, 2]).delayable({ description: '' }).run().split(1).delay()
    const chunks = (await wharf.jobs()).filter((j) => j.graphUuid !== null).map((j) => j.description)
    expect(chunks).toEqual(['test.api.run (split 1/2)', 'test.api.run (split 2/2)'])
  })

  it('takes the channel from configure(), an explicit channel wins, and "mail" is stored as "root.mail"', async () => {
    const { wharf, m } = await setup()
    wharf.configure('test.api.run', { channel: 'mail' })
    expect((await m.withDelay().run()).channel).toBe('root.mail')
    expect((await m.withDelay({ channel: 'root.export' }).run()).channel).toBe('root.export')
    expect((await m.withDelay().other()).channel).toBe('root')
    expect((await m.withDelay({ channel: 'mail' }).other()).channel).toBe('root.mail')
  })

  it("an empty channel means the function's configured one, else root, as queue_job's falsy one does", async () => {
    const { wharf, m } = await setup()
    wharf.configure('test.api.run', { channel: 'mail' })
    expect((await m.withDelay({ channel: '' }).run()).channel).toBe('root.mail')
    await m.delayable({ channel: 'root.export' }).set({ channel: '' }).run().delay()
    expect((await wharf.jobs()).map((j) => j.channel)).toEqual(['root.mail', 'root.mail'])
    expect((await m.withDelay({ channel: '' }).other()).channel).toBe('root')
  })

  it('refuses an unknown key with InvalidPropertyError naming it, in withDelay, delayable and set', async () => {
    const { wharf, m } = await setup()
    for (const f of [
      () => m.withDelay({ prio: 1 } as never),
      () => m.delayable({ prio: 1 } as never),
      () => m.delayable().run().set({ prio: 1 } as never),
    ]) {
      const err = await failure(f)
      expect(err).toBeInstanceOf(InvalidPropertyError)
      expect((err as Error).message).toContain('"prio"')
    }
    expect(await wharf.jobs()).toEqual([])
  })

  it.each([
    ['priority', 1.5, '1.5'],
    ['priority', '1', '"1"'],
    ['priority', NaN, 'NaN'],
    ['maxRetries', -1, '-1'],
    ['eta', 'tomorrow', '"tomorrow"'],
    ['eta', new Date(NaN), 'invalid Date'],
    ['channel', 'a..b', 'a..b'],
  ])('refuses %s = %s with InvalidPropertyError naming the value, storing nothing', async (key, value, named) => {
    const { wharf, m } = await setup()
    const viaWithDelay = await failure(() => m.withDelay({ [key]: value }).run())
    expect(viaWithDelay).toBeInstanceOf(InvalidPropertyError)
    expect((viaWithDelay as Error).message).toContain(named)
    const viaSet = await failure(() => m.delayable().run().set({ [key]: value }).delay())
    expect(viaSet).toBeInstanceOf(InvalidPropertyError)
    expect(await wharf.jobs()).toEqual([])
  })
})

describe('payloads', () => {
  const cycle: Record<string, unknown> = { a: {} }
  ;(cycle.a as Record<string, unknown>).self = cycle
  it.each([
    ['a function', [() => 1], 'args[0]'],
    ['a symbol', [{ s: Symbol('s') }], 'args[0].s'],
    ['a BigInt', [1, 10n], 'args[1]'],
    ['a cycle', [cycle], 'args[0].a.self'],
    ['a Map', [{ m: new Map() }], 'args[0].m'],
    ['a class instance', [new Point(1)], 'args[0]'],
    ['undefined inside an array', [{ when: [1, 2, undefined] }], 'args[0].when[2]'],
  ])('refuses %s with NotSerializableError at its path, storing nothing', async (_what, args, path) => {
    const { wharf, m } = await setup()
    for (const f of [() => m.withDelay().run(...args), () => chain(m.delayable().run(1), m.delayable().run(...args)).delay()]) {
      const err = await failure(f)
      expect(err).toBeInstanceOf(NotSerializableError)
      expect((err as NotSerializableError).path).toBe(path)
      expect((err as NotSerializableError).code).toBe('NOT_SERIALIZABLE')
    }
    expect(await wharf.jobs()).toEqual([])
  })

  it('keeps Date arguments as Dates, in the stored job and in the handler', async () => {
    const { wharf, m, ran } = await setup()
    const when = new Date(Date.UTC(2030, 4, 6, 7, 8, 9))
    const job = await m.withDelay().run({ when })
    const stored = ((await wharf.job(job.uuid))!.args[0] as { when: Date }).when
    expect(stored).toBeInstanceOf(Date)
    expect(stored.getTime()).toBe(when.getTime())
    await wharf.start()
    await wharf.drain()
    const seen = (ran[0]![0] as { when: Date }).when
    expect(seen).toBeInstanceOf(Date)
    expect(seen.getTime()).toBe(when.getTime())
  })

  it('stores a copy: mutating the caller object after withDelay changes nothing', async () => {
    const { wharf, m, ran } = await setup()
    const arg = { n: 1, list: [1], nested: { s: 'a' } }
    const job = await m.withDelay().run(arg)
    arg.n = 2
    arg.list.push(2)
    arg.nested.s = 'b'
    const expected = { n: 1, list: [1], nested: { s: 'a' } }
    expect((await wharf.job(job.uuid))!.args).toEqual([expected])
    await wharf.start()
    await wharf.drain()
    expect(ran).toEqual([[expected]])
  })
})

describe('context and direct calls', () => {
  it('keeps only allow-listed keys (default tz, lang) and adds jobUuid inside the handler', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    opened.push(wharf)
    const seen: Record<string, unknown>[] = []
    const m = wharf.model('test.ctx', {
      run() {
        seen.push({ ...this.context })
      },
    })
    const job = await m.withContext({ tz: 'UTC', lang: 'fr_FR', foo: 1 }).withDelay().run()
    expect(job.context).toEqual({ tz: 'UTC', lang: 'fr_FR' })
    await wharf.start()
    await wharf.drain()
    expect(seen).toEqual([{ tz: 'UTC', lang: 'fr_FR', jobUuid: job.uuid }])
  })

  it('uses the contextKeys option as the allow-list', async () => {
    const { m } = await setup({ contextKeys: ['foo'] })
    const job = await m.withContext({ tz: 'UTC', foo: 1 }).withDelay().run()
    expect(job.context).toEqual({ foo: 1 })
  })

  it('takes an allow-listed key only from the context given, not from what every object inherits', async () => {
    // 'constructor' is in every object: read with `in`, each withContext() carried Object and
    // was refused as NotSerializableError for a value the caller never gave.
    const { m } = await setup({ contextKeys: ['lang', 'constructor', 'toString'] })
    const job = await m.withContext({ lang: 'fr' }).withDelay().run()
    expect(job.context).toEqual({ lang: 'fr' })
    expect((await m.withContext({ toString: 'kept' }).withDelay().run()).context).toEqual({ toString: 'kept' })
  })

  it('a direct call runs now with this.records, returns the result and stores nothing', async () => {
    const wharf = await Wharf.open({ clock: new FakeClock() })
    opened.push(wharf)
    const partner = wharf.model('res.partner', {
      method(x: number) {
        return { records: this.records, x, hasJob: this.job !== undefined, jobUuid: this.context.jobUuid }
      },
    })
    expect(partner.browse([1, 2]).method(5)).toEqual({ records: [1, 2], x: 5, hasJob: false, jobUuid: undefined })
    expect(await wharf.jobs()).toEqual([])
  })

  it.each(['delay', 'set', 'browse', 'withDelay', 'onDone'])('refuses a model method named %s', async (name) => {
    const { wharf } = await setup()
    const err = await failure(() => wharf.model('test.reserved', { [name]: () => 1 }))
    expect(err).toBeInstanceOf(InvalidJobFunctionError)
    expect((err as Error).message).toContain(name)
  })

  it.each([
    ['a string delay', { retryPattern: { 1: 'x' } }],
    ['a non-integer key', { retryPattern: { a: 10 } }],
    ['a reversed range', { retryPattern: { 1: [60, 10] } }],
    ['timeoutMs 0', { timeoutMs: 0 }],
    ['timeoutMs -5', { timeoutMs: -5 }],
    ['timeoutMs 1.5', { timeoutMs: 1.5 }],
    ['an unknown option', { retries: 3 }],
  ])('configure() refuses %s with InvalidJobFunctionError', async (_what, options) => {
    const { wharf } = await setup()
    expect(await failure(() => wharf.configure('test.api.run', options as never))).toBeInstanceOf(InvalidJobFunctionError)
  })
})

describe('management calls', () => {
  it.each(['requeue', 'cancel', 'setDone'] as const)('%s on an unknown uuid rejects with UnknownJobError', async (call) => {
    const { wharf } = await setup()
    const err = await failure(() => wharf[call]('no-such-job'))
    expect(err).toBeInstanceOf(UnknownJobError)
    expect((err as UnknownJobError).code).toBe('UNKNOWN_JOB')
    expect((err as UnknownJobError).uuid).toBe('no-such-job')
  })

  it('requeue leaves a wait_dependencies job as it is', async () => {
    const { wharf, m } = await setup()
    const child = m.delayable().run('child')
    await chain(m.delayable().run('parent'), child).delay()
    await wharf.requeue(child.job!.uuid)
    expect(await wharf.job(child.job!.uuid)).toEqual(child.job)
  })

  it('jobs() filters combine with AND, and limit caps the answer', async () => {
    const { wharf, m } = await setup()
    await m.withDelay({ channel: 'mail' }).run(1)
    const cancelled = await m.withDelay({ channel: 'mail' }).run(2)
    await m.withDelay({ channel: 'mail' }).other()
    await m.withDelay().run(3)
    const g = m.delayable().run(4)
    await group(g, m.delayable().other()).delay()
    await wharf.cancel(cancelled.uuid)
    const count = async (q: Parameters<Wharf['jobs']>[0]) => (await wharf.jobs(q)).length
    expect(await count({})).toBe(6)
    expect(await count({ method: 'run' })).toBe(4)
    expect(await count({ method: 'run', channel: 'root.mail' })).toBe(2)
    expect(await count({ method: 'run', channel: 'mail', state: 'pending' })).toBe(1)
    expect(await count({ model: 'test.api', state: 'cancelled' })).toBe(1)
    expect(await count({ model: 'other.model' })).toBe(0)
    expect(await count({ graphUuid: g.job!.graphUuid!, method: 'other' })).toBe(1)
    expect(await count({ state: 'pending', limit: 2 })).toBe(2)
    expect(await failure(() => count({ limit: 0 }))).toBeInstanceOf(InvalidPropertyError)
  })

  it('stats().states has all seven states as keys, with the counts', async () => {
    const { wharf, m } = await setup()
    await chain(m.delayable().run(1), m.delayable().run(2)).delay()
    const states = wharf.stats().states
    expect(Object.keys(states).sort()).toEqual([...JOB_STATES].sort())
    expect(states).toEqual({ wait_dependencies: 1, pending: 1, enqueued: 0, started: 0, done: 0, cancelled: 0, failed: 0 })
  })

  it("on('transition') sees every event in seq order, and its unsubscribe works", async () => {
    const { wharf, m } = await setup()
    const seen: WharfEvent[] = []
    const off = wharf.on('transition', (e) => seen.push(e))
    await chain(m.delayable().run(1), m.delayable().run(2)).delay()
    await wharf.start()
    await wharf.drain()
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1))
    const types = seen.map((e) => e.type)
    expect(types.filter((t) => t === 'job.created')).toHaveLength(2)
    expect(types.filter((t) => t === 'job.done')).toHaveLength(2)
    expect(types.indexOf('job.started')).toBeLessThan(types.indexOf('job.done'))
    off()
    const before = seen.length
    await m.withDelay().run(3)
    await wharf.drain()
    expect(seen).toHaveLength(before)
  })
})

describe('no-delay mode', () => {
  it('noDelay: true runs a graph at once in topological order and stores nothing', async () => {
    const { wharf, m, ran } = await setup({ noDelay: true })
    const d = (n: string) => m.delayable().run(n)
    const last = d('d')
    await chain(d('a'), group(d('b'), d('c')), last).delay()
    expect(ran).toEqual([['a'], ['b'], ['c'], ['d']])
    expect(last.job?.state).toBe('done')
    const view = await m.withDelay({ identityKey: 'k', eta: 3600 }).run('now')
    expect(view.result).toBe(1)
    expect(ran).toHaveLength(5)
    expect(await wharf.jobs()).toEqual([])
  })

  it("a handler's error rejects the delay() call and stops the graph", async () => {
    const { wharf, m, ran } = await setup({ noDelay: true })
    const err = await failure(() => chain(m.delayable().boom('x'), m.delayable().run('after')).delay())
    expect((err as Error).message).toBe('boom x')
    expect(ran).toEqual([['x']])
    expect(await failure(() => m.withDelay().boom('y'))).toBeInstanceOf(Error)
    expect(await wharf.jobs()).toEqual([])
  })

  it('reads WHARF_NO_DELAY=1 when open runs', async () => {
    const saved = process.env.WHARF_NO_DELAY
    process.env.WHARF_NO_DELAY = '1'
    let setupResult: Awaited<ReturnType<typeof setup>>
    try {
      setupResult = await setup()
    } finally {
      if (saved === undefined) delete process.env.WHARF_NO_DELAY
      else process.env.WHARF_NO_DELAY = saved
    }
    const { wharf, m, ran } = setupResult
    expect(wharf.noDelay).toBe(true)
    await m.withDelay().run('now')
    expect(ran).toEqual([['now']])
    expect(await wharf.jobs()).toEqual([])
  })
})

describe('opening and closing', () => {
  it('defaults channels to WHARF_CHANNELS', async () => {
    const saved = process.env.WHARF_CHANNELS
    process.env.WHARF_CHANNELS = 'root:3,root.mail:2'
    let wharf: Wharf
    try {
      wharf = await Wharf.open({ clock: new FakeClock() })
      opened.push(wharf)
    } finally {
      if (saved === undefined) delete process.env.WHARF_CHANNELS
      else process.env.WHARF_CHANNELS = saved
    }
    const capacity = (name: string) => wharf.stats().channels.find((c) => c.name === name)?.capacity
    expect(capacity('root')).toBe(3)
    expect(capacity('root.mail')).toBe(2)
  })

  it('says where a bad channel configuration came from: WHARF_CHANNELS or the channels option', async () => {
    const saved = process.env.WHARF_CHANNELS
    process.env.WHARF_CHANNELS = 'root:4,mail:2:sequentail'
    try {
      // Set in some deployment, not in the code: the message must say to look there.
      const fromEnv = await failure(() => Wharf.open({ clock: new FakeClock() }))
      expect(fromEnv).toBeInstanceOf(InvalidChannelConfigError)
      expect((fromEnv as Error).message).toMatch(/^Wharf\.open\(\): WHARF_CHANNELS: Invalid channel config "mail:2:sequentail": unknown option "sequentail"/)
      const fromOption = await failure(() => Wharf.open({ clock: new FakeClock(), channels: 'root:x' }))
      expect(fromOption).toBeInstanceOf(InvalidChannelConfigError)
      expect((fromOption as Error).message).toMatch(/^Wharf\.open\(\): channels: Invalid channel config "root:x": invalid capacity "x"/)
    } finally {
      if (saved === undefined) delete process.env.WHARF_CHANNELS
      else process.env.WHARF_CHANNELS = saved
    }
  })

  it('refuses an unknown open option, naming it', async () => {
    const err = await failure(() => Wharf.open({ clock: new FakeClock(), chanels: 'root:2' } as OpenOptions))
    expect(err).toBeInstanceOf(InvalidPropertyError)
    expect((err as Error).message).toContain('chanels')
  })

  it('rejects calls made after close() with WharfClosedError', async () => {
    const { wharf, m } = await setup()
    const job = await m.withDelay().run(1)
    await wharf.close()
    const calls: (() => unknown)[] = [
      () => m.withDelay().run(2),
      () => m.delayable().run(3).delay(),
      () => wharf.requeue(job.uuid),
      () => wharf.cancel(job.uuid),
      () => wharf.setDone(job.uuid),
      () => wharf.pauseChannel('root'),
      () => wharf.start(),
    ]
    for (const call of calls) {
      const err = await failure(call)
      expect(err).toBeInstanceOf(WharfClosedError)
      expect((err as WharfClosedError).code).toBe('WHARF_CLOSED')
    }
  })
})

describe('errors', () => {
  it('every error class has a stable, distinct code and its class name', () => {
    const cases: [WharfError, string][] = [
      [new RetryableJobError('m'), 'RETRYABLE_JOB'],
      [new FailedJobError('m'), 'FAILED_JOB'],
      [new NothingToDoJob(), 'NOTHING_TO_DO'],
      [new JobTimeoutError('m'), 'JOB_TIMEOUT'],
      [new InvalidChannelConfigError('m'), 'INVALID_CHANNEL_CONFIG'],
      [new InvalidPropertyError('m'), 'INVALID_PROPERTY'],
      [new NotSerializableError('m', 'args[0]'), 'NOT_SERIALIZABLE'],
      [new UnknownJobError('u'), 'UNKNOWN_JOB'],
      [new InvalidJobFunctionError('m'), 'INVALID_JOB_FUNCTION'],
      [new InvalidGraphError('m'), 'INVALID_GRAPH'],
      [new JobStateConflictError('m'), 'JOB_STATE_CONFLICT'],
      [new WharfClosedError('m'), 'WHARF_CLOSED'],
      [new StorageLockedError('/tmp/x'), 'STORAGE_LOCKED'],
      [new LogCorruptionError('m', 3), 'LOG_CORRUPTION'],
    ]
    for (const [error, code] of cases) {
      expect(error).toBeInstanceOf(WharfError)
      expect(error).toBeInstanceOf(Error)
      expect(error.code).toBe(code)
      expect(error.name).toBe(error.constructor.name)
    }
    expect(new Set(cases.map(([e]) => e.code)).size).toBe(cases.length)
  })
})
