// Proves the strict channel rules of API.md 0.2 through the public API: bad channel strings and job
// channel properties are refused with typed errors, and pause/resume of an unknown channel is refused.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, InvalidChannelConfigError, InvalidPropertyError, UnknownChannelError, Wharf, type JobContext } from '../../src/index.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function open(channels = 'root:2,root.mail:1') {
  const wharf = await Wharf.open({ clock: new FakeClock(), channels })
  opened.push(wharf)
  const model = wharf.model('test.job', {
    run(this: JobContext) {
      return 'ok'
    },
  })
  return { wharf, model }
}

describe('Wharf.open({ channels })', () => {
  it.each(['root:2,mail:1:sequentail', 'root:2,mail:1:throtle=10', 'root:2,mail:1:pause', 'root:2,root.a b:1', 'root:2,Root.Mail:1'])(
    'refuses %j with InvalidChannelConfigError naming the entry',
    async (channels) => {
      const error = await failure(() => Wharf.open({ clock: new FakeClock(), channels }))
      expect(error).toBeInstanceOf(InvalidChannelConfigError)
      expect((error as Error).message).toContain(JSON.stringify(channels.split(',')[1]))
    },
  )
  it('takes sequential=false as not sequential, and trims spaces around entries, ":" and "="', async () => {
    const { wharf } = await open(' root : 2 , mail : 1 : sequential = false , seq:1:sequential=true ')
    const byName = new Map(wharf.stats().channels.map((c) => [c.name, c]))
    expect(byName.get('root.mail')?.sequential).toBe(false)
    expect(byName.get('root.seq')?.sequential).toBe(true)
  })
})

describe('a job channel property', () => {
  it.each(['root.mail:2', 'root.a b', 'Root.Mail', 'root..a'])('%j is refused with InvalidPropertyError, nothing stored', async (channel) => {
    const { wharf, model } = await open()
    const error = await failure(() => model.withDelay({ channel }).run())
    expect(error).toBeInstanceOf(InvalidPropertyError)
    expect((error as Error).message).toContain(JSON.stringify(channel))
    expect(await wharf.jobs()).toEqual([])
  })
})

describe('pauseChannel / resumeChannel', () => {
  it('refuses a channel that is neither configured nor in use, and creates nothing', async () => {
    const { wharf } = await open()
    const pause = await failure(() => wharf.pauseChannel('nope.x'))
    expect(pause).toBeInstanceOf(UnknownChannelError)
    expect((pause as UnknownChannelError).code).toBe('UNKNOWN_CHANNEL')
    expect((pause as Error).message).toContain('"root.nope.x"')
    expect(await failure(() => wharf.resumeChannel('root.nope'))).toBeInstanceOf(UnknownChannelError)
    expect(wharf.stats().channels.map((c) => c.name).sort()).toEqual(['root', 'root.mail'])
  })
  it('accepts a configured channel and one that a job uses without configuration', async () => {
    const { wharf, model } = await open()
    await wharf.pauseChannel('mail')
    await model.withDelay({ channel: 'root.other' }).run()
    await wharf.pauseChannel('root.other')
    const paused = wharf.stats().channels.filter((c) => c.paused).map((c) => c.name).sort()
    expect(paused).toEqual(['root.mail', 'root.other'])
    await wharf.resumeChannel('root.other')
  })
  it.each(['', '  '])('refuses the blank name %j, which would pause or resume root, naming it', async (name) => {
    const { wharf } = await open()
    for (const act of [() => wharf.pauseChannel(name), () => wharf.resumeChannel(name)]) {
      const error = await failure(act)
      expect(error).toBeInstanceOf(InvalidChannelConfigError)
      expect((error as Error).message).toContain(JSON.stringify(name))
    }
    expect(wharf.stats().channels.filter((c) => c.paused)).toEqual([])
  })
})
