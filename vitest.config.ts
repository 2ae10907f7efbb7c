import { defineConfig } from 'vitest/config'

// Public-API suites that also run, unchanged, on a PostgreSQL-backed Wharf (test/pg/store-setup.ts).
// Every suite that opens Wharfs without a store of its own passes there too, except those that
// vi.mock core modules (bounded-tick, spin-bound): the setup file loads the engine before their
// mocks apply. These are the ones worth their time (each Wharf opened migrates a fresh schema).
const ON_POSTGRES = [
  'smoke', 'api', 'scheduling', 'retries', 'graphs', 'identity', 'reads', 'explain', 'progress', 'result', 'remove',
  'purge', 'delay-many', 'handler-outcomes', 'capacity-running', 'channel-strict', 'close', 'snapshot-replay',
  'pipelined-appends', 'graph-restore', 'duplicate-uuid', 'unregistered-functions', 'lost-wakeup', 'batches',
].map((name) => `test/unit/${name}.test.ts`)

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One throwaway PostgreSQL server per project of the run (test/pg/global-setup.ts).
    globalSetup: ['test/pg/global-setup.ts', 'test/build/global-setup.ts'],
    // With WHARF_TEST_STORE=postgres, Wharfs opened without a store open on PostgreSQL.
    setupFiles: ['test/pg/store-setup.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'postgres', include: ON_POSTGRES, env: { WHARF_TEST_STORE: 'postgres' } } },
    ],
  },
})
