import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // Memory tests run a full collection first (globalThis.gc), so they measure what is retained.
    execArgv: ['--expose-gc'],
  },
});
