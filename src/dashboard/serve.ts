// Standalone serving: the dashboard on its own node:http server (wharf.serveDashboard(), the
// CLI's `wharf dashboard`). Binds 127.0.0.1 by default; closing the Wharf closes the server.

import { createServer, type Server } from 'node:http'
import { describe } from '../engine/api/properties.js'
import type { Wharf } from '../engine/api/wharf.js'
import { InvalidPropertyError } from '../engine/errors.js'
import { createDashboard } from './handler.js'
import { ACTION_GUARD, checkDashboardOptions, checkKeys, NO_CHANNEL_CONFIG } from './options.js'
import { isLoopbackAddress } from './security.js'

export interface ServeOptions {
  /** Default 7777; 0 picks a free port (see `port` of the answer). */
  port?: number
  /** Default '127.0.0.1'. Another address serves other machines: it needs a token (refused
   * without one), since without one only requests from this machine are answered. */
  host?: string
  token?: string
  readOnly?: boolean
  /** @internal See ACTION_GUARD. */
  [ACTION_GUARD]?: () => void
  /** @internal See NO_CHANNEL_CONFIG. */
  [NO_CHANNEL_CONFIG]?: true
}

export interface DashboardServer {
  /** e.g. 'http://127.0.0.1:7777/' */
  url: string
  port: number
  /** Ends the event streams, stops listening, waits for requests in progress. */
  close(): Promise<void>
}

export const DEFAULT_PORT = 7777
export const DEFAULT_HOST = '127.0.0.1'

export async function serveDashboard(wharf: Wharf, options: ServeOptions = {}): Promise<DashboardServer> {
  const where = 'serveDashboard()'
  const { port = DEFAULT_PORT, host = DEFAULT_HOST, token, readOnly } = checkKeys(where, options, ['port', 'host', 'token', 'readOnly'])
  const settings = { ...checkDashboardOptions({ token, readOnly }, where), actionGuard: options[ACTION_GUARD] ?? null, channelConfig: options[NO_CHANNEL_CONFIG] !== true }
  if (typeof port !== 'number' || !Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new InvalidPropertyError(`${where}: port must be an integer from 0 to 65535, got ${describe(port)}`)
  }
  if (typeof host !== 'string' || host.length === 0) throw new InvalidPropertyError(`${where}: host must be a non-empty string, got ${describe(host)}`)
  // Without a token only this machine is answered (checkHost): listening on another interface
  // would serve other machines nothing but 403s, a mistake better said here than found there.
  if (settings.token === null && host !== 'localhost' && !isLoopbackAddress(host)) {
    throw new InvalidPropertyError(`${where}: host ${describe(host)} serves other machines, which a dashboard without a token does not answer: set a token, or listen on 127.0.0.1`)
  }
  const { handle, streams } = createDashboard(wharf, settings)
  const server = createServer(handle)
  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      removeHook()
      streams.endAll()
      if (!server.listening) return
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      await closed
    })()
    return closing
  }
  // Before listening: a closed Wharf refuses here, with nothing left open.
  const removeHook = wharf.onClose(close)
  try {
    await listen(server, port, host)
  } catch (error) {
    removeHook()
    throw error
  }
  const bound = (server.address() as { port: number }).port
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`, port: bound, close }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
