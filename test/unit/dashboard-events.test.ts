// Proves GET /api/events: committed events arrive live as Server-Sent Events, in log order; the
// listener is removed when the client goes away; closing the Wharf ends every stream. The tests
// read the stream itself and await the events — no sleeps.
import { describe, expect, it, vi } from 'vitest'
import { dashboard } from '../../src/dashboard.js'
import type { WharfEvent } from '../../src/index.js'
import { openWharf, serve } from './dashboard-helpers.js'

/** An open event stream and a way to read it up to what a test waits for. */
async function openStream(url: string, signal?: AbortSignal) {
  const res = await fetch(`${url}/api/events`, signal === undefined ? {} : { signal })
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  return {
    res,
    /** Everything read so far once `enough` holds (or the stream ended). */
    async readUntil(enough: (text: string) => boolean): Promise<{ text: string; ended: boolean }> {
      while (!enough(text)) {
        const { value, done } = await reader.read()
        if (done) return { text, ended: true }
        text += value
      }
      return { text, ended: false }
    },
  }
}

function eventsIn(text: string): WharfEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.includes('event: transition'))
    .map((block) => JSON.parse(block.split('\n').find((line) => line.startsWith('data: '))!.slice(6)) as WharfEvent)
}

describe('GET /api/events', () => {
  it('delivers each committed event live, in log order, after retry: 2000', async () => {
    const { wharf, partner } = await openWharf()
    const { url } = await serve(dashboard(wharf))
    const stream = await openStream(url)
    expect(stream.res.status).toBe(200)
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(stream.res.headers.get('access-control-allow-origin')).toBeNull()
    expect((await stream.readUntil((t) => t.includes('\n\n'))).text).toBe('retry: 2000\n\n')

    const job = await partner.browse([1]).withDelay().sync(1)
    await wharf.start()
    await wharf.drain()
    const { text } = await stream.readUntil((t) => t.includes('"type":"job.done"'))
    const events = eventsIn(text)
    expect(events.map((e) => e.type)).toEqual(['job.created', 'job.enqueued', 'job.started', 'job.done'])
    expect(events.map((e) => ('uuid' in e ? e.uuid : e.type === 'job.created' ? e.job.uuid : null))).toEqual(Array(4).fill(job.uuid))
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b))
    expect(text).toContain(`id: ${events[0]!.seq}\nevent: transition\ndata: `)
  })

  it('removes its listener when the client goes away', async () => {
    const { wharf } = await openWharf()
    let removed!: () => void
    const listenerRemoved = new Promise<void>((resolve) => (removed = resolve))
    const on = wharf.on.bind(wharf)
    vi.spyOn(wharf, 'on').mockImplementation((type, listener) => {
      const off = on(type, listener)
      return () => {
        off()
        removed()
      }
    })
    const { url } = await serve(dashboard(wharf))
    const client = new AbortController()
    const stream = await openStream(url, client.signal)
    await stream.readUntil((t) => t.includes('retry'))
    expect(wharf.on).toHaveBeenCalledTimes(1)
    client.abort()
    await listenerRemoved
  })

  it('ends every stream when the Wharf closes', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf))
    const streams = [await openStream(url), await openStream(url)]
    for (const stream of streams) await stream.readUntil((t) => t.includes('retry'))
    await wharf.close()
    for (const stream of streams) expect((await stream.readUntil(() => false)).ended).toBe(true)
  })

  it('answers 503 WharfClosedError on a closed Wharf, and needs the token when one is set', async () => {
    const { wharf } = await openWharf()
    const { url } = await serve(dashboard(wharf, { token: 't' }))
    expect((await fetch(`${url}/api/events`)).status).toBe(401)
    await wharf.close()
    const closed = await fetch(`${url}/api/events`, { headers: { authorization: 'Bearer t' } })
    expect(closed.status).toBe(503)
    expect(await closed.json()).toMatchObject({ error: { name: 'WharfClosedError', code: 'WHARF_CLOSED' } })
  })
})
