import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKSPACE_CONFIG, parseWorkspaceConfig } from './config.js';
import { WORKSPACE_CONFIG_SCHEMA } from './config-schema.js';

const packageDir = join(import.meta.dirname, '..', '..');
const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
const validate = new Ajv({ strict: true, allErrors: true }).compile(WORKSPACE_CONFIG_SCHEMA);

function parserAccepts(doc: unknown): boolean {
  try {
    parseWorkspaceConfig(doc);
    return true;
  } catch {
    return false;
  }
}

describe('engex.config.schema.json', () => {
  it('is the published copy of WORKSPACE_CONFIG_SCHEMA (regenerate it when this fails)', () => {
    expect(readJson(join(packageDir, 'engex.config.schema.json'))).toEqual(WORKSPACE_CONFIG_SCHEMA);
  });

  it("accepts the workspace's own engex.config.json, which references it", () => {
    const doc = readJson(join(packageDir, '..', '..', 'engex.config.json')) as Record<string, unknown>;
    expect(doc['$schema']).toBe('./libs/workspace-config/engex.config.schema.json');
    expect(validate(doc)).toBe(true);
    expect(parserAccepts(doc)).toBe(true);
  });

  it('accepts the defaults', () => {
    expect(validate(JSON.parse(JSON.stringify(DEFAULT_WORKSPACE_CONFIG)))).toBe(true);
  });

  it.each([
    ['an empty document', {}],
    ['cn and GovCloud regions', { registry: { region: 'cn-north-1' }, deployTargets: [{ branch: '**', overlay: 'o' }] }],
    ['a GovCloud region', { registry: { region: 'us-gov-west-1', repoPrefix: '' } }],
    [
      'deploy gates and queues',
      {
        deployQueue: 'deploy',
        dockerQueue: 'docker',
        registry: { allowMutable: true },
        deployTargets: [
          {
            branch: 'main',
            overlay: 'o',
            pinDigest: true,
            approval: 'manual',
            url: 'http://127.0.0.1:8080',
            argocd: { server: 'https://argocd.example.com', application: 'halow-staging' },
          },
        ],
      },
    ],
    ['project step granularity', { stepGranularity: 'project' }],
    ['target step granularity', { stepGranularity: 'target' }],
    ['trust zones', { trustedBranches: ['main', 'hotfix/**'], untrustedQueue: 'pull-requests', agents: { queue: 'ci', platform: 'linux-arm64' } }],
    ['an overlay spelled with its kustomization file', { deployTargets: [{ branch: 'main', overlay: './overlays/staging/kustomization.yaml' }] }],
    ['an empty prefix and file URLs', { registry: { repoPrefix: '' }, opsRepo: 'file:///srv/ops.git', trivy: { failOn: ['LOW'] } }],
  ])('agrees with the parser on %s (valid)', (_name, doc) => {
    expect(validate(doc)).toBe(true);
    expect(parserAccepts(doc)).toBe(true);
  });

  it.each([
    ['a bad account', { registry: { account: '4602' } }],
    ['a bad region', { registry: { region: 'moon' } }],
    ['an unknown step granularity', { stepGranularity: 'task' }],
    ['an unknown top-level key', { colour: 'blue' }],
    ['an unknown nested key', { slack: { channel: '#x', webhook: 'y' } }],
    ['an unknown agents key', { agents: { queue: 'q', size: 2 } }],
    ['a number where a string belongs', { vendor: 123 }],
    ['a string where a boolean belongs', { tags: { short: 'true' } }],
    ['a deploy target without overlay', { deployTargets: [{ branch: 'main' }] }],
    ['an escaping overlay', { deployTargets: [{ branch: 'main', overlay: '../prod' }] }],
    ['an unknown approval', { deployTargets: [{ branch: 'main', overlay: 'o', approval: 'auto' }] }],
    ['a non-http environment url', { deployTargets: [{ branch: 'main', overlay: 'o', url: 'ftp://env' }] }],
    ['an argocd without application', { deployTargets: [{ branch: 'main', overlay: 'o', argocd: { server: 'https://a.b' } }] }],
    ['a bad deploy queue', { deployQueue: 'two words' }],
    ['a bad untrusted queue', { untrustedQueue: 'two words' }],
    ['no trusted branch', { trustedBranches: [] }],
    ['a bad trusted branch', { trustedBranches: ['a b'] }],
    ['an unknown platform', { agents: { platform: 'amiga-m68k' } }],
    ['an unknown severity', { trivy: { failOn: ['SEVERE'] } }],
    ['no severity', { trivy: { failOn: [] } }],
    ['an unpinned plugin', { plugins: { ecr: 'ecr#latest' } }],
    ['an unpinned test collector', { plugins: { testCollector: 'test-collector' } }],
    ['a multi-line vendor', { vendor: 'a\nb' }],
    ['a non-object document', []],
  ])('agrees with the parser on %s (invalid)', (_name, doc) => {
    expect(validate(doc)).toBe(false);
    expect(parserAccepts(doc)).toBe(false);
  });
});
