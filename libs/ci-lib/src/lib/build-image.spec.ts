import { describe, expect, it } from 'vitest';
import { planDockerBuild, type PlanDockerBuildInputs } from './build-image.js';
import type { ImageRefs } from './image-ref.js';

const inputs: PlanDockerBuildInputs = {
  root: '/ws',
  service: { service: 'halow', port: 3000 },
  refs: { name: 'reg.example/engex/halow', local: 'engex/halow:abc', tags: ['abc'] } as ImageRefs,
  metadata: { labels: { 'org.opencontainers.image.title': 'halow' }, buildArgs: { REVISION: 'abc', CREATED: '2026-01-01T00:00:00Z', SOURCE: 's', VERSION: 'abc' } },
  nodeImage: 'node:24',
  buildxAvailable: false,
};

describe('planDockerBuild', () => {
  it('labels the image config and claims no manifest annotations, with BuildKit or without', () => {
    const buildkit = planDockerBuild({ ...inputs, buildxAvailable: true });
    expect(buildkit.args.join(' ')).toContain('--label org.opencontainers.image.title=halow --tag');
    expect(buildkit.env).toEqual({});
    for (const plan of [buildkit, planDockerBuild(inputs), planDockerBuild({ ...inputs, buildxAvailable: true, dockerBuildkit: '0' })]) {
      expect(plan.args).not.toContain('--annotation');
      expect(plan.args).toContain('--label');
    }
    expect(planDockerBuild(inputs).env).toEqual({ DOCKER_BUILDKIT: '0' });
  });
});
