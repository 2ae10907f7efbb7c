// The driver's connections, made here so that what one turn of the event loop sends on a
// connection leaves in one write. The driver writes each statement of a pipelined append apart
// once its buffer passes 1 KB (and an append's statements do, with their events and views), and on
// loopback each socket write is a system call that also runs the server's side of TCP and wakes
// its backend: a scheduler spent a third of its CPU in those writes (BENCH_ONLY=cluster, profiled).
// Corked until the turn's microtasks are done, they go out as one writev.

import { Socket } from 'node:net'
import { drainWhenReady } from './pg-ready.js'

/** What the driver passes its `socket` option (parsed from the URL). */
export interface SocketTarget {
  host: string[]
  port: number[]
  /** A Unix socket's path, when the host is a directory. */
  path: string | false
  /** Seconds. */
  connect_timeout: number
  /** Falsy for a plain connection; otherwise the driver negotiates TLS on the socket. */
  ssl?: unknown
}

/**
 * A connected socket to the first of `target`'s hosts that answers, whose writes are coalesced,
 * and that emits 'drain' once the connection is ready (pg-ready.ts; not under TLS, whose bytes
 * it cannot read — there the driver still fetches types, pg-driver.ts).
 */
export async function coalescingSocket(target: SocketTarget): Promise<Socket> {
  let failure: unknown = new Error('no PostgreSQL host to connect to')
  const places = target.path !== false ? [{ path: target.path }] : target.host.map((host, i) => ({ host, port: target.port[i] ?? target.port[0]! }))
  for (const place of places) {
    try {
      const socket = coalesce(await connected(place, target.connect_timeout))
      if (!target.ssl) drainWhenReady(socket)
      return socket
    } catch (error) {
      failure = error
    }
  }
  throw failure
}

function connected(place: { path: string } | { host: string; port: number }, timeoutSeconds: number): Promise<Socket> {
  const socket = new Socket()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(Object.assign(new Error(`write CONNECT_TIMEOUT ${'path' in place ? place.path : `${place.host}:${place.port}`}`), { code: 'CONNECT_TIMEOUT' }))
    }, timeoutSeconds * 1000)
    const settle = (error?: Error): void => {
      clearTimeout(timer)
      socket.off('error', settle)
      if (error === undefined) resolve(socket)
      else reject(error)
    }
    socket.once('connect', () => settle())
    socket.once('error', settle)
    if ('path' in place) socket.connect(place.path)
    else socket.connect(place.port, place.host)
  })
}

function coalesce(socket: Socket): Socket {
  const write = socket.write
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    if (this.writableCorked === 0) {
      this.cork()
      // A tick callback runs once the microtasks queued so far (the statements' sends) are done.
      process.nextTick(uncork, this)
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as typeof socket.write
  return socket
}

function uncork(socket: Socket): void {
  socket.uncork()
}
