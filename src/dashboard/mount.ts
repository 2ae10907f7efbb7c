// Where the dashboard is mounted, and the request's path below it. A framework that mounts a
// handler under a prefix strips it from `req.url` and says what it stripped: `req.baseUrl`
// (Express), or `req.originalUrl` minus `req.url` (Connect). In a plain node:http server, the
// `basePath` option names the prefix and the handler strips it itself.

import type { IncomingMessage } from 'node:http'

export interface MountedRequest extends IncomingMessage {
  baseUrl?: string
  originalUrl?: string
}

export interface Location {
  /** The dashboard's own URL path, without trailing slash ('' at the server's root). */
  base: string
  /** The path below it, starting with '/', still percent-encoded. */
  path: string
  query: URLSearchParams
}

/** null when the request is not under `basePath` (not the dashboard's to answer). */
export function locate(req: MountedRequest, basePath: string): Location | null {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  let path = q === -1 ? url : url.slice(0, q)
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1))
  let base = mountOf(req, path)
  if (basePath !== '' && !base.endsWith(basePath)) {
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return null
    path = path.slice(basePath.length)
    base += basePath
  }
  return { base, path: path === '' ? '/' : path, query }
}

function mountOf(req: MountedRequest, path: string): string {
  if (typeof req.baseUrl === 'string') return req.baseUrl.replace(/\/+$/, '')
  if (typeof req.originalUrl !== 'string') return ''
  const original = req.originalUrl.split('?')[0]!
  if (original.endsWith(path)) return original.slice(0, original.length - path.length).replace(/\/+$/, '')
  // A mount path requested without its trailing slash ('/jobs' arrives as url '/').
  return path === '/' ? original.replace(/\/+$/, '') : ''
}
