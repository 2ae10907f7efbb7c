// What makes a `postgres` connection URL unusable, found before anything connects: the driver
// parses it with `new URL()` (of its first host, for a multi-host URL) and percent-decodes its
// parts, and a URL that fails there (a port that is not a number, a bad %-escape, an @ of a
// password left unencoded before another @) escaped as a raw TypeError or URIError — naming no
// option, and carrying the URL, password included, in its `input` field.

/** Why `url` is not a connection URL the driver can use, or null when it is. */
export function connectionUrlProblem(url: string): string | null {
  if (!/^postgres(ql)?:\/\/./.test(url)) return 'it must start with postgres:// or postgresql://'
  // The driver's own reading: everything between :// and the first / or ? names the host(s).
  const authority = url.slice(url.indexOf('://') + 3).split(/[?/]/)[0]!
  let hosts: string
  try {
    hosts = decodeURIComponent(authority.slice(authority.indexOf('@') + 1))
  } catch {
    return 'a %-escape in it is malformed'
  }
  let parsed: URL
  try {
    parsed = new URL(url.replace(hosts, hosts.split(',')[0]!))
  } catch {
    return 'it does not parse as a URL (is the port a number? is a password with @, /, ?, # or % in it percent-encoded?)'
  }
  for (const part of [parsed.username, parsed.password, parsed.pathname]) {
    try {
      decodeURIComponent(part)
    } catch {
      return 'a %-escape in it is malformed'
    }
  }
  return null
}

/** The URL with its password (and a client key's passphrase, sslpassword) hidden, to name a
 * server in messages. */
export function redactedUrl(url: string): string {
  const passphrase = /([?&]sslpassword=)[^&#]*/g
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString().replace(passphrase, '$1***')
  } catch {
    // Unparsable: hide all from the user's colon to the last @ before the path, which ends the
    // password even when an @ in it was left unencoded.
    return url.replace(/^([a-z]+:\/\/[^:@/]*):[^/]*@/, '$1:***@').replace(passphrase, '$1***')
  }
}
