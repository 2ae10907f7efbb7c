// A TCP proxy on loopback in front of the run's PostgreSQL server, for a server that goes away
// under a Wharf and comes back: cut() drops every connection through it and drops new ones at
// once, as a server that stopped does; refuse() also stops listening, as a host with no server;
// restore() lets them through again. The server the other tests share is never stopped.
import { connect, createServer, type Socket } from 'node:net'

export interface CutProxy {
  /** `target` (a postgres:// URL) with the proxy's port. */
  url: string
  /** Drop every connection, and each new one, until restore(). */
  cut(): void
  /** As cut(), and stop listening: new connections are refused, as by a host with no server. */
  refuse(): Promise<void>
  restore(): void
  /**
   * Drop, once, the first connection whose first statement after its startup message (trust
   * authentication: nothing else comes between) `matches` (its text, raw), before that reaches
   * the server, and every connection open then — a server restarting just as a new connection
   * starts its work. Resolves once done; new connections go through again at once.
   */
  cutAtFirstStatement(matches: (statement: string) => boolean): Promise<void>
  /** Stop for good (idempotent). */
  close(): Promise<void>
}

export async function cutProxy(target: string): Promise<CutProxy> {
  const server = new URL(target)
  const sockets = new Set<Socket>()
  let down = false
  let armed: { matches: (statement: string) => boolean; cut: () => void } | null = null
  const proxy = createServer((client) => {
    client.on('error', () => undefined)
    if (down) return void client.destroy()
    const upstream = connect(Number(server.port), server.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => undefined) // the other side is destroyed with it, below
    }
    let startup = true
    client.on('data', (chunk: Buffer) => {
      // The startup message has no type byte: its length is its first four bytes.
      const rest = startup && chunk.length >= 4 ? chunk.subarray(chunk.readUInt32BE(0)) : chunk
      startup = false
      if (armed !== null && rest.length > 0 && armed.matches(rest.toString('latin1'))) {
        const cutNow = armed.cut
        armed = null
        client.resetAndDestroy() // ECONNRESET, as a server that went away mid-statement gives
        cutNow()
      }
    })
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const port = (proxy.address() as { port: number }).port
  const url = new URL(target)
  url.port = String(port)
  let refusing = false
  const cut = (): void => {
    down = true
    for (const socket of sockets) socket.destroy()
  }
  let closed: Promise<void> | null = null
  return {
    url: url.toString(),
    cut,
    refuse: async () => {
      cut()
      refusing = true
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
    },
    restore: () => {
      down = false
      if (refusing) proxy.listen(port, '127.0.0.1')
      refusing = false
    },
    cutAtFirstStatement: (matches) =>
      new Promise<void>((resolve) => {
        armed = {
          matches,
          cut: () => {
            cut()
            down = false
            resolve()
          },
        }
      }),
    close: () => {
      cut()
      closed ??= refusing ? Promise.resolve() : new Promise<void>((resolve) => proxy.close(() => resolve()))
      return closed
    },
  }
}
