import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: e2e tests spawn the CLI several times, and on a loaded 2-core machine one spawn can take
    // seconds. A hung test still fails; a slow one does not.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e tests spawn the CLI and servers; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
