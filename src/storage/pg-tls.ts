// TLS to PostgreSQL, negotiated by Wharf's socket (pg-socket.ts) instead of the driver. Left to the
// driver, TLS hid the protocol from the socket: it could not see a new connection become ready
// (pg-ready.ts), so the driver had to keep its catalog query on each new connection, whose
// dropped promise ends the app's process when a server restart cuts the connection under it
// (porsager/postgres #1192). Here the socket asks for TLS itself and hands the driver the TLS
// stream, whose bytes are the plain protocol again; the driver is told the connection is plain.
//
// The modes are the driver's reading of the URL (sslmode= or ssl=, PGSSL, sslnegotiation=direct),
// with libpq's meanings: 'require', 'allow' and 'prefer' encrypt without checking the certificate
// ('require' with an sslrootcert file checks it as 'verify-ca' does, as libpq); 'verify-ca'
// checks that it chains to a trusted CA; 'verify-full', true or any other value also check that
// it names the host (Node's defaults). 'prefer' talks plain to a server that refuses TLS, every
// other mode fails. The CAs are sslrootcert's file, or Node's (the system's with
// sslrootcert=system, which means verify-full); sslcert and sslkey give a client certificate
// (pg-tls-files.ts).

import { Duplex } from 'node:stream'
import { isIP, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import type { TlsFiles } from './pg-tls-files.js'

/** What the driver parsed from the URL (its `ssl` and `sslnegotiation` options), and the TLS
 * files the URL named. */
export interface TlsMode {
  ssl: unknown
  sslnegotiation?: unknown
  files?: TlsFiles
}

/** The mode the driver read, under libpq's rules for the files: sslrootcert=system is
 * verify-full; 'require' with an sslrootcert file is verify-ca. */
export function tlsModeOf(ssl: unknown, sslnegotiation: unknown, files: TlsFiles): TlsMode {
  if (files.system === true) return { ssl: 'verify-full', sslnegotiation, files }
  if (files.ca !== undefined && ssl === 'require') return { ssl: 'verify-ca', sslnegotiation, files }
  return { ssl, sslnegotiation, files }
}

/** SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
const YES = 0x53 // 'S'
/** The code of this file's errors: a connection that cannot go on (pg-driver.ts names it). */
const CODE = 'ETLS'
const NO = 0x4e // 'N'

export function wantsTls(mode: TlsMode | null): mode is TlsMode {
  return mode !== null && Boolean(mode.ssl)
}

/** A TLS connection over `raw` (connected or connecting to `host`), after the SSLRequest unless
 * the negotiation is direct. Fails (an 'error' event) if the server refuses TLS. */
export function tlsOver(raw: Socket, host: string | undefined, mode: TlsMode): TLSSocket {
  const direct = mode.sslnegotiation === 'direct'
  return tlsConnect(tlsOptions(direct ? raw : afterSslRequest(raw, false, mode.ssl), host, mode, direct))
}

/**
 * 'prefer': the server's answer to the SSLRequest on `raw` (connected), read before the socket is
 * handed to the driver: true, go on in TLS (tlsAfterYes); false, it refused, and `raw` goes on
 * plain. Rejects if the connection fails first, or no answer comes within `timeoutSeconds`
 * (the driver's connect_timeout starts only once it has the socket; 0: no limit).
 */
export function askTls(raw: Socket, timeoutSeconds: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = timeoutSeconds > 0 ? setTimeout(() => raw.destroy(tlsError(`no answer to the TLS request within ${timeoutSeconds} s (connect_timeout)`)), timeoutSeconds * 1000) : undefined
    const settle = (error: Error | null, yes = false): void => {
      clearTimeout(timer)
      raw.off('data', read).off('error', settle).off('close', closed)
      if (error === null) resolve(yes)
      else reject(error)
    }
    const read = (chunk: Buffer): void => settle(answerProblem(chunk), chunk[0] === YES)
    const closed = (): void => settle(tlsError('the server closed the connection before it answered the TLS request'))
    raw.on('data', read).once('error', settle).once('close', closed)
    raw.write(SSL_REQUEST)
  })
}

/** TLS over `raw`, whose SSLRequest the server answered yes (askTls). */
export function tlsAfterYes(raw: Socket, host: string | undefined, mode: TlsMode): TLSSocket {
  return tlsConnect(tlsOptions(afterSslRequest(raw, true, mode.ssl), host, mode, false))
}

function tlsOptions(socket: Duplex, host: string | undefined, mode: TlsMode, direct: boolean): ConnectionOptions {
  const options: ConnectionOptions = { socket, servername: host === undefined || isIP(host) !== 0 ? undefined : host }
  if (direct) options.ALPNProtocols = ['postgresql']
  const { ca, cert, key, passphrase } = mode.files ?? {}
  Object.assign(options, ca && { ca }, cert && { cert }, key && { key }, passphrase !== undefined && { passphrase })
  if (mode.ssl === 'require' || mode.ssl === 'allow' || mode.ssl === 'prefer') options.rejectUnauthorized = false
  else if (mode.ssl === 'verify-ca') options.checkServerIdentity = () => undefined
  else if (typeof mode.ssl === 'object') Object.assign(options, mode.ssl)
  return options
}

/** Why the server's one-byte answer to an SSLRequest does not let TLS start (null: it does, or
 * it said no). Bytes after a yes were not sent by the server's TLS: refused (CVE-2021-23214). */
function answerProblem(chunk: Buffer): Error | null {
  if (chunk[0] !== YES && chunk[0] !== NO) return tlsError(`the server answered the TLS request with byte ${chunk[0]}, not S or N`)
  if (chunk.length > 1) return tlsError('unencrypted bytes came after the server accepted TLS: the connection is not trusted')
  return null
}

/**
 * `raw` as a stream that TLS runs on: it sends the SSLRequest once connected and passes bytes
 * through both ways once the server said yes (`answered`: it did already); writes made before
 * that wait. A refusal or a failure of `raw` destroys it with the error.
 */
function afterSslRequest(raw: Socket, answered: boolean, mode: unknown): Duplex {
  const waiting: { chunk: Buffer; done: (error?: Error | null) => void }[] = []
  const stream = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      if (answered) raw.write(chunk, done)
      else waiting.push({ chunk, done })
    },
    read() {
      raw.resume()
    },
    final(done) {
      raw.end(done)
    },
    destroy(error, done) {
      raw.destroy(error ?? undefined)
      done(error)
    },
  })
  const read = (chunk: Buffer): void => {
    if (!answered) {
      const problem = chunk[0] === NO ? tlsError(`the server refused TLS, which sslmode=${String(mode)} asks for (is ssl on in its configuration?)`) : answerProblem(chunk)
      if (problem !== null) return void stream.destroy(problem)
      answered = true
      for (const { chunk: write, done } of waiting.splice(0)) raw.write(write, done)
      return
    }
    if (!stream.push(chunk)) raw.pause()
  }
  raw.on('data', read)
  raw.on('end', () => stream.push(null))
  raw.on('error', (error) => stream.destroy(error))
  raw.on('close', () => stream.destroy())
  if (answered) raw.resume()
  else if (raw.connecting) raw.once('connect', () => raw.write(SSL_REQUEST))
  else raw.write(SSL_REQUEST)
  return stream
}

function tlsError(message: string): Error {
  return Object.assign(new Error(message), { code: CODE })
}
