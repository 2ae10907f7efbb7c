// The driver's sockets: what one turn of the event loop writes leaves in one write.
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { coalescingSocket } from '../../src/storage/pg-socket.js'

let server: Server | null = null
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  if (server !== null) await new Promise((resolve) => server!.close(resolve))
  server = null
})

/** A server on a free loopback port that collects what it receives; resolves with its port. */
async function listen(received: Buffer[]): Promise<number> {
  server = createServer((peer) => peer.on('data', (chunk) => received.push(chunk)))
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return (server!.address() as { port: number }).port
}

/** Counts the writes the socket hands to the kernel: one per _write, one per _writev. */
function countWrites(socket: Socket): { count: number } {
  const seen = { count: 0 }
  const internal = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void }
  const write = internal._write
  const writev = internal._writev
  internal._write = function (this: unknown, ...a: unknown[]) {
    seen.count++
    return write.apply(this, a)
  }
  internal._writev = function (this: unknown, ...a: unknown[]) {
    seen.count++
    return writev.apply(this, a)
  }
  return seen
}

describe('coalescingSocket', () => {
  it('sends what one turn writes in one write, and the next turn in another', async () => {
    const received: Buffer[] = []
    const port = await listen(received)
    const socket = await coalescingSocket({ host: ['127.0.0.1'], port: [port], path: false, connect_timeout: 5 })
    sockets.push(socket)
    const writes = countWrites(socket)
    // As the driver sends a pipelined append: each statement from a microtask of the same turn.
    await Promise.all(['BEGIN;', 'INSERT;', 'COMMIT;'].map(async (text) => socket.write(text)))
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes.count).toBe(1)
    socket.write('NEXT;')
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes.count).toBe(2)
    await expect.poll(() => Buffer.concat(received).toString()).toBe('BEGIN;INSERT;COMMIT;NEXT;')
  })

  it('tries the hosts in order, and hands the last one\'s socket over connecting: it fails as the driver\'s own do', async () => {
    const received: Buffer[] = []
    const port = await listen(received)
    // A port nobody listens on: the one just freed by a throwaway server.
    const spare = createServer()
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve))
    const closed = (spare.address() as { port: number }).port
    await new Promise((resolve) => spare.close(resolve))
    const socket = await coalescingSocket({ host: ['127.0.0.1', '127.0.0.1'], port: [closed, port], path: false, connect_timeout: 5 })
    sockets.push(socket)
    if (socket.connecting) await new Promise((resolve) => socket.once('connect', resolve))
    expect(socket.remotePort).toBe(port)
    // Rejected (or failed before the driver listened), the driver lost the connection for good.
    const refused = await coalescingSocket({ host: ['127.0.0.1'], port: [closed], path: false, connect_timeout: 5 })
    const events: string[] = []
    await new Promise<void>((resolve) => {
      refused.on('error', (error: Error & { code?: string }) => events.push(error.code ?? error.message))
      refused.on('close', () => resolve())
    })
    expect(events).toEqual(['ECONNREFUSED'])
  })
})
