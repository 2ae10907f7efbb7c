// A TCP proxy on loopback in front of the run's PostgreSQL server, for a server that goes away
// under a Wharf: cut() drops every connection through it and refuses new ones, as a server that
// stopped does (ECONNRESET, then ECONNREFUSED), without stopping the server the other tests share.
import { connect, createServer, type Socket } from 'node:net'

export interface CutProxy {
  /** `target` (a postgres:// URL) with the proxy's port. */
  url: string
  /** Drop every connection and refuse new ones. */
  cut(): Promise<void>
  /** Stop for good (idempotent). */
  close(): Promise<void>
}

export async function cutProxy(target: string): Promise<CutProxy> {
  const server = new URL(target)
  const sockets = new Set<Socket>()
  const proxy = createServer((client) => {
    const upstream = connect(Number(server.port), server.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => undefined) // the other side is destroyed with it, below
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const url = new URL(target)
  url.port = String((proxy.address() as { port: number }).port)
  let closed: Promise<void> | null = null
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      proxy.close(() => resolve())
      for (const socket of sockets) socket.destroy()
    })
    return closed
  }
  return { url: url.toString(), cut: close, close }
}
