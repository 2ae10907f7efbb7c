// A TCP proxy on loopback in front of the run's PostgreSQL server, for a server that goes away
// under a Wharf and comes back: cut() drops every connection through it and drops new ones at
// once, as a server that stopped does; restore() lets them through again. The server the other
// tests share is never stopped.
import { connect, createServer, type Socket } from 'node:net'

export interface CutProxy {
  /** `target` (a postgres:// URL) with the proxy's port. */
  url: string
  /** Drop every connection, and each new one, until restore(). */
  cut(): void
  restore(): void
  /** Stop for good (idempotent). */
  close(): Promise<void>
}

export async function cutProxy(target: string): Promise<CutProxy> {
  const server = new URL(target)
  const sockets = new Set<Socket>()
  let down = false
  const proxy = createServer((client) => {
    client.on('error', () => undefined)
    if (down) return void client.destroy()
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
  const cut = (): void => {
    down = true
    for (const socket of sockets) socket.destroy()
  }
  let closed: Promise<void> | null = null
  return {
    url: url.toString(),
    cut,
    restore: () => void (down = false),
    close: () => {
      cut()
      closed ??= new Promise<void>((resolve) => proxy.close(() => resolve()))
      return closed
    },
  }
}
