import { describe, expect, it } from 'vitest';
import { agentNxCacheEnv, buildStepEnv, freshAgentEnv, localBuildUrl, type LocalBuild } from './local-env.js';

const build: LocalBuild = {
  workspaceRoot: '/ws',
  commit: 'b'.repeat(40),
  branch: 'main',
  defaultBranch: 'main',
  commitTime: '1767225600',
  registry: '127.0.0.1:5000',
  nodeImage: 'engex-local/node-base:20.20.2',
  buildx: false,
  runDir: '/ws/.engex-local/runs/r1',
};

describe('buildStepEnv', () => {
  it('sets what a Buildkite agent would, plus the local overrides; the step env wins', () => {
    const env = buildStepEnv({ PATH: '/usr/bin', HOME: '/home/me', BUILDKITE_AGENT_ACCESS_TOKEN: 'from-an-outer-job', BUILDKITE_BRANCH: 'outer' }, build, {
      key: 'halow:image',
      label: ':docker: image halow',
      env: { EXTRA: '1', CI: 'yes' },
    });
    expect(env).toMatchInlineSnapshot(`
      {
        "BUILDKITE_BRANCH": "main",
        "BUILDKITE_BUILD_CHECKOUT_PATH": "/ws",
        "BUILDKITE_BUILD_URL": "local://local/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "BUILDKITE_COMMIT": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "BUILDKITE_LABEL": ":docker: image halow",
        "BUILDKITE_PIPELINE_DEFAULT_BRANCH": "main",
        "BUILDKITE_PIPELINE_SLUG": "local",
        "BUILDKITE_PULL_REQUEST": "false",
        "BUILDKITE_STEP_KEY": "halow:image",
        "CI": "yes",
        "DOCKER_BUILDKIT": "0",
        "ENGEX_LOCAL_RUN_DIR": "/ws/.engex-local/runs/r1",
        "EXTRA": "1",
        "HOME": "/home/me",
        "NODE_IMAGE": "engex-local/node-base:20.20.2",
        "NX_DAEMON": "false",
        "PATH": "/ws/node_modules/.bin:/usr/bin",
        "REGISTRY": "127.0.0.1:5000",
        "SOURCE_DATE_EPOCH": "1767225600",
      }
    `);
  });

  it("keeps the caller's SOURCE_DATE_EPOCH, NX_DAEMON and DOCKER_BUILDKIT choices", () => {
    const env = buildStepEnv({ SOURCE_DATE_EPOCH: '1', NX_DAEMON: 'true', DOCKER_BUILDKIT: '1' }, { ...build, buildx: false }, { key: 'k', label: 'l', env: {} });
    expect([env['SOURCE_DATE_EPOCH'], env['NX_DAEMON'], env['DOCKER_BUILDKIT']]).toEqual(['1', 'true', '1']);
  });

  it('uses a build URL that is the same for every run of a commit, so the image is too', () => {
    expect(localBuildUrl('c'.repeat(40))).toBe(localBuildUrl('c'.repeat(40)));
    expect(localBuildUrl('c'.repeat(40))).toMatch(/^local:\/\//);
  });

  it("gives a fresh agent nothing of the caller's npm run, Nx cache or test contract, and the shared Nx cache with its database", () => {
    const caller = {
      PATH: '/usr/bin',
      HOME: '/home/me',
      npm_config_local_prefix: '/home/me/repo',
      npm_lifecycle_event: 'pipeline:local',
      INIT_CWD: '/home/me/repo',
      NX_CACHE_DIRECTORY: '/home/me/.nx-cache',
      NX_DAEMON: 'false',
      ENGEX_REQUIRE: 'docker,shared',
      DOCKER_HOST: 'unix:///run/docker.sock',
    };
    expect(freshAgentEnv(caller, { nxCacheDir: '/run/nx', npmCacheDir: '/run/agent-1/npm' })).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/me',
      NX_DAEMON: 'false',
      DOCKER_HOST: 'unix:///run/docker.sock',
      NX_CACHE_DIRECTORY: '/run/nx/cache',
      NX_WORKSPACE_DATA_DIRECTORY: '/run/nx/workspace-data',
      npm_config_cache: '/run/agent-1/npm',
    });
    expect(agentNxCacheEnv('/run/agent-2/nx')).toEqual({ NX_CACHE_DIRECTORY: '/run/agent-2/nx/cache', NX_WORKSPACE_DATA_DIRECTORY: '/run/agent-2/nx/workspace-data' });
    expect(freshAgentEnv(caller, { nxCacheDir: '/run/agent-2/nx' })['npm_config_cache']).toBeUndefined();
  });
});
