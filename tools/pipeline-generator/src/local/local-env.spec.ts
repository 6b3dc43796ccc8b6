import { describe, expect, it } from 'vitest';
import { jobEnv, type LocalBuild } from './local-env.js';
import { defaultQueues, readQueueNames } from './queues.js';

const build: LocalBuild = {
  workspaceRoot: '/ws',
  commit: 'c'.repeat(40),
  branch: 'main',
  defaultBranch: 'main',
  pullRequest: 'false',
  registry: '127.0.0.1:5000',
  buildx: true,
  runDir: '/run',
};
const secrets = { nxCacheRead: 'read-token', nxCacheWrite: 'write-token', analytics: 'bk-token', opsRepos: { 'https://example.com/halow-ops.git': '/state/ops/halow-ops.git' } };

describe('queues and job environments', () => {
  it('reads the queue names defensively (untrustedQueue may be absent or malformed)', () => {
    expect(readQueueNames({ agents: { queue: 'ci' }, deployQueue: 'ship' })).toEqual({ checks: 'ci', docker: 'ci', deploy: 'ship', untrusted: 'untrusted' });
    expect(readQueueNames({ untrustedQueue: 7, dockerQueue: 'dock' })).toEqual({ checks: 'default', docker: 'dock', deploy: 'deploy', untrusted: 'untrusted' });
    expect(readQueueNames(null)).toEqual({ checks: 'default', docker: 'default', deploy: 'deploy', untrusted: 'untrusted' });
  });

  it('gives the untrusted queue only the Nx read token and the upload-only Test Engine token; trusted queues the write token; only deploy reaches the ops repo', () => {
    const queues = defaultQueues(readQueueNames({}), secrets);
    expect(queues['untrusted']?.env).toEqual({ NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'read-token', BUILDKITE_ANALYTICS_TOKEN: 'bk-token' });
    expect(queues['default']?.env).toEqual({ NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'write-token', BUILDKITE_ANALYTICS_TOKEN: 'bk-token' });
    expect(queues['deploy']?.env).toMatchObject({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'url.file:///state/ops/halow-ops.git.insteadOf',
      GIT_CONFIG_VALUE_0: 'https://example.com/halow-ops.git',
    });
  });

  it("a job sees only the allowlist of the caller's environment, its queue's secrets, the build and its own env", () => {
    const caller = {
      PATH: '/usr/bin',
      HOME: '/home/u',
      AWS_SECRET_ACCESS_KEY: 'leak',
      NX_CLOUD_ACCESS_TOKEN: 'leak',
      BUILDKITE_AGENT_ACCESS_TOKEN: 'leak',
      npm_config_prefix: '/x',
    };
    const env = jobEnv({
      caller,
      build,
      queue: 'untrusted',
      agents: defaultQueues(readQueueNames({}), secrets)['untrusted']!,
      step: { key: 'k', label: 'L', env: { FOO: 'bar' } },
      checkout: '/agents/1/checkout',
      binDir: '/agents/1/bin',
      nxCacheDir: '/nx',
    });
    expect(Object.values(env)).not.toContain('leak');
    expect(env).toMatchObject({
      PATH: '/agents/1/bin:/usr/bin',
      HOME: '/home/u',
      NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'read-token',
      BUILDKITE_BRANCH: 'main',
      BUILDKITE_STEP_KEY: 'k',
      BUILDKITE_AGENT_META_DATA_QUEUE: 'untrusted',
      ENGEX_LOCAL_AGENT_STATE: '/run',
      REGISTRY: '127.0.0.1:5000',
      NX_CACHE_DIRECTORY: '/nx/cache',
      FOO: 'bar',
    });
    expect(Object.keys(env).filter((k) => k.startsWith('npm_'))).toEqual([]);
  });
});
