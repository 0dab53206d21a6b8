import { defineConfig } from 'vitest/config';

// Integration tests start real processes (Redis, PostgreSQL, Prometheus, ...). On a 2-core machine we
// keep two test files in flight at most, and give stack start-up generous, explicit deadlines.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.tools/**', 'reports/out/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
