// With the driver's catalog query off (pg-driver.ts), a reserve() that has to open a connection
// never settled (porsager/postgres #751, #1219; the fix, #1220, is unmerged): at the new
// connection's first ReadyForQuery the driver drops the reserve that opened it and returns, where
// with the query on, that query's end handed the connection to the waiting reserve (its pool's
// onopen). The driver also hands an idle connection on when its socket emits 'drain' — so each
// socket emits one once the driver has read the startup's ReadyForQuery. A connection that
// already runs the statement it was opened for ignores it (the driver checks), and one whose
// reserve another connection took goes to the pool's idle connections, where before it was lost.

import type { Socket } from 'node:net'

const READY_FOR_QUERY = 0x5a // 'Z'

/** Makes `socket` (plain PostgreSQL protocol, before the startup) emit 'drain' after its first ReadyForQuery. */
export function drainWhenReady(socket: Socket): void {
  let pending: Buffer = Buffer.alloc(0)
  const read = (chunk: Buffer): void => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    // Each backend message: a type byte, then its length (which counts itself, not the type).
    while (pending.length >= 5) {
      if (pending[0] === READY_FOR_QUERY) {
        socket.off('data', read)
        // Registered before the driver's own listener, this runs first: the drain goes once the
        // driver has handled the chunk (its listener is synchronous).
        queueMicrotask(() => void (socket.destroyed || socket.emit('drain')))
        return
      }
      const next = 1 + pending.readUInt32BE(1)
      if (pending.length < next) return
      pending = pending.subarray(next)
    }
  }
  socket.on('data', read)
}
