import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderShellCommand } from '../src/core/shell.js';
import { describeNeeding } from '@engex/ci-lib/testing';
import { decideTrust, parseWorkspaceConfig, type WorkspaceConfig } from '@engex/workspace-config';
import { dependencyCachePlugin, nodeMajorOf } from '../src/core/steps/common.js';
import { REPO_ROOT, SCHEMA, schemaErrors } from './schema.js';

/** The static bootstrap installs the way generated jobs do, or every build pays one more npm ci. */
describe('.buildkite/pipeline.yml', () => {
  const bootstrap = parse(readFileSync(join(REPO_ROOT, '.buildkite', 'pipeline.yml'), 'utf8')) as { steps: Record<string, unknown>[] };
  const [trusted, untrusted] = bootstrap.steps as { plugins: Record<string, unknown>[]; commands: string[]; if: string; agents: { queue: string } }[];
  const config: WorkspaceConfig = parseWorkspaceConfig(JSON.parse(readFileSync(join(REPO_ROOT, 'engex.config.json'), 'utf8')));
  const cache = (save: boolean) => dependencyCachePlugin({ platform: config.agents.platform, nodeMajor: nodeMajorOf(config.nodeImage), save });

  it('restores node_modules through the same pinned cache plugin and guarded install as generated jobs; only the trusted plan saves', () => {
    expect(trusted?.plugins[0]).toEqual({ [cache(true).ref]: cache(true).config });
    expect(untrusted?.plugins[0]).toEqual({ [cache(false).ref]: cache(false).config });
    expect(untrusted?.plugins[0]?.[cache(false).ref]).not.toHaveProperty('save');
    for (const step of [trusted, untrusted]) expect(step?.commands[0]).toBe(renderShellCommand({ kind: 'install' }));
  });

  it("plans a pull request or an untrusted branch on the untrusted queue, as decideTrust does with this workspace's config", () => {
    expect(trusted?.agents.queue).toBe(config.agents.queue);
    expect(untrusted?.agents.queue).toBe(config.untrustedQueue);
    // The `if:` spells trustedBranches by hand: when this fails, update .buildkite/pipeline.yml.
    expect(config.trustedBranches ?? [...new Set(['main', ...config.deployTargets.map((t) => t.branch)])]).toEqual(['main', 'release/*']);
    const branches = /build\.branch == pipeline\.default_branch \|\| build\.branch == "main" \|\| build\.branch =~ \/\^release\\\/\[\^\\\/\]\+\$\$\/\)/;
    expect(trusted?.if).toMatch(branches);
    expect(trusted?.if.startsWith('build.pull_request.id == null && (')).toBe(true);
    expect(untrusted?.if.startsWith('build.pull_request.id != null || !(')).toBe(true);
    expect(decideTrust(config, { defaultBranch: 'main', branch: 'release/1.2' }).zone).toBe('trusted');
    expect(decideTrust(config, { defaultBranch: 'main', branch: 'release/1/2' }).zone).toBe('untrusted');
  });

  describeNeeding([SCHEMA], "Buildkite's schema", () => {
    it('accepts it', () => {
      expect(schemaErrors(bootstrap)).toEqual([]);
    });
  });
});
