// The driver's connections, made here so that what one turn of the event loop sends on a
// connection leaves in one write. The driver writes each statement of a pipelined append apart
// once its buffer passes 1 KB (and an append's statements do, with their events and views), and on
// loopback each socket write is a system call that also runs the server's side of TCP and wakes
// its backend: a scheduler spent a third of its CPU in those writes (BENCH_ONLY=cluster, profiled).
// Corked until the turn's microtasks are done, they go out as one writev.

import { Socket } from 'node:net'
import { syncWhenReady } from './pg-ready.js'

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
 * A socket to the first of `target`'s hosts that answers, whose writes are coalesced, and that
 * sends a Sync once the connection is ready (pg-ready.ts; not under TLS, whose bytes it cannot
 * read — there the driver still fetches types, pg-driver.ts). The last host is not waited for:
 * its socket is returned connecting, and fails, if it does, as the driver's own sockets do (an
 * 'error', then 'close'), under the driver's connect_timeout. A rejection here, or a socket
 * already failed, left the driver's connection broken: thrown, the connection was never put back
 * among its pool's closed ones (once all were lost, every call waited for good); failed, the
 * driver kept the startup message it could not write and sent it again before the next one.
 */
export async function coalescingSocket(target: SocketTarget): Promise<Socket> {
  const places = target.path !== false ? [{ path: target.path }] : target.host.map((host, i) => ({ host, port: target.port[i] ?? target.port[0]! }))
  const last = places.pop()
  if (last === undefined) throw new Error('no PostgreSQL host to connect to')
  for (const place of places) {
    try {
      return ready(coalesce(await connected(place, target.connect_timeout)), target)
    } catch {
      // the next host
    }
  }
  return ready(coalesce(connecting(last)), target)
}

function ready(socket: Socket, target: SocketTarget): Socket {
  if (!target.ssl) syncWhenReady(socket)
  return socket
}

function connecting(place: { path: string } | { host: string; port: number }): Socket {
  const socket = new Socket()
  if ('path' in place) socket.connect(place.path)
  else socket.connect(place.port, place.host)
  return socket
}

function connected(place: { path: string } | { host: string; port: number }, timeoutSeconds: number): Promise<Socket> {
  const socket = connecting(place)
  return new Promise((resolve, reject) => {
    // connect_timeout=0 is "no limit" (libpq's, and the driver's for the last host).
    const timer =
      timeoutSeconds > 0
        ? setTimeout(() => {
            socket.destroy()
            reject(Object.assign(new Error(`write CONNECT_TIMEOUT ${'path' in place ? place.path : `${place.host}:${place.port}`}`), { code: 'CONNECT_TIMEOUT' }))
          }, timeoutSeconds * 1000)
        : undefined
    const settle = (error?: Error): void => {
      clearTimeout(timer)
      socket.off('error', settle)
      if (error === undefined) resolve(socket)
      else reject(error)
    }
    socket.once('connect', () => settle())
    socket.once('error', settle)
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
