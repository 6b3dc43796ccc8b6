import { DEFAULT_WORKSPACE_CONFIG } from '@engex/workspace-config';
import { describe, expect, it } from 'vitest';
import { SHA } from '../../../test/fixtures.js';
import type { BuildContext } from '../context.js';
import { AGENT_LOST_RETRY, INFRA_RETRY, planZone } from './zone.js';

const config = { ...DEFAULT_WORKSPACE_CONFIG, dockerQueue: 'docker' };
const zone = (context: Partial<BuildContext>, options = {}) => planZone(config, { commit: SHA, defaultBranch: 'main', ...context }, options);

describe('planZone', () => {
  it('a trusted build: each kind of step on its queue, infrastructure retries where a step talks to the registry or the ops repo', () => {
    const z = zone({ branch: 'main' });
    expect([z.checks, z.docker, z.scan, z.deploy, z.verify].map((c) => [c.agents['queue'], c.retry])).toEqual([
      ['default', AGENT_LOST_RETRY],
      ['docker', AGENT_LOST_RETRY],
      ['docker', INFRA_RETRY],
      ['deploy', INFRA_RETRY],
      ['deploy', AGENT_LOST_RETRY],
    ]);
    expect(z.deployable).toEqual({ ok: true, branch: 'main' });
    expect(z.dependencyCache.config).toMatchObject({ save: 'file' });
  });

  it('an untrusted build: every step on the untrusted queue, no cache save, no deploy', () => {
    const z = zone({ branch: 'feat/x', pullRequest: 5 });
    expect(new Set([z.checks, z.docker, z.scan, z.deploy, z.verify].map((c) => c.agents['queue']))).toEqual(new Set(['untrusted']));
    expect(z.dependencyCache.config).not.toHaveProperty('save');
    expect(z.summary.zone).toBe('untrusted');
  });

  it.each<[Partial<BuildContext>, string]>([
    [{ branch: 'main', pullRequest: 5 }, 'pull request #5 builds never deploy'],
    [{ branch: 'v1', tag: 'v1' }, 'tag builds never deploy'],
    [{}, 'no branch'],
    [{ branch: 'feature/x' }, 'untrusted builds never deploy (branch "feature/x" matches no trusted branch ("main", "release/*"))'],
  ])('%o never deploys: %s', (context, why) => {
    expect(zone(context).deployable).toEqual({ ok: false, why });
  });

  it('a dependency cache given in the options wins over the derived one', () => {
    const cache = { ref: 'cache#v1.12.0', config: { backend: 'fs' } };
    expect(zone({ branch: 'main' }, { dependencyCache: cache }).dependencyCache).toBe(cache);
  });
});
