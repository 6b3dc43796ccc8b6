import type { DeployTarget } from '@engex/workspace-config';
import { describe, expect, it } from 'vitest';
import { BASE_SHA, analyze, planInput, reconfigured } from '../../../test/fixtures.js';
import type { PlanPipelineInput } from '../context.js';
import { checkGroups } from './check-groups.js';
import { deploys } from './deploys.js';
import { CHECKS_GATE_KEY, jobKeys } from './job-keys.js';
import { serviceSteps } from './service-steps.js';
import { planZone } from './zone.js';

const lastPassed = { rule: 'last-passed-build' as const, base: BASE_SHA, reason: 'last passed build.', notes: [] };
const staging: DeployTarget = { branch: 'main', overlay: 'overlays/staging', pinDigest: false, approval: 'none' };

function phase(input: PlanPipelineInput) {
  const keys = jobKeys(input);
  const zone = planZone(input.config, input.context, input.options);
  const { groups, services } = serviceSteps(input, keys, zone, checkGroups(input, keys, zone.checks));
  return deploys(input, zone, groups, services);
}
const main = (targets: DeployTarget[]) => reconfigured(planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']), lastPassed), { config: { deployTargets: targets } });

describe('deploys', () => {
  it("one gate for the build's checks; each target's deploy waits for it; the same overlay twice gets a numbered key", () => {
    const d = phase(main([staging, { ...staging, approval: 'manual' }]));
    expect(d.gate?.key).toBe(CHECKS_GATE_KEY);
    expect(d.gate?.dependsOn).toEqual(['acme-api:tasks', 'acme-api:build', 'acme-api:image', 'acme-api:scan']);
    expect(d.byProject.get('@acme/api')?.steps.map((s) => `${s.key} <- ${s.dependsOn.join(' ')}`)).toEqual([
      'acme-api:deploy-staging <- engex-checks-passed',
      'acme-api:approve-staging-2 <- engex-checks-passed',
      'acme-api:deploy-staging-2 <- engex-checks-passed acme-api:approve-staging-2',
    ]);
  });

  it('names the overlays nothing verifies, and verifies the others', () => {
    const d = phase(
      main([
        { ...staging, url: 'https://api.example.com' },
        { ...staging, overlay: 'overlays/staging-eu' },
      ]),
    );
    expect(d.byProject.get('@acme/api')?.steps.map((s) => s.key)).toEqual(['acme-api:deploy-staging', 'acme-api:verify-staging', 'acme-api:deploy-staging-eu']);
    expect(d.byProject.get('@acme/api')?.unverified).toEqual(['overlays/staging-eu']);
  });

  it('nothing to deploy: no gate, no steps', () => {
    const d = phase(main([{ ...staging, branch: 'release/*' }]));
    expect(d.gate).toBeUndefined();
    expect(d.byProject.size).toBe(0);
  });
});
