// Writing answers: the headers every answer carries (no sniffing, no framing, a strict content
// security policy, no CORS header ever), JSON bodies, errors, and the page's documents.

import type { ServerResponse } from 'node:http'
import { errorBody, HttpError, statusOf } from './http-error.js'

/** Set on every answer. The page loads only its own script and style (no inline script). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/** The error as JSON; once an answer has started (an event stream), the connection is cut. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const headers = error instanceof HttpError ? { ...error.headers } : {}
  sendJson(res, statusOf(error), { error: errorBody(error) }, headers)
}

export function sendText(res: ServerResponse, contentType: string, text: string): void {
  sendBytes(res, contentType, Buffer.from(text))
}

export function sendBytes(res: ServerResponse, contentType: string, bytes: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': contentType,
    'content-length': String(bytes.length),
    'cache-control': 'no-cache',
    ...headers,
  })
  res.end(bytes)
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-length': '0', 'cache-control': 'no-store', ...headers })
  res.end()
}
