import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('@engex/service-kit entry points', () => {
  it('keep the test helpers out of what a service bundles from the runtime entry', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./index.ts', import.meta.url))],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('src/lib/create-service-app.ts'))).toBe(true);
    expect(inputs.filter((f) => /testing|test-app|service-process|vitest/.test(f))).toEqual([]);
  });
});
