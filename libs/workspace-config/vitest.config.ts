import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Resolve workspace packages to their TypeScript source, like tsc and esbuild do.
  resolve: { conditions: ['@engex/source'] },
  ssr: { resolve: { conditions: ['@engex/source'] } },
  test: {
    name: '@engex/workspace-config',
    environment: 'node',
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    testTimeout: 30_000,
  },
});
