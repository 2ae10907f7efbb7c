// vitest setupFiles: with WHARF_TEST_STORE=postgres, every Wharf a test opens without a store of its
// own (no path, log or postgres) opens on PostgreSQL instead — a fresh schema in this file's
// database (database.ts) — so the public-API suites run unchanged against a PostgreSQL-backed
// Wharf. A fresh schema per open keeps the in-memory meaning those tests rely on: nothing of one
// open is seen by the next. Options given only to an embedded store (durability, onCorruption)
// and calls with no options object at all are left as they are.
import type { OpenOptions } from '../../src/engine/api/open-options.js'

if (process.env.WHARF_TEST_STORE === 'postgres') {
  const { pgTestDatabase } = await import('./database.js')
  const { Wharf } = await import('../../src/engine/api/wharf.js')
  const db = pgTestDatabase()
  const open = Wharf.open.bind(Wharf)
  Wharf.open = (options: OpenOptions = {}) => {
    const embedded =
      options !== null && typeof options === 'object' && !Array.isArray(options) &&
      options.path === undefined && options.log === undefined && options.postgres === undefined &&
      options.durability === undefined && options.onCorruption === undefined
    return open(embedded ? { ...options, postgres: db.url(), schema: db.schema() } : options)
  }
}
