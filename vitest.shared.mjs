// @ts-check
import { defineConfig } from 'vitest/config';

/**
 * The one vitest config of every project; only the name differs. Plain JavaScript with its types
 * beside it (vitest.shared.d.mts): each project's tsconfig is composite and lists only its own
 * files, so a shared .ts file outside them could not be imported.
 * @param {string} name the Nx project, e.g. `@engex/halow`
 */
export function projectTestConfig(name) {
  return defineConfig({
    // Resolve workspace packages to their TypeScript source, like tsc and esbuild do.
    resolve: { conditions: ['@engex/source'] },
    ssr: { resolve: { conditions: ['@engex/source'] } },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      testTimeout: 30_000,
      // Always on, so the file is part of every run Nx caches: the test target's outputs list it,
      // and a cache hit (local or remote) restores it for Buildkite Test Engine.
      reporters: ['default', 'junit'],
      outputFile: { junit: 'reports/junit.xml' },
    },
  });
}
