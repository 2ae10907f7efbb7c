// Request bodies: at most BODY_BYTES_MAX, read whole before anything is acted on. A body that a
// framework already parsed (Express's json() or urlencoded()) is taken from `req.body`.

import type { IncomingMessage } from 'node:http'
import { HttpError } from './http-error.js'

export const BODY_BYTES_MAX = 1024 * 1024
/** Past this, an oversized body is no longer read to its end (to answer 413 cleanly): the
 * connection is cut. */
const DISCARD_BYTES_MAX = 16 * BODY_BYTES_MAX

interface ParsedBodyRequest extends IncomingMessage {
  body?: unknown
}

/** The body as text; 413 when longer than BODY_BYTES_MAX (read to its end, then refused). */
export function readText(req: IncomingMessage): Promise<string> {
  // Read by someone else already, without leaving a parsed body: nothing is left to read.
  if (req.readableEnded) return Promise.resolve('')
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let bytes = 0
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= BODY_BYTES_MAX) chunks.push(chunk)
      else if (bytes > DISCARD_BYTES_MAX) req.destroy()
    })
    req.on('error', reject)
    req.on('close', () => reject(new HttpError(400, 'BODY_INCOMPLETE', 'the request body ended early')))
    req.on('end', () => {
      if (bytes > BODY_BYTES_MAX) {
        reject(new HttpError(413, 'BODY_TOO_LARGE', `the request body has ${bytes} bytes; at most ${BODY_BYTES_MAX} are accepted`))
      } else {
        resolve(Buffer.concat(chunks).toString('utf8'))
      }
    })
  })
}

/** A framework's parsed body, once the stream was consumed by it; undefined otherwise. */
function parsedBody(req: ParsedBodyRequest): unknown {
  return req.readableEnded && req.body !== undefined ? req.body : undefined
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const parsed = parsedBody(req)
  if (parsed !== undefined && typeof parsed !== 'string' && !Buffer.isBuffer(parsed)) return parsed
  const text = parsed === undefined ? await readText(req) : String(parsed)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new HttpError(400, 'BAD_JSON', `the request body is not JSON: ${(error as Error).message}`)
  }
}

/** An application/x-www-form-urlencoded body. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const parsed = parsedBody(req)
  if (parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) {
    const form = new URLSearchParams()
    for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') form.append(key, value)
    return form
  }
  return new URLSearchParams(parsed === undefined ? await readText(req) : String(parsed))
}
