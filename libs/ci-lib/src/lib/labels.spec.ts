import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKSPACE_CONFIG, isSpdxExpression, resolveServiceConfig } from '@engex/workspace-config';
import { formatRfc3339, planImageMetadata, qualifyImageName, renderBuildArgs, renderLabelArgs, resolveCreated, type LabelInputs } from './labels.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const service = resolveServiceConfig(DEFAULT_WORKSPACE_CONFIG, {
  name: '@engex/halow',
  root: 'apps/halow',
  tags: ['engex:service'],
  metadata: { engex: { description: 'halow HTTP service' } },
})!;

const base: LabelInputs = {
  service,
  workspace: DEFAULT_WORKSPACE_CONFIG,
  sha: SHA,
  buildTime: new Date('2026-11-27T09:41:54.387Z'),
  buildUrl: 'https://buildkite.com/highspot/engex/builds/812',
  buildNumber: 812,
  pipelineSlug: 'engex',
  branch: 'main',
  baseImage: { name: 'node:24.11.1-alpine3.22' },
};

describe('planImageMetadata', () => {
  it('emits the full OCI set plus build context', () => {
    expect(planImageMetadata(base)).toMatchInlineSnapshot(`
      {
        "buildArgs": {
          "BUILD_URL": "https://buildkite.com/highspot/engex/builds/812",
          "CREATED": "2026-11-27T09:41:54Z",
          "REVISION": "0123456789abcdef0123456789abcdef01234567",
          "SOURCE": "https://github.com/highspot/halow",
          "VERSION": "0123456789abcdef0123456789abcdef01234567",
        },
        "labels": {
          "io.hspt.build.url": "https://buildkite.com/highspot/engex/builds/812",
          "io.hspt.buildkite.branch": "main",
          "io.hspt.buildkite.build-number": "812",
          "io.hspt.buildkite.pipeline": "engex",
          "org.opencontainers.image.authors": "engex",
          "org.opencontainers.image.base.name": "docker.io/library/node:24.11.1-alpine3.22",
          "org.opencontainers.image.created": "2026-11-27T09:41:54Z",
          "org.opencontainers.image.description": "halow HTTP service",
          "org.opencontainers.image.licenses": "LicenseRef-Proprietary",
          "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
          "org.opencontainers.image.source": "https://github.com/highspot/halow",
          "org.opencontainers.image.title": "halow",
          "org.opencontainers.image.url": "https://github.com/highspot/halow",
          "org.opencontainers.image.vendor": "Highspot",
          "org.opencontainers.image.version": "0123456789abcdef0123456789abcdef01234567",
        },
      }
    `);
  });

  it('names the owner, the README at the revision (only when it exists there) and the SBOM digest; no ref.name', () => {
    const sbom = `sha256:${'b'.repeat(64)}`;
    const labels = planImageMetadata({ ...base, documentationPath: 'apps/halow/README.md', sbomDigest: sbom }).labels;
    expect(labels['org.opencontainers.image.authors']).toBe('engex');
    expect(labels['org.opencontainers.image.documentation']).toBe(`https://github.com/highspot/halow/blob/${SHA}/apps/halow/README.md`);
    expect(planImageMetadata(base).labels).not.toHaveProperty('org.opencontainers.image.documentation');
    // ref.name names a manifest inside an index (image-spec annotations.md), not an image config.
    expect(Object.keys(labels).filter((k) => k.includes('ref.name'))).toEqual([]);
    expect(labels['io.hspt.sbom.digest']).toBe(sbom);
    expect(planImageMetadata(base).labels).not.toHaveProperty('io.hspt.sbom.digest');
  });

  it('labels licenses with a valid SPDX expression', () => {
    expect(isSpdxExpression(planImageMetadata(base).labels['org.opencontainers.image.licenses']!)).toBe(true);
  });

  it('SOURCE_DATE_EPOCH wins over the build time, and a tag build carries its semver', () => {
    const meta = planImageMetadata({ ...base, sourceDateEpoch: '1767225600', version: '1.4.0' });
    expect(meta.labels['org.opencontainers.image.created']).toBe('2026-01-01T00:00:00Z');
    expect(meta.buildArgs.CREATED).toBe('2026-01-01T00:00:00Z');
    expect(meta.buildArgs.VERSION).toBe('1.4.0');
    expect(meta.labels['org.opencontainers.image.version']).toBe('1.4.0');
  });

  it('records the base digest from a digest-pinned NODE_IMAGE or from what the caller found', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(planImageMetadata({ ...base, baseImage: { name: `node:24@${digest}` } }).labels['org.opencontainers.image.base.digest']).toBe(digest);
    expect(planImageMetadata({ ...base, baseImage: { name: 'node:24', digest } }).labels['org.opencontainers.image.base.digest']).toBe(digest);
    expect(planImageMetadata(base).labels).not.toHaveProperty('org.opencontainers.image.base.digest');
  });

  it('omits unknown context instead of inventing values', () => {
    const meta = planImageMetadata({ ...base, buildUrl: undefined, buildNumber: undefined, pipelineSlug: undefined, branch: undefined });
    expect(Object.keys(meta.labels).filter((k) => k.startsWith('io.hspt'))).toEqual([]);
    expect(meta.buildArgs).not.toHaveProperty('BUILD_URL');
  });

  it('keeps label values on one line', () => {
    const meta = planImageMetadata({ ...base, branch: 'feat/x\n--label evil=1' });
    expect(meta.labels['io.hspt.buildkite.branch']).toBe('feat/x --label evil=1');
  });

  it('rejects a bad SOURCE_DATE_EPOCH and a non-sha revision', () => {
    for (const bad of ['', 'yesterday', '-1', '1.5', '99999999999999']) {
      expect(() => planImageMetadata({ ...base, sourceDateEpoch: bad })).toThrow(/^SOURCE_DATE_EPOCH: expected whole seconds since 1970-01-01 UTC/);
    }
    expect(() => planImageMetadata({ ...base, sha: 'abc' })).toThrow(/commit: expected a full 40-character/);
  });
});

describe('helpers', () => {
  it('formats RFC 3339 UTC at second precision', () => {
    expect(formatRfc3339(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe('2026-01-02T03:04:05Z');
    expect(resolveCreated(new Date(0), '0').toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(() => resolveCreated(new Date(Number.NaN))).toThrow(/build time: expected a valid date/);
  });

  it.each([
    ['node:24', 'docker.io/library/node:24'],
    ['bitnami/node:24', 'docker.io/bitnami/node:24'],
    ['127.0.0.1:5000/engex/node-base:1', '127.0.0.1:5000/engex/node-base:1'],
    ['localhost/base:1', 'localhost/base:1'],
    ['public.ecr.aws/docker/library/node:24', 'public.ecr.aws/docker/library/node:24'],
  ])('qualifies %s as %s', (input, expected) => {
    expect(qualifyImageName(input)).toBe(expected);
  });

  it('renders --label and --build-arg argument arrays', () => {
    expect(renderLabelArgs({ b: '2', a: 'x=y z' })).toEqual(['--label', 'a=x=y z', '--label', 'b=2']);
    expect(renderBuildArgs({ APP: 'halow', BUILD_URL: undefined, PORT: '3000' })).toEqual(['--build-arg', 'APP=halow', '--build-arg', 'PORT=3000']);
  });
});
