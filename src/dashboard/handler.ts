// dashboard(wharf, options): the operator surface as one Node request handler, for a plain
// node:http server or any framework that takes `(req, res, next)`. Everything under its mount is
// its own: the JSON API (/api/…), the login, the page and its assets.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Wharf } from '../engine/api/wharf.js'
import { serveApi } from './api.js'
import { EventStreams } from './event-stream.js'
import { HttpError } from './http-error.js'
import { locate, type MountedRequest } from './mount.js'
import { checkDashboardOptions, type DashboardOptions, type DashboardSettings } from './options.js'
import { login, servePageOrAsset } from './page-routes.js'
import { sendError } from './respond.js'
import { StoreFunctions } from './store-functions.js'
import { checkHost } from './security.js'
import { describe } from '../engine/core/describe.js'
import { InvalidPropertyError } from '../engine/errors.js'

export type { DashboardOptions } from './options.js'

export type DashboardHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void

/** @internal A dashboard and what its owner needs to end it (serveDashboard, tests). */
export interface Dashboard {
  handle: DashboardHandler
  streams: EventStreams
}

/**
 * The handler. Its event streams end when the Wharf closes. With `basePath`, requests outside it
 * go to `next` (or get a 404 without one); a framework's own mount path is read from the request.
 */
export function dashboard(wharf: Wharf, options: DashboardOptions = {}): DashboardHandler {
  // Checked here, not at the first request: a wrong first argument must fail where it is passed.
  if (wharf === null || typeof wharf !== 'object' || typeof (wharf as Partial<Wharf>).onClose !== 'function') {
    throw new InvalidPropertyError(`dashboard() needs a Wharf (from Wharf.open()) as its first argument, got ${describe(wharf)}`)
  }
  const created = createDashboard(wharf, checkDashboardOptions(options))
  wharf.onClose(() => created.streams.endAll())
  return created.handle
}

/** @internal */
export function createDashboard(wharf: Wharf, settings: DashboardSettings): Dashboard {
  const streams = new EventStreams()
  const functions = new StoreFunctions(wharf)
  const handle: DashboardHandler = (req, res, next) => {
    const location = locate(req as MountedRequest, settings.basePath)
    if (location === null) {
      if (next !== undefined) next()
      else sendError(res, new HttpError(404, 'NOT_MOUNTED_HERE', `${req.url ?? ''} is outside the dashboard's base path ${settings.basePath}`))
      return
    }
    const { base, path, query } = location
    const answer = async (): Promise<void> => {
      checkHost(req, settings.token)
      if (path === '/api' || path.startsWith('/api/')) await serveApi({ wharf, req, res, settings, streams, functions }, path, query)
      else if (path === '/login') await login(req, res, base, settings)
      else servePageOrAsset(req, res, path, base, settings)
    }
    answer().catch((error: unknown) => sendError(res, error))
  }
  return { handle, streams }
}
