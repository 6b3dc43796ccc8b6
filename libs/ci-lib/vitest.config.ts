import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Resolve workspace packages to their TypeScript source, like tsc and esbuild do.
  resolve: { conditions: ['@engex/source'] },
  ssr: { resolve: { conditions: ['@engex/source'] } },
  test: {
    name: '@engex/ci-lib',
    environment: 'node',
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    testTimeout: 30_000,
    // Always on, so the file is part of every run Nx caches: the test target's outputs list it,
    // and a cache hit (local or remote) restores it for Buildkite Test Engine.
    reporters: ['default', 'junit'],
    outputFile: { junit: 'reports/junit.xml' },
  },
});
