import { describe, expect, it } from 'vitest';
import { BASE_SHA, analyze, planInput } from '../../../test/fixtures.js';
import type { PlanPipelineInput } from '../context.js';
import { checkGroups } from './check-groups.js';
import { jobKeys } from './job-keys.js';
import { serviceSteps } from './service-steps.js';
import { planZone } from './zone.js';

const lastPassed = { rule: 'last-passed-build' as const, base: BASE_SHA, reason: 'last passed build.', notes: [] };

function phase(input: PlanPipelineInput) {
  const keys = jobKeys(input);
  const zone = planZone(input.config, input.context, input.options);
  return serviceSteps(input, keys, zone, checkGroups(input, keys, zone.checks));
}

describe('serviceSteps', () => {
  it("appends a trusted build's image and scan steps to the service's group, with its deploy targets; the image job ends with the smoke test", () => {
    const { groups, services } = phase(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']), lastPassed));
    expect(groups.map((g) => g.steps.map((s) => s.key))).toEqual([['acme-api:tasks', 'acme-api:build', 'acme-api:image', 'acme-api:scan']]);
    const image = groups[0]?.steps.find((s) => s.key === 'acme-api:image');
    const calls = image?.type === 'command' ? image.commands.flatMap((c) => (c.kind === 'engex-ci' ? [c.call.command] : [])) : [];
    expect(calls).toEqual(['ecr check', 'image build', 'image push', 'image smoke']);
    expect(services.map((s) => [s.project, s.targets.map((t) => t.overlay), s.skipped])).toEqual([['@acme/api', ['overlays/staging'], undefined]]);
  });

  it('an untrusted build gets the one local image step and says why it does not deploy', () => {
    const { services } = phase(planInput({ branch: 'feat/x', pullRequest: 3 }, analyze(['apps/api/src/main.ts'])));
    expect(services.map((s) => [s.steps.map((x) => x.key), s.targets, s.skipped])).toEqual([[['acme-api:image'], [], 'deploy: pull request #3 builds never deploy']]);
  });

  it('a change no build input sees skips the image, and says so', () => {
    const { groups, services } = phase(planInput({ branch: 'main' }, analyze(['apps/api/src/main.spec.ts']), lastPassed));
    expect(groups.flatMap((g) => g.steps.map((s) => s.meta.kind))).toEqual(['nx-project']);
    expect(services).toMatchObject([{ project: '@acme/api', steps: [], targets: [], skipped: 'image: no build input changed (only non-production files did)' }]);
  });

  it('a shared image input gives an unaffected service a group of its own, and the reason', () => {
    const { groups, services } = phase(planInput({ branch: 'feature/y' }, analyze(['docker/Dockerfile', '.dockerignore', 'engex.config.json', 'docker/x'])));
    expect(groups.map((g) => [g.key, g.steps.map((s) => s.key)])).toEqual([['acme-api', ['acme-api:image']]]);
    expect(services[0]?.why).toBe('image inputs changed: docker/Dockerfile, .dockerignore, engex.config.json and 1 more');
  });
});
