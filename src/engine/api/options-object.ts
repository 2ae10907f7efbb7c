// What an options argument (job properties, a query, configure()'s and open()'s options) may be.

/**
 * An object that holds its options as its own properties: a plain object, an instance of a
 * class, a module's namespace (`import * as options`). A Map, a Set, a Date or an array is an
 * object too, but its entries are not properties: read as options, every one it holds would be
 * dropped without a word.
 */
export function isOptionsObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false
  const kind = Object.prototype.toString.call(value)
  return kind === '[object Object]' || kind === '[object Module]'
}
