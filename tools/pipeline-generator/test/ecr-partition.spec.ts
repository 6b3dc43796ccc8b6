import { DEFAULT_WORKSPACE_CONFIG, ecrHostFor, parseWorkspaceConfig } from '@engex/workspace-config';
import { describe, expect, it } from 'vitest';
import { planPipeline, renderPipeline } from '../src/index.js';
import { analyze, planInput, reconfigured } from './fixtures.js';

// engex-ci derives ECR_HOST/IMAGE_DEST (what it pushes to) from the same ecrHostFor; its CLI
// spec asserts the same hosts for the same regions, so YAML and push cannot disagree.
describe('ECR partitions in the generated pipeline', () => {
  it.each([
    ['cn-north-1', '460210468233.dkr.ecr.cn-north-1.amazonaws.com.cn'],
    ['us-gov-west-1', '460210468233.dkr.ecr.us-gov-west-1.amazonaws.com'],
  ])('%s: every image reference names %s', (region, host) => {
    const config = parseWorkspaceConfig({ registry: { region } });
    expect(ecrHostFor(config.registry)).toBe(host);
    const input = reconfigured(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts'])), { config });
    const yaml = renderPipeline(planPipeline(input), 'yaml');
    const hosts = new Set(yaml.match(/\d{12}\.dkr[.-]ecr[^\s/:'"]*/g));
    expect([...hosts]).toEqual([host]);
    // The deploy bump writes the same host into the ops repo.
    expect(yaml).toContain(`--image ${host}/engex/api `);
    expect(yaml).toContain(`region: ${region}`);
  });

  it('keeps the commercial host for the default region', () => {
    const yaml = renderPipeline(planPipeline(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']))), 'yaml');
    expect(new Set(yaml.match(/\d{12}\.dkr[.-]ecr[^\s/:'"]*/g))).toEqual(new Set([ecrHostFor(DEFAULT_WORKSPACE_CONFIG.registry)]));
  });
});
