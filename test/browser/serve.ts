// Serves a Wharf's dashboard from a node:http server on a free loopback port, for the browser
// tests and the screenshot script (not a test file itself).

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dashboard, type DashboardOptions } from '../../src/dashboard.js'
import type { Wharf } from '../../src/index.js'

export interface Served {
  /** The dashboard's URL, ending in '/'. */
  url: string
  close: () => Promise<void>
}

export async function serve(wharf: Wharf, options: DashboardOptions = {}): Promise<Served> {
  const handler = dashboard(wharf, options)
  const server = createServer((req, res) => void handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${options.basePath ?? ''}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections() // event streams stay open otherwise
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
