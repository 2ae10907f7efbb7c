// vitest globalSetup: one throwaway PostgreSQL server for the whole run (src/bench/pg-server.ts),
// handed to the test files as inject('pgUrl'); each file makes its own database (database.ts).
// WHARF_PG_URL instead points the tests at a server of your own (a superuser's URL).
import type { TestProject } from 'vitest/node'
import { startPgServer, type PgServer } from '../../src/bench/pg-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.WHARF_PG_URL
  if (given !== undefined) {
    project.provide('pgUrl', given)
    return async () => undefined
  }
  // No fsync: nothing here tests the server's own crash safety, and commits are most of the time.
  // Every project of the run loads this file in the same process: they share one server.
  const shared = globalThis as { wharfPg?: { server: Promise<PgServer>; users: number } }
  shared.wharfPg ??= { server: startPgServer({ fsync: false }), users: 0 }
  const entry = shared.wharfPg
  entry.users++
  project.provide('pgUrl', (await entry.server).url)
  return async () => {
    if (--entry.users > 0) return
    delete shared.wharfPg
    await (await entry.server).stop()
  }
}
