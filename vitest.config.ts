import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One throwaway PostgreSQL server for the run (test/pg/global-setup.ts).
    globalSetup: ['test/pg/global-setup.ts'],
  },
})
