// Options of dashboard() and serveDashboard(), checked once with an error naming the bad value.

import { isOptionsObject } from '../engine/api/options-object.js'
import { describe } from '../engine/api/properties.js'
import { InvalidPropertyError } from '../engine/errors.js'

export interface DashboardOptions {
  /** Required on every /api/ request when set (Bearer, X-Wharf-Token, or the /login cookie).
   * Without it, only requests addressed to a loopback name are answered. */
  token?: string
  /** Reads only: every action answers 403. */
  readOnly?: boolean
  /** The prefix to strip from `req.url` in a plain node:http server (e.g. '/ops/jobs'). Leave it
   * out under a framework that strips its mount path itself (Express's `app.use('/jobs', …)`). */
  basePath?: string
}

export interface DashboardSettings {
  token: string | null
  readOnly: boolean
  /** '' or '/a/b' (no trailing slash). */
  basePath: string
  /** Called before every action is applied: throws (an HttpError) to refuse it. */
  actionGuard: (() => void) | null
  /** False when the Wharf was opened under channels that are not the app's (`wharf dashboard
   * --path`): the API then leaves capacity, sequential and throttleSeconds out (channel-config.ts). */
  channelConfig: boolean
}

/** @internal serveDashboard() option (a symbol: no app passes it by mistake): the CLI's cluster
 * member refuses actions while no scheduler is alive, rather than leave them waiting. */
export const ACTION_GUARD: unique symbol = Symbol('wharf.dashboardActionGuard')

/** @internal serveDashboard() option: the CLI opened the store under its own channels, not the
 * app's (local-client.ts CLI_CHANNELS), so the channels' configuration is unknown. */
export const NO_CHANNEL_CONFIG: unique symbol = Symbol('wharf.dashboardNoChannelConfig')

const TOKEN = /^[\x21-\x7e]{1,4096}$/

/** Whether `text` can be a dashboard's token (the CLI checks --token by it before sending it). */
export function isTokenText(text: string): boolean {
  return TOKEN.test(text)
}
const BASE_PATH = /^(\/[A-Za-z0-9._~%-]+)*$/

/** Refuse an options object with keys other than `known`. */
/** `of: 'body'` for a request's JSON body: its client sent no options, and is told so. */
export function checkKeys(where: string, options: unknown, known: readonly string[], of: 'options' | 'body' = 'options'): Record<string, unknown> {
  if (!isOptionsObject(options)) {
    const what = of === 'body' ? 'the body must be a JSON object' : 'options must be an object'
    throw new InvalidPropertyError(`${where}: ${what}, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const unknown = of === 'body' ? `unknown key ${JSON.stringify(key)} in the body; keys` : `unknown option ${JSON.stringify(key)}; known`
    throw new InvalidPropertyError(`${where}: ${unknown}: ${known.join(', ')}`)
  }
  return options as Record<string, unknown>
}

export function checkDashboardOptions(options: unknown, where = 'dashboard()'): DashboardSettings {
  const o = checkKeys(where, options, ['token', 'readOnly', 'basePath'])
  if (o.token !== undefined && (typeof o.token !== 'string' || !isTokenText(o.token))) {
    throw new InvalidPropertyError(`${where}: token must be 1 to 4096 printable ASCII characters without spaces, got ${describe(o.token)}`)
  }
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') {
    throw new InvalidPropertyError(`${where}: readOnly must be a boolean, got ${describe(o.readOnly)}`)
  }
  let basePath = ''
  if (o.basePath !== undefined) {
    basePath = typeof o.basePath === 'string' ? o.basePath.replace(/\/+$/, '') : ''
    if (typeof o.basePath !== 'string' || !BASE_PATH.test(basePath)) {
      throw new InvalidPropertyError(`${where}: basePath must be a URL path such as '/ops/jobs', got ${describe(o.basePath)}`)
    }
  }
  return { token: (o.token as string | undefined) ?? null, readOnly: o.readOnly === true, basePath, actionGuard: null, channelConfig: true }
}
