import { defineConfig } from 'vitest/config';

// One vitest run over every package. Tests resolve workspace packages to their TypeScript
// sources through the "@nv/source" export condition, so a test never runs stale dist output.
export default defineConfig({
  resolve: { conditions: ['@nv/source'] },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tools/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 20_000,
    reporters: process.env.NV_TEST_JSON ? ['default', ['json', { outputFile: process.env.NV_TEST_JSON }]] : ['default'],
  },
});
