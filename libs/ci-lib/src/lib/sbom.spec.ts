import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { SbomInputError, SbomInvalidError } from './errors.js';
import { integrityToHash, planSbom, validateSbom, type PlanSbomInputs } from './sbom.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SHA = '0123456789abcdef0123456789abcdef01234567';
const SRI = 'sha512-8iUql50EUR+uUcdRQ3HDqa6EVyo3docL8g5WJ3FNcWmu62IbkGUue/pEyLBW8VGKKucTPgqeks4fIU1DA4yowQ==';

const small: PlanSbomInputs = {
  bundle: 'apps/x/dist/main.cjs',
  metafile: {
    outputs: {
      'apps/x/dist/main.cjs': {
        inputs: {
          'apps/x/src/main.ts': { bytesInOutput: 100 },
          'node_modules/fastify/fastify.js': { bytesInOutput: 10 },
          'node_modules/fastify/lib/route.js': { bytesInOutput: 10 },
          '../../elsewhere/ws/node_modules/fastify/node_modules/@fastify/error/index.js': { bytesInOutput: 5 },
          'node_modules/tree-shaken/index.js': { bytesInOutput: 0 },
        },
      },
    },
  },
  lockfile: {
    lockfileVersion: 3,
    packages: {
      '': { name: 'root' },
      'node_modules/fastify': { version: '5.0.0', integrity: SRI, license: 'MIT' },
      'node_modules/fastify/node_modules/@fastify/error': { version: '4.0.0', license: 'Apache-2.0 OR MIT' },
      'node_modules/tree-shaken': { version: '1.0.0' },
      'node_modules/vitest': { version: '4.1.12', dev: true },
    },
  },
  service: { project: '@engex/x', service: 'x' },
  sha: SHA,
  timestamp: new Date('2026-01-01T00:00:00Z'),
};

describe('planSbom', () => {
  it('lists the packages with bytes in the bundle, nested copies under their own lockfile key, symlinked node_modules too', async () => {
    const sbom = planSbom(small);
    expect(sbom.packages).toEqual(['@fastify/error@4.0.0', 'fastify@5.0.0']);
    const doc = JSON.parse(sbom.json) as { components: Record<string, unknown>[]; metadata: unknown; serialNumber?: string };
    expect(doc.serialNumber).toBeUndefined();
    expect(doc.metadata).toEqual({
      timestamp: '2026-01-01T00:00:00.000Z',
      component: { type: 'application', name: 'x', version: SHA, 'bom-ref': '@engex/x' },
    });
    expect(doc.components).toEqual([
      {
        type: 'library',
        group: '@fastify',
        name: 'error',
        version: '4.0.0',
        'bom-ref': 'pkg:npm/%40fastify/error@4.0.0',
        purl: 'pkg:npm/%40fastify/error@4.0.0',
        licenses: [{ expression: 'Apache-2.0 OR MIT' }],
      },
      {
        type: 'library',
        name: 'fastify',
        version: '5.0.0',
        'bom-ref': 'pkg:npm/fastify@5.0.0',
        purl: 'pkg:npm/fastify@5.0.0',
        licenses: [{ license: { id: 'MIT' } }],
        hashes: [{ alg: 'SHA-512', content: Buffer.from(SRI.slice('sha512-'.length), 'base64').toString('hex') }],
      },
    ]);
    await validateSbom(sbom.json);
  });

  it('is byte-for-byte reproducible and its digest is the sha256 of those bytes', () => {
    const a = planSbom(small);
    expect(planSbom(structuredClone(small)).json).toBe(a.json);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(planSbom({ ...small, timestamp: new Date('2026-01-02T00:00:00Z') }).digest).not.toBe(a.digest);
  });

  it('refuses a bundle whose packages the lockfile does not know, and names every problem', () => {
    const lockfile = { packages: { 'node_modules/fastify': { version: '5.0.0' } } };
    expect(() => planSbom({ ...small, lockfile })).toThrow(SbomInputError);
    expect(() => planSbom({ ...small, lockfile })).toThrow('package-lock.json: packages["node_modules/fastify/node_modules/@fastify/error"]: missing');
    expect(() => planSbom({ ...small, bundle: 'apps/y/dist/main.cjs' })).toThrow('meta.json: outputs["apps/y/dist/main.cjs"].inputs: missing; outputs are apps/x/dist/main.cjs');
    expect(() => planSbom({ ...small, metafile: [], lockfile: {} })).toThrow(/2 problems[\s\S]*outputs: expected an object[\s\S]*packages: expected an object/);
  });
});

describe('integrityToHash', () => {
  it('turns npm SRI into a CycloneDX hex hash, first known algorithm wins', () => {
    expect(integrityToHash('sha1-AAEC')).toEqual({ algorithm: 'SHA-1', content: '000102' });
    expect(integrityToHash('md5-xx sha256-AAEC')).toEqual({ algorithm: 'SHA-256', content: '000102' });
    expect(integrityToHash(undefined)).toBeUndefined();
    expect(integrityToHash('not-a-hash')).toBeUndefined();
  });
});

describe('validateSbom', () => {
  it('runs the CycloneDX 1.6 schema and rejects what it forbids', async () => {
    const json = planSbom(small).json;
    await expect(validateSbom(json.replace('"SHA-512"', '"SHA-999"'))).rejects.toThrow(SbomInvalidError);
    await expect(validateSbom(json.replace('"library"', '"lib"'))).rejects.toThrow(/enum/);
  });
});

describe("halow's SBOM, from a real esbuild build with halow's own options", () => {
  it('lists fastify and pino at their lockfile versions and nothing esbuild left out', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'apps/halow/package.json'), 'utf8')) as {
      nx: { targets: { build: { options: { main: string; esbuildOptions: { conditions: string[]; target: string } } } } };
    };
    const options = pkg.nx.targets.build.options;
    const result = await build({
      absWorkingDir: root,
      entryPoints: [options.main],
      outfile: 'apps/halow/dist/main.cjs',
      bundle: true,
      platform: 'node',
      format: 'cjs',
      conditions: options.esbuildOptions.conditions,
      target: options.esbuildOptions.target,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    const lockfile = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    const sbom = planSbom({ ...small, metafile: result.metafile, lockfile, bundle: 'apps/halow/dist/main.cjs', service: { project: '@engex/halow', service: 'halow' } });
    expect(sbom.packages).toContain(`fastify@${lockfile.packages['node_modules/fastify']!.version}`);
    expect(sbom.packages).toContain(`pino@${lockfile.packages['node_modules/pino']!.version}`);
    const names = sbom.packages.map((p) => p.slice(0, p.lastIndexOf('@')));
    // Root devDependencies, and @types/node, which the sources only ever import as types.
    for (const absent of ['vitest', 'typescript', 'esbuild', '@types/node', 'nx', 'autocannon']) expect(names).not.toContain(absent);
    expect(names.some((n) => n.startsWith('@engex/'))).toBe(false);
    await validateSbom(sbom.json);
  });
});
