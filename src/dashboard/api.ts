// The JSON API under <base>/api/: its route table, and the checks every request passes in order
// before anything is read or changed — token, route (404), method (405), query keys (400), then
// for actions: same origin (403), read-only (403), the server's guard (the CLI's cluster member:
// 503 with no scheduler), JSON content type (415), body (413, 400).

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Wharf } from '../engine/api/wharf.js'
import { checkChannelBody, checkCronBody, checkPurgeBody, checkUuids, JOB_ACTIONS, runJobAction, runRemove, type JobAction } from './actions.js'
import { batchDetail, batchesPage, graphOf, jobDetail, jobsPage } from './api-reads.js'
import { readJson } from './body.js'
import { withoutConfiguration } from './channel-config.js'
import { channelTree } from './channel-tree.js'
import type { EventStreams } from './event-stream.js'
import { HttpError } from './http-error.js'
import type { DashboardSettings } from './options.js'
import { BATCHES_QUERY_KEYS, checkUuidParam, decodeSegment, GRAPH_QUERY_KEYS, JOBS_QUERY_KEYS, queryValues } from './query.js'
import { sendJson } from './respond.js'
import type { StoreFunctions } from './store-functions.js'
import { checkContentType, checkSameOrigin, checkToken } from './security.js'
import { packageVersion } from './version.js'

export interface ApiContext {
  wharf: Wharf
  req: IncomingMessage
  res: ServerResponse
  settings: DashboardSettings
  streams: EventStreams
  functions: StoreFunctions
}

interface Call {
  ctx: ApiContext
  /** The path's `:param` segments, decoded, in order. */
  params: string[]
  query: URLSearchParams
  /** The checked JSON body of an action. */
  body: unknown
}

interface Route {
  method: 'GET' | 'POST'
  path: string
  query?: readonly string[]
  /** Changes jobs or channels: same-origin, read-only and JSON checks, then the body. */
  action?: boolean
  /** The answer as JSON (status 200 unless it says), or undefined when it answered itself. */
  handle(call: Call): Promise<{ status?: number; body: unknown } | undefined>
}

const ok = async (body: unknown): Promise<{ body: unknown }> => ({ body })

const jobAction = (action: JobAction): Route => ({
  method: 'POST',
  path: `/api/actions/${action}`,
  action: true,
  async handle({ ctx, body }) {
    const { allOk, results } = await runJobAction(ctx.wharf, action, checkUuids(body, `POST /api/actions/${action}`))
    return { status: allOk ? 200 : 409, body: { results } }
  },
})

const channelAction = (action: 'pause' | 'resume'): Route => ({
  method: 'POST',
  path: `/api/channels/${action}`,
  action: true,
  async handle({ ctx, body }) {
    const channel = checkChannelBody(body, `POST /api/channels/${action}`)
    await (action === 'pause' ? ctx.wharf.pauseChannel(channel) : ctx.wharf.resumeChannel(channel))
    return { body: { ok: true } }
  },
})

const cronAction = (action: 'pause' | 'resume'): Route => ({
  method: 'POST',
  path: `/api/crons/${action}`,
  action: true,
  async handle({ ctx, body }) {
    const name = checkCronBody(body, `POST /api/crons/${action}`)
    await (action === 'pause' ? ctx.wharf.pauseCron(name) : ctx.wharf.resumeCron(name))
    return { body: { ok: true } }
  },
})

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/info',
    handle: ({ ctx }) => ok({ readOnly: ctx.settings.readOnly, tokenRequired: ctx.settings.token !== null, version: packageVersion() }),
  },
  { method: 'GET', path: '/api/jobs', query: JOBS_QUERY_KEYS, handle: async ({ ctx, query }) => ok(await jobsPage(ctx.wharf, query)) },
  { method: 'GET', path: '/api/jobs/:uuid', handle: async ({ ctx, params }) => ok(await jobDetail(ctx.wharf, params[0]!)) },
  { method: 'GET', path: '/api/jobs/:uuid/explain', handle: async ({ ctx, params }) => ok(await ctx.wharf.explain(params[0]!)) },
  { method: 'GET', path: '/api/graphs/:uuid', query: GRAPH_QUERY_KEYS, handle: async ({ ctx, params, query }) => ok(await graphOf(ctx.wharf, params[0]!, query)) },
  { method: 'GET', path: '/api/stats', handle: ({ ctx }) => ok(statsOf(ctx)) },
  { method: 'GET', path: '/api/channels', handle: ({ ctx }) => ok({ channels: channelTree(statsOf(ctx)) }) },
  { method: 'GET', path: '/api/functions', handle: async ({ ctx }) => ok({ functions: await ctx.functions.list(ctx.settings.channelConfig) }) },
  { method: 'GET', path: '/api/crons', handle: async ({ ctx }) => ok({ crons: await ctx.wharf.crons() }) },
  { method: 'GET', path: '/api/cluster', handle: ({ ctx }) => ok(ctx.wharf.cluster()) },
  { method: 'GET', path: '/api/batches', query: BATCHES_QUERY_KEYS, handle: async ({ ctx, query }) => ok(await batchesPage(ctx.wharf, query)) },
  { method: 'GET', path: '/api/batches/:uuid', handle: async ({ ctx, params }) => ok(await batchDetail(ctx.wharf, params[0]!)) },
  ...(Object.keys(JOB_ACTIONS) as JobAction[]).map(jobAction),
  {
    method: 'POST',
    path: '/api/actions/remove',
    action: true,
    handle: async ({ ctx, body }) => runRemove(ctx.wharf, checkUuids(body, 'POST /api/actions/remove')),
  },
  {
    method: 'POST',
    path: '/api/actions/purge',
    action: true,
    handle: async ({ ctx, body }) => ok({ removed: await ctx.wharf.purge(checkPurgeBody(body, 'POST /api/actions/purge')) }),
  },
  channelAction('pause'),
  channelAction('resume'),
  cronAction('pause'),
  cronAction('resume'),
  {
    method: 'GET',
    path: '/api/events',
    async handle({ ctx }) {
      ctx.streams.start(ctx.wharf, ctx.res, ctx.req.method === 'HEAD')
      return undefined
    },
  },
]

/** stats(), without the channels' configuration when it is not the app's (NO_CHANNEL_CONFIG). */
function statsOf(ctx: ApiContext) {
  const stats = ctx.wharf.stats()
  return ctx.settings.channelConfig ? stats : withoutConfiguration(stats)
}

/** Every route as 'METHOD /path' (the README documents each). */
export function apiRoutes(): string[] {
  return ROUTES.map((route) => `${route.method} ${route.path}`)
}

/** Answer a request whose path (below the base) starts with /api/. */
export async function serveApi(ctx: ApiContext, path: string, query: URLSearchParams): Promise<void> {
  const { req, res, settings } = ctx
  checkToken(req, settings.token)
  const { route, params } = findRoute(req.method ?? 'GET', path)
  const where = `${route.method} ${route.path}`
  queryValues(query, route.query ?? [], where)
  let body: unknown
  if (route.action === true) {
    checkSameOrigin(req)
    if (settings.readOnly) throw new HttpError(403, 'READ_ONLY', 'this dashboard is read-only: actions are refused')
    settings.actionGuard?.()
    checkContentType(req, 'application/json')
    body = await readJson(req)
  }
  const answer = await route.handle({ ctx, params, query, body })
  if (answer !== undefined) sendJson(res, answer.status ?? 200, answer.body)
}

/** HEAD is answered as GET (Node sends no body with it), as HTTP asks of every GET route. */
function findRoute(method: string, path: string): { route: Route; params: string[] } {
  const segments = path.split('/')
  const matching: { route: Route; raw: string[] }[] = []
  for (const route of ROUTES) {
    const raw = matchPath(route.path.split('/'), segments)
    if (raw !== null) matching.push({ route, raw })
  }
  if (matching.length === 0) throw new HttpError(404, 'UNKNOWN_ROUTE', `no API route ${path}; see the README's "Dashboard and HTTP API"`)
  const found = matching.find((m) => m.route.method === (method === 'HEAD' ? 'GET' : method))
  if (found === undefined) {
    const allowed = [...new Set(matching.flatMap((m) => (m.route.method === 'GET' ? ['GET', 'HEAD'] : [m.route.method])))].join(', ')
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} ${path} is not allowed; use ${allowed}`, { allow: allowed })
  }
  const where = `${found.route.method} ${found.route.path}`
  return { route: found.route, params: found.raw.map((segment) => checkUuidParam(decodeSegment(segment, where), where)) }
}

/** The raw values of a pattern's `:param` segments, or null when the path does not match. */
function matchPath(pattern: readonly string[], segments: readonly string[]): string[] | null {
  if (pattern.length !== segments.length) return null
  const params: string[] = []
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i]!.startsWith(':')) {
      if (segments[i] === '') return null
      params.push(segments[i]!)
    } else if (pattern[i] !== segments[i]) return null
  }
  return params
}
