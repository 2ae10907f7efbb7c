// A bad value as an error message shows it: every layer that refuses input names what it got.

/** `value` as a message shows it: strings quoted, numbers as JS prints them (NaN, Infinity). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') return String(value) // JSON would print NaN and Infinity as null
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol') return value.toString()
  // toISOString throws on an invalid Date: describing a bad value must not fail in its turn.
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? `Date(${value.toISOString()})` : 'Date(invalid)'
  // JSON shows a Map or a Set as {}, as if it were an empty object: name what it is instead.
  const tag = typeof value === 'object' && value !== null ? Object.prototype.toString.call(value).slice(8, -1) : 'Object'
  if (tag !== 'Object' && tag !== 'Array') return `${/^[AEIOU]/.test(tag) ? 'an' : 'a'} ${tag}`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}
