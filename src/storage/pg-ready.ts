// With the driver's catalog query off (pg-driver.ts), a reserve() that has to open a connection
// never settled (porsager/postgres #751, #1219; the fix, #1220, is unmerged): at the new
// connection's first ReadyForQuery the driver drops the reserve that opened it and returns,
// where with the query on, the query's own ReadyForQuery went on to hand the connection out (its
// pool's onopen), or to end it if the pool was ending meanwhile. So a socket whose driver sends
// nothing at that first ReadyForQuery sends a Sync itself: the server answers it with another
// ReadyForQuery, which the driver handles as it handled the catalog query's. A driver that does
// send (the statement the connection was opened for) is left alone: a ReadyForQuery it did not
// ask for would end that statement.

import type { Socket } from 'node:net'

const READY_FOR_QUERY = 0x5a // 'Z'
/** Sync: type 'S', length 4 (itself). */
const SYNC = Buffer.from([0x53, 0, 0, 0, 4])

/** Makes `socket` (plain PostgreSQL protocol, before the startup) send a Sync after its first ReadyForQuery, unless the driver sends something. */
export function syncWhenReady(socket: Socket): void {
  let pending: Buffer = Buffer.alloc(0)
  const read = (chunk: Buffer): void => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    // Each backend message: a type byte, then its length (which counts itself, not the type).
    while (pending.length >= 5) {
      if (pending[0] === READY_FOR_QUERY) {
        socket.off('data', read)
        const before = socket.bytesWritten
        // This listener runs before the driver's, in the same emit: once its handler is done
        // (a microtask later), what it sends is queued as an immediate, and runs before this one.
        queueMicrotask(() => setImmediate(() => {
          if (socket.bytesWritten === before && socket.writable) socket.write(SYNC)
        }))
        return
      }
      const next = 1 + pending.readUInt32BE(1)
      if (pending.length < next) return
      pending = pending.subarray(next)
    }
  }
  socket.on('data', read)
}
