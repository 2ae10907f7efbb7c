// What is not the JSON API: the page (one document for every path; the page routes itself), its
// script and style, and POST /login, which turns a token typed into a form into a cookie.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import { readForm } from './body.js'
import { HttpError } from './http-error.js'
import type { DashboardSettings } from './options.js'
import { APP_CSS } from './page/app-css.js'
import { APP_JS } from './page/app-js.js'
import { pageHtml } from './page/html.js'
import { redirect, sendBytes, sendText } from './respond.js'
import { checkContentType, checkSameOrigin, sameSecret, TOKEN_COOKIE } from './security.js'

interface Asset {
  contentType: string
  text: string
  /** Compressed once, when the module loads: ~15 kB on the wire for script and style together. */
  gzipped: Buffer
}

const asset = (contentType: string, text: string): Asset => ({ contentType, text, gzipped: gzipSync(text, { level: 9 }) })

const ASSETS: Record<string, Asset> = {
  '/assets/app.js': asset('text/javascript; charset=utf-8', APP_JS),
  '/assets/app.css': asset('text/css; charset=utf-8', APP_CSS),
}

/** Whether the client takes gzip (a q=0 refuses it). */
function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding']
  if (typeof header !== 'string') return false
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';')
    return (coding === 'gzip' || coding === '*') && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p))
  })
}

const readMethod = (req: IncomingMessage): boolean => req.method === 'GET' || req.method === 'HEAD'

function refuseMethod(req: IncomingMessage, path: string, allowed: string): never {
  throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} ${path} is not allowed; use ${allowed}`, { allow: allowed })
}

export function servePageOrAsset(req: IncomingMessage, res: ServerResponse, path: string, base: string, settings: DashboardSettings): void {
  if (!readMethod(req)) refuseMethod(req, path, 'GET, HEAD')
  if (path.startsWith('/assets/')) {
    const found = ASSETS[path]
    if (found === undefined) throw new HttpError(404, 'UNKNOWN_ASSET', `no asset ${path}`)
    if (acceptsGzip(req)) sendBytes(res, found.contentType, found.gzipped, { 'content-encoding': 'gzip', vary: 'accept-encoding' })
    else sendBytes(res, found.contentType, Buffer.from(found.text), { vary: 'accept-encoding' })
    return
  }
  sendText(res, 'text/html; charset=utf-8', pageHtml({ basePath: base, readOnly: settings.readOnly }))
}

/** POST /login, form `token=…`: the cookie that lets the page call the API, then the page. */
export async function login(req: IncomingMessage, res: ServerResponse, base: string, settings: DashboardSettings): Promise<void> {
  if (req.method !== 'POST') refuseMethod(req, '/login', 'POST')
  checkSameOrigin(req)
  checkContentType(req, 'application/x-www-form-urlencoded')
  if (settings.token === null) throw new HttpError(400, 'NO_TOKEN', 'this dashboard has no token: there is nothing to log in to')
  const form = await readForm(req)
  const given = form.get('token')
  if (given === null || given === '') throw new HttpError(400, 'TOKEN_MISSING', 'the login form needs a field token')
  if (!sameSecret(given, settings.token)) throw new HttpError(401, 'TOKEN_WRONG', 'the token entered is not this dashboard\'s token')
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true ? '; Secure' : ''
  // The mount path came from the request's URL: only characters a cookie attribute can hold.
  const path = `${base}/`.replace(/[^A-Za-z0-9._~%/-]/g, (c) => encodeURIComponent(c))
  const cookie = `${TOKEN_COOKIE}=${encodeURIComponent(settings.token)}; Path=${path}; HttpOnly; SameSite=Strict${secure}`
  redirect(res, `${base}/`, { 'set-cookie': cookie })
}
