// GET /api/events: every committed event as a Server-Sent Event, in log order, from the moment the
// stream opens. The listener goes when the client goes; every stream ends when the Wharf closes
// (or the server serving it does). A client that does not read is cut off once BUFFER_BYTES_MAX
// waits for it, rather than holding the process's memory; EventSource reconnects by itself.

import type { ServerResponse } from 'node:http'
import type { Wharf } from '../engine/api/wharf.js'
import { SECURITY_HEADERS } from './respond.js'

export const PING_MS = 15_000
export const RETRY_MS = 2000
const BUFFER_BYTES_MAX = 8 * 1024 * 1024

/** The streams open on one dashboard: what its close ends. */
export class EventStreams {
  private readonly open = new Set<() => void>()
  private emptied: (() => void)[] = []

  get size(): number {
    return this.open.size
  }

  /** Subscribe first (a closed Wharf refuses before anything is written), then answer. A HEAD
   * gets the headers only: a stream it cannot read would hold its connection for good. */
  start(wharf: Wharf, res: ServerResponse, head = false): void {
    const off = wharf.on('transition', (event) => send(`id: ${event.seq}\nevent: transition\ndata: ${JSON.stringify(event)}\n\n`))
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // proxies such as nginx: pass each event on at once
    })
    if (head) {
      off()
      res.end()
      return
    }
    const ping = setInterval(() => send(': ping\n\n'), PING_MS)
    ping.unref()
    const end = (): void => {
      if (!this.open.delete(end)) return
      off()
      clearInterval(ping)
      if (!res.writableEnded) res.end()
      if (this.open.size === 0) for (const resolve of this.emptied.splice(0)) resolve()
    }
    const send = (text: string): void => {
      if (res.writableLength > BUFFER_BYTES_MAX) end()
      else res.write(text)
    }
    this.open.add(end)
    // The response's close, not the request's: a request without a body may close once read.
    res.on('close', end)
    send(`retry: ${RETRY_MS}\n\n`)
  }

  endAll(): void {
    for (const end of [...this.open]) end()
  }

  /** Resolves once no stream is open (at once when none is). */
  whenNoneOpen(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.emptied.push(resolve))
  }
}
