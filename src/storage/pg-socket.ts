// The driver's connections, made here so that what one turn of the event loop sends on a
// connection leaves in one write. The driver writes each statement of a pipelined append apart
// once its buffer passes 1 KB (and an append's statements do, with their events and views), and on
// loopback each socket write is a system call that also runs the server's side of TCP and wakes
// its backend: a scheduler spent a third of its CPU in those writes (BENCH_ONLY=cluster, profiled).
// Corked until the turn's microtasks are done, they go out as one writev.

import { Socket } from 'node:net'
import { syncWhenReady } from './pg-ready.js'
import { askTls, tlsAfterYes, tlsOver, wantsTls, type TlsMode } from './pg-tls.js'

/** What the driver passes its `socket` option (parsed from the URL). */
export interface SocketTarget {
  host: string[]
  port: number[]
  /** A Unix socket's path, when the host is a directory. */
  path: string | false
  /** Seconds. */
  connect_timeout: number
}

type Place = { path: string } | { host: string; port: number }

/**
 * A socket to the first of `target`'s hosts that answers, in TLS when `tls` asks for it
 * (pg-tls.ts), whose writes are coalesced, and that sends a Sync once the connection is ready
 * (pg-ready.ts). The last host is not waited for: its socket is returned connecting, and fails,
 * if it does, as the driver's own sockets do (an 'error', then 'close'), under the driver's
 * connect_timeout; so does a TLS handshake that fails. A rejection here, or a socket already
 * failed, left the driver's connection broken: thrown, the connection was never put back among
 * its pool's closed ones (once all were lost, every call waited for good); failed, the driver
 * kept the startup message it could not write and sent it again before the next one.
 */
export async function coalescingSocket(target: SocketTarget, tls: TlsMode | null = null): Promise<Socket> {
  const places: Place[] = target.path !== false ? [{ path: target.path }] : target.host.map((host, i) => ({ host, port: target.port[i] ?? target.port[0]! }))
  const last = places.pop()
  if (last === undefined) throw new Error('no PostgreSQL host to connect to')
  for (const place of places) {
    try {
      return ready(await secured(await connected(place, target.connect_timeout), place, tls, target.connect_timeout))
    } catch {
      // the next host
    }
  }
  if (wantsTls(tls) && tls.ssl === 'prefer') {
    // Whether to go on plain is the server's answer: read before the socket goes to the driver.
    try {
      return ready(await secured(await connected(last, target.connect_timeout), last, tls, target.connect_timeout))
    } catch {
      return ready(connecting(last)) // (prefer: plain, failing as the driver's would)
    }
  }
  return ready(await secured(connecting(last), last, tls, target.connect_timeout))
}

/** `raw` in TLS if `tls` asks for it ('prefer': `raw` is connected, and goes on plain if the
 * server refuses). Never over a Unix socket, as libpq: PostgreSQL has no TLS there. */
async function secured(raw: Socket, place: Place, tls: TlsMode | null, timeoutSeconds: number): Promise<Socket> {
  if (!wantsTls(tls) || 'path' in place) return raw
  const host = 'host' in place ? place.host : undefined
  if (tls.ssl !== 'prefer' || tls.sslnegotiation === 'direct') return tlsOver(raw, host, tls)
  return (await askTls(raw, timeoutSeconds)) ? tlsAfterYes(raw, host, tls) : raw
}

function ready(socket: Socket): Socket {
  syncWhenReady(coalesce(socket))
  return socket
}

function connecting(place: Place): Socket {
  const socket = new Socket()
  if ('path' in place) socket.connect(place.path)
  else socket.connect(place.port, place.host)
  return socket
}

function connected(place: Place, timeoutSeconds: number): Promise<Socket> {
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
