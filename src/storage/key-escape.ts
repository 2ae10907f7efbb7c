// An order-preserving escape for strings stored as keys or key columns: \x00 -> \x01\x01,
// \x01 -> \x01\x02. LevelDB keys use \x00 as their field separator, and PostgreSQL text cannot
// hold \x00 at all; escaped, a field holds neither, and byte order is kept (so uuid cursors and
// ranges stay in the same order as the strings they stand for).

export function esc(field: string): string {
  return field.includes('\x00') || field.includes('\x01') ? field.replace(/\x01/g, '\x01\x02').replace(/\x00/g, '\x01\x01') : field
}

export function unesc(field: string): string {
  return field.includes('\x01') ? field.replace(/\x01\x01/g, '\x00').replace(/\x01\x02/g, '\x01') : field
}
