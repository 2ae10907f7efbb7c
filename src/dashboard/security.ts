// Who may ask what. With a token, every /api/ request must carry it (Bearer, X-Wharf-Token or the
// login cookie), compared in constant time. Without one, only requests addressed to a loopback
// name are served: a web page that rebinds its own domain name to 127.0.0.1 still sends its own
// Host, and is refused. Mutating requests must also come from the dashboard's own origin: JSON
// only (a cross-site form cannot send it without a CORS preflight, which is never granted), an
// Origin equal to the Host, and no `Sec-Fetch-Site: cross-site`.

import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { HttpError } from './http-error.js'

export const TOKEN_COOKIE = 'wharf_token'

/**
 * The token a request carries, from the first place that has one; null when none does. An
 * Authorization of another scheme is not ours (a proxy's Basic credentials, which a browser
 * sends on every request behind it): the header or cookie after it is looked at.
 */
export function tokenOf(req: IncomingMessage): string | null {
  const authorization = req.headers.authorization
  if (authorization !== undefined && /^Bearer(?:[ \t]|$)/i.test(authorization)) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
    return match === null ? '' : match[1]!
  }
  const header = req.headers['x-wharf-token']
  if (typeof header === 'string') return header
  return cookieOf(req, TOKEN_COOKIE)
}

function cookieOf(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue
    try {
      return decodeURIComponent(part.slice(eq + 1).trim())
    } catch {
      return '' // a malformed value: present, and wrong
    }
  }
  return null
}

/** Equal strings, in a time that does not depend on where they differ (hashes of equal length). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()
  return timingSafeEqual(digest(given), digest(expected))
}

export function checkToken(req: IncomingMessage, token: string | null): void {
  if (token === null) return
  const given = tokenOf(req)
  const challenge = { 'www-authenticate': 'Bearer realm="wharf"' }
  if (given === null) {
    throw new HttpError(401, 'TOKEN_MISSING', 'this dashboard needs its token: send Authorization: Bearer <token> or X-Wharf-Token, or log in at /login', challenge)
  }
  if (!sameSecret(given, token)) throw new HttpError(401, 'TOKEN_WRONG', 'the token sent is not this dashboard\'s token', challenge)
}

/**
 * Without a token: refuse every request that does not come from this machine, or whose Host is
 * not a loopback name or address. The peer is checked as well as the Host because a dashboard
 * served on another interface (0.0.0.0) would otherwise act for anyone on the network who writes
 * `Host: localhost`: the Host check stops a browser's DNS rebinding, not a client of its own.
 */
export function checkHost(req: IncomingMessage, token: string | null): void {
  if (token !== null) return
  const peer = req.socket?.remoteAddress
  if (peer === undefined || !isLoopbackAddress(peer)) {
    throw new HttpError(
      403,
      'PEER_NOT_LOOPBACK',
      `this request comes from ${peer ?? 'an unknown address'}: without a token the dashboard answers only requests from this machine; set a token to serve other machines`,
    )
  }
  const host = req.headers.host
  if (host === undefined || !isLoopbackHost(host)) {
    throw new HttpError(
      403,
      'HOST_NOT_LOOPBACK',
      `Host ${JSON.stringify(host ?? null)} is not a loopback name: without a token the dashboard answers only requests to localhost, 127.0.0.1 or [::1]; set a token to serve it under another name`,
    )
  }
}

export function isLoopbackHost(host: string): boolean {
  if (!URL.canParse(`http://${host}`)) return false
  const { hostname, username, password, pathname } = new URL(`http://${host}`)
  if (username !== '' || password !== '' || pathname !== '/') return false
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true
  if (hostname === '[::1]') return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/** A socket's peer address on this machine: 127.0.0.0/8 or ::1, IPv4-mapped ones included. */
export function isLoopbackAddress(address: string): boolean {
  const ipv4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address
  return ipv4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ipv4)
}

/** A mutating request: from this origin (CSRF), with a JSON body unless `form` (the login). */
export function checkSameOrigin(req: IncomingMessage): void {
  if (req.headers['sec-fetch-site'] === 'cross-site') {
    throw new HttpError(403, 'CROSS_SITE', 'refused: this request comes from another site (Sec-Fetch-Site: cross-site)')
  }
  const origin = req.headers.origin
  if (origin === undefined) return
  if (!sameHost(origin, req.headers.host)) {
    throw new HttpError(403, 'CROSS_ORIGIN', `refused: Origin ${JSON.stringify(origin)} does not match Host ${JSON.stringify(req.headers.host ?? null)}`)
  }
}

/** Origin names the Host, both read as URLs of the origin's scheme (so default ports compare). */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined || !URL.canParse(origin)) return false
  const { protocol, host: originHost } = new URL(origin)
  if (protocol !== 'http:' && protocol !== 'https:') return false
  return URL.canParse(`${protocol}//${host}`) && new URL(`${protocol}//${host}`).host === originHost
}

/** The media type of the request body, lower case, without parameters; '' when absent. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

export function checkContentType(req: IncomingMessage, expected: string): void {
  const type = mediaType(req)
  if (type !== expected) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `this request needs Content-Type: ${expected}, got ${JSON.stringify(req.headers['content-type'] ?? null)}`)
  }
}
