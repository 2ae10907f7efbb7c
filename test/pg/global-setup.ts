// vitest globalSetup: one throwaway PostgreSQL server for the whole run (src/bench/pg-server.ts),
// handed to the test files as inject('pgUrl'); each file makes its own database (database.ts).
// WHARF_PG_URL instead points the tests at a server of your own (a superuser's URL).
import type { TestProject } from 'vitest/node'
import { startPgServer } from '../../src/bench/pg-server.js'

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
  const server = await startPgServer()
  project.provide('pgUrl', server.url)
  return () => server.stop()
}
