// Proves wharf.relatedAction(uuid) and wharf.functionList(): the related action's method runs on
// the job's records with the kwargs and its answer is checked ({ url, label? }, or null for no
// link); disabled or unnamed gives null; configure() refuses a malformed relatedAction by name.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, InvalidJobFunctionError, UnknownJobError, Wharf, type JobContext } from '../../src/index.js'
import { failure } from './helpers.js'

const opened: Wharf[] = []
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close()
})

async function setup(answer: (ctx: JobContext, kwargs: unknown) => unknown = () => ({ url: '/x' })) {
  const wharf = await Wharf.open({ clock: new FakeClock() })
  opened.push(wharf)
  const seen: { records: unknown; context: unknown; kwargs: unknown }[] = []
  const partner = wharf.model('res.partner', {
    sync() {
      return 'ok'
    },
    async open(this: JobContext, kwargs: unknown) {
      seen.push({ records: this.records, context: this.context, kwargs })
      return answer(this, kwargs)
    },
  })
  return { wharf, partner, seen }
}

describe('wharf.relatedAction()', () => {
  it("calls the named method of the job's model on the job's records, with the kwargs, and answers its link", async () => {
    const { wharf, partner, seen } = await setup((ctx, kwargs) => ({ url: `https://crm.example/partners/${ctx.records.join(',')}`, label: `Partners (${(kwargs as { tab: string }).tab})` }))
    wharf.configure('res.partner.sync', { relatedAction: { funcName: 'open', kwargs: { tab: 'jobs' } } })
    const job = await partner.browse([4, 5]).withContext({ lang: 'fr' }).withDelay().sync()
    expect(await wharf.relatedAction(job.uuid)).toEqual({ url: 'https://crm.example/partners/4,5', label: 'Partners (jobs)' })
    expect(seen).toEqual([{ records: [4, 5], context: { lang: 'fr', jobUuid: job.uuid }, kwargs: { tab: 'jobs' } }])
  })

  it('answers null when the related action is disabled, names no method, or is not configured', async () => {
    const { wharf, partner, seen } = await setup()
    const job = await partner.withDelay().sync()
    expect(await wharf.relatedAction(job.uuid)).toBeNull()
    wharf.configure('res.partner.sync', { relatedAction: { enable: true } })
    expect(await wharf.relatedAction(job.uuid)).toBeNull()
    wharf.configure('res.partner.sync', { relatedAction: { enable: false, funcName: 'open' } })
    expect(await wharf.relatedAction(job.uuid)).toBeNull()
    expect(seen).toEqual([])
  })

  it('answers null when the method answers null: no link for this job (queue_job: None, no action)', async () => {
    const { wharf, partner, seen } = await setup((ctx) => (ctx.records.length === 0 ? null : { url: `/partners/${ctx.records[0]}` }))
    wharf.configure('res.partner.sync', { relatedAction: { funcName: 'open' } })
    const none = await partner.withDelay().sync()
    const one = await partner.browse([3]).withDelay().sync()
    expect(await wharf.relatedAction(none.uuid)).toBeNull()
    expect(await wharf.relatedAction(one.uuid)).toEqual({ url: '/partners/3' })
    expect(seen).toHaveLength(2)
  })

  it('rejects UnknownJobError for an unknown job', async () => {
    const { wharf } = await setup()
    expect(await failure(() => wharf.relatedAction('01NOSUCHJOB'))).toBeInstanceOf(UnknownJobError)
  })

  it.each([
    [undefined, 'it returned undefined'],
    ['/x', 'it returned "/x"'],
    [{ href: '/x' }, 'unknown key "href"'],
    [{ url: 42 }, 'url must be a non-empty string'],
    [{ url: '' }, 'url must be a non-empty string'],
    [{ url: '/x', label: 7 }, 'label must be a string'],
    [{ url: 'javascript:alert(1)' }, 'url must be an http(s) address or a relative one, got "javascript:alert(1)"'],
    [{ url: 'data:text/html,<b>' }, 'url must be an http(s) address'],
  ])('refuses the answer %j with InvalidJobFunctionError naming it', async (answer, message) => {
    const { wharf, partner } = await setup(() => answer)
    wharf.configure('res.partner.sync', { relatedAction: { funcName: 'open' } })
    const job = await partner.withDelay().sync()
    const error = await failure(() => wharf.relatedAction(job.uuid))
    expect(error).toBeInstanceOf(InvalidJobFunctionError)
    expect((error as Error).message).toContain('related action res.partner.open of job function res.partner.sync must return { url: string, label?: string }')
    expect((error as Error).message).toContain(message)
  })

  it('refuses a method the model does not have, naming it', async () => {
    const { wharf, partner } = await setup()
    wharf.configure('res.partner.sync', { relatedAction: { funcName: 'nope' } })
    const job = await partner.withDelay().sync()
    expect(((await failure(() => wharf.relatedAction(job.uuid))) as Error).message).toContain('model res.partner has no method nope')
  })
})

describe('configure() relatedAction and functionList()', () => {
  it.each([
    [{ enable: 'yes' }, 'enable must be a boolean'],
    [{ funcName: 'open records' }, 'funcName must name a method of the model, got "open records"'],
    [{ funcName: 7 }, 'funcName must name a method'],
    [{ kwargs: [1] }, 'kwargs must be an object'],
    [{ kwargs: { f: () => 1 } }, 'kwargs'],
    [{ func_name: 'open' }, 'relatedAction has no key "func_name"'],
  ])('refuses relatedAction %j with InvalidJobFunctionError', async (related, message) => {
    const { wharf } = await setup()
    expect(() => wharf.configure('res.partner.sync', { relatedAction: related as never })).toThrow(InvalidJobFunctionError)
    expect(() => wharf.configure('res.partner.sync', { relatedAction: related as never })).toThrow(message)
  })

  it('lists every registered or configured function, by name, as copies', async () => {
    const { wharf } = await setup()
    wharf.configure('res.partner.sync', { channel: 'sync', retryPattern: { 5: 60, 1: [1, 2] }, relatedAction: { funcName: 'open', kwargs: { a: 1 } }, timeoutMs: 1000 })
    wharf.configure('a.b.c', { relatedAction: { enable: false } })
    const list = wharf.functionList()
    expect(list).toEqual([
      { name: 'a.b.c', model: 'a.b', method: 'c', registered: false, channel: null, retryPattern: null, relatedAction: { enable: false }, timeoutMs: null },
      { name: 'res.partner.open', model: 'res.partner', method: 'open', registered: true, channel: null, retryPattern: null, relatedAction: { enable: true }, timeoutMs: null },
      {
        name: 'res.partner.sync',
        model: 'res.partner',
        method: 'sync',
        registered: true,
        channel: 'root.sync',
        retryPattern: { 1: [1, 2], 5: 60 },
        relatedAction: { enable: true, funcName: 'open', kwargs: { a: 1 } },
        timeoutMs: 1000,
      },
    ])
    ;(list[2]!.relatedAction.kwargs as { a: number }).a = 2
    expect(wharf.functionList()[2]!.relatedAction.kwargs).toEqual({ a: 1 })
  })
})
