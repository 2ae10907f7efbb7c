// libpq's TLS file parameters in a connection URL, which the driver does not read: sslrootcert
// (the CA certificates to check the server's by, or 'system' for the system's), sslcert and
// sslkey (a client certificate and its key), sslpassword (the key's passphrase). Left in the URL,
// the driver sent them to the server as settings, which refused the connection ("unrecognized
// configuration parameter"); a managed server's CA bundle could not be given at all. Taken out
// here, the files are read once, at open, and the socket's TLS uses them (pg-tls.ts).

import { readFileSync } from 'node:fs'

export interface TlsFiles {
  /** sslrootcert's file: the only CAs the server's certificate may chain to. */
  ca?: Buffer
  /** sslrootcert=system: the system's CAs (and verify-full). */
  system?: boolean
  cert?: Buffer
  key?: Buffer
  passphrase?: string
}

const PARAMS = ['sslrootcert', 'sslcert', 'sslkey', 'sslpassword'] as const

/** `url` without libpq's TLS file parameters, and what they name, the files read now. Throws an
 * Error naming the parameter and the file when one cannot be read. */
export function takeTlsFiles(url: string): { url: string; files: TlsFiles } {
  const start = url.indexOf('?')
  if (start < 0) return { url, files: {} }
  const end = url.indexOf('#', start)
  const query = new URLSearchParams(url.slice(start + 1, end < 0 ? undefined : end))
  if (!PARAMS.some((name) => query.has(name))) return { url, files: {} }
  const files: TlsFiles = {}
  const root = query.get('sslrootcert')
  if (root === 'system') files.system = true
  else if (root !== null) files.ca = readParam('sslrootcert', root)
  const cert = query.get('sslcert')
  if (cert !== null) files.cert = readParam('sslcert', cert)
  const key = query.get('sslkey')
  if (key !== null) files.key = readParam('sslkey', key)
  const passphrase = query.get('sslpassword')
  if (passphrase !== null) files.passphrase = passphrase
  for (const name of PARAMS) query.delete(name)
  const rest = query.toString()
  return { url: url.slice(0, start) + (rest === '' ? '' : `?${rest}`) + (end < 0 ? '' : url.slice(end)), files }
}

function readParam(name: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new Error(`its ${name} file ${JSON.stringify(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
}
