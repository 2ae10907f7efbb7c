// Wharf's array parameters (unnest($2::bigint[], $3::bytea[]) …), written as PostgreSQL array
// literals here rather than by the driver. The driver can serialize an array only once a
// connection has fetched the server's array types, a catalog query on every new connection whose
// promise it drops: lost to a server restart, it was an unhandled rejection that ended the app's
// process (pg-driver.ts turns that query off). A literal goes as text of no declared type, and the
// cast in the statement (every array parameter has one) tells the server what it holds.

/**
 * `values` (bytea as Buffers, numbers or bigints, text, nulls) as a one-dimensional PostgreSQL
 * array literal: {"\\x0a0b",NULL,"it\"s"}.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    literal += element(values[i])
  }
  return literal + '}'
}

function element(value: unknown): string {
  if (value === null) return 'NULL'
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  // bytea's hex input (\x…), its backslash escaped as every quoted element's is.
  if (value instanceof Uint8Array) return `"\\\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}"`
  if (typeof value === 'string') return `"${value.replace(/[\\"]/g, '\\$&')}"`
  throw new TypeError(`an array parameter holds a ${typeof value}, which Wharf does not send`)
}
