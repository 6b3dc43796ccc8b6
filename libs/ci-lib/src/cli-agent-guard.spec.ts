import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from './cli.js';
import { checkBuild, parseAgentPolicy, planGuard, readJobFacts } from './lib/agent-guard.js';
import { faultServersPerTest, type FaultServer } from './testing/fault-server.js';

// The guard on the credential-holding queues (issue 18). Only Buildkite's REST API is faked, on
// 127.0.0.1; the policy and token files are real files with real modes.

const SHA = '0123456789abcdef0123456789abcdef01234567';
const TOKEN = 'bkua_planted_read_builds_token_0001';
let dir: string;
const fault = faultServersPerTest();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engex-agent-guard-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const policyDoc = (extra: Record<string, unknown> = {}) => ({
  queue: 'deploy',
  organization: 'highspot',
  repositories: ['git@github.com:highspot/halow.git'],
  pipelines: ['halow'],
  branches: ['main', 'release/*'],
  ...extra,
});

async function writePolicy(doc: unknown, name = 'policy.json', mode = 0o644): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(doc));
  await chmod(file, mode);
  return file;
}

const jobEnv = (over: Record<string, string> = {}): Record<string, string> => ({
  BUILDKITE: 'true',
  BUILDKITE_ORGANIZATION_SLUG: 'highspot',
  BUILDKITE_PIPELINE_SLUG: 'halow',
  BUILDKITE_REPO: 'git@github.com:highspot/halow.git',
  BUILDKITE_BRANCH: 'main',
  BUILDKITE_PULL_REQUEST: 'false',
  BUILDKITE_COMMIT: SHA,
  BUILDKITE_BUILD_NUMBER: '42',
  BUILDKITE_STEP_KEY: 'halow:image',
  BUILDKITE_BUILD_CHECKOUT_PATH: join(dir, 'checkout'),
  BUILDKITE_API_TOKEN: TOKEN,
  ...over,
});

async function guard(policy: string, env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    cwd: join(dir, 'checkout'),
    now: () => new Date(0),
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => undefined },
  };
  const code = await main(['agent', 'guard', '--policy', policy], io);
  return { code, stdout, stderr };
}

const build = (over: Record<string, unknown> = {}) => ({
  number: 42,
  branch: 'release/1.4',
  commit: SHA,
  pull_request: null,
  author: { name: 'Ada', email: 'ada@example.com' },
  creator: { name: 'Ada', email: 'ada@example.com' },
  jobs: [
    { type: 'script', step_key: 'halow:image', state: 'passed' },
    { type: 'manual', step_key: 'halow:approve-production', state: 'unblocked', unblocked_by: { name: 'Grace', email: 'grace@example.com' } },
  ],
  ...over,
});

const fakeBuildkite = (body: unknown): Promise<FaultServer> => fault({ behaviours: [{ kind: 'json', body }] });

describe('engex-ci agent guard', () => {
  beforeAll(async () => mkdir(join(dir, 'checkout'), { recursive: true }));

  it('allows a trusted build of the policy repository, pipeline and branch', async () => {
    const r = await guard(await writePolicy(policyDoc()), jobEnv());
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe('agent guard: allowed halow build 42 step halow:image on branch main (deploy queue; no API check configured)\n');
  });

  it('refuses a pull request, naming why, and prints no secret', async () => {
    const r = await guard(await writePolicy(policyDoc()), jobEnv({ BUILDKITE_PULL_REQUEST: '123', BUILDKITE_BRANCH: 'main' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('agent guard: refused this job on the deploy queue:');
    expect(r.stderr).toContain('the build is pull request "123": pull-request code never runs where credentials are');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it.each([
    [
      'another repository',
      { BUILDKITE_REPO: 'git@github.com:mallory/halow.git' },
      'repository "git@github.com:mallory/halow.git" is not one of "git@github.com:highspot/halow.git"',
    ],
    ['another pipeline', { BUILDKITE_PIPELINE_SLUG: 'halow-fork' }, 'pipeline "halow-fork" matches none of "halow"'],
    ['an untrusted branch', { BUILDKITE_BRANCH: 'feature/x' }, 'branch "feature/x" matches none of "main", "release/*"'],
    ['an untrusted tag', { BUILDKITE_TAG: 'v9.9.9', BUILDKITE_BRANCH: 'v9.9.9' }, 'tag "v9.9.9" matches none of'],
    ['another organization', { BUILDKITE_ORGANIZATION_SLUG: 'mallory' }, 'organization "mallory" is not "highspot"'],
  ])('refuses %s', async (_name, over, reason) => {
    const r = await guard(await writePolicy(policyDoc()), jobEnv(over));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(reason);
  });

  it('never reads the policy from the checkout, a relative path, or a group-writable file', async () => {
    const inCheckout = join(dir, 'checkout', 'policy.json');
    await writeFile(inCheckout, JSON.stringify(policyDoc({ branches: ['**'] })));
    await chmod(inCheckout, 0o644);
    const fromCheckout = await guard(inCheckout, jobEnv({ BUILDKITE_BRANCH: 'feature/x' }));
    expect(fromCheckout.code).toBe(1);
    expect(fromCheckout.stderr).toContain("is inside the job's checkout");
    const relative = await guard('policy.json', jobEnv());
    expect(relative.code).toBe(2);
    expect(relative.stderr).toContain('must be an absolute path on the agent host');
    const writable = await guard(await writePolicy(policyDoc(), 'writable.json', 0o666), jobEnv());
    expect(writable.code).toBe(1);
    expect(writable.stderr).toContain('is writable by group or others (mode 666)');
  });

  it('a bad policy is a usage error naming the file and path', async () => {
    const file = await writePolicy(policyDoc({ branches: [], approvals: [{ branches: ['release/*'], steps: ['*:deploy-production'], block: 'approve-production' }] }), 'bad.json');
    const r = await guard(file, jobEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: branches: expected a non-empty array of strings, got []`);
    expect(r.stderr).toContain(`${file}: api: is required when approvals are set`);
  });

  describe('with Buildkite API checks', () => {
    const approvalPolicy = async (api: FaultServer) => {
      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, `${TOKEN}\n`);
      return writePolicy(
        policyDoc({
          approvals: [{ branches: ['release/*'], steps: ['*:deploy-production'], block: 'approve-production' }],
          api: { tokenFile, baseUrl: api.url, deadlineSeconds: 5 },
        }),
        'approval.json',
      );
    };
    const deployJob = () => jobEnv({ BUILDKITE_BRANCH: 'release/1.4', BUILDKITE_STEP_KEY: 'halow:deploy-production' });

    it('allows the production deploy once the block step was unblocked by someone other than the author', async () => {
      const api = await fakeBuildkite(build());
      const r = await guard(await approvalPolicy(api), deployJob());
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Buildkite confirms the build and halow:approve-production unblocked by someone other than the author');
      expect(api.requests.map((q) => q.url)).toEqual(['/v2/organizations/highspot/pipelines/halow/builds/42']);
      expect(api.requests[0]?.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    });

    it('refuses when the block step is still waiting, or missing', async () => {
      const waiting = build({ jobs: [{ type: 'manual', step_key: 'halow:approve-production', state: 'blocked' }] });
      const r = await guard(await approvalPolicy(await fakeBuildkite(waiting)), deployJob());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('block step "halow:approve-production" is "blocked", not unblocked');
      const none = await guard(await approvalPolicy(await fakeBuildkite(build({ jobs: [] }))), deployJob());
      expect(none.stderr).toContain('this job needs the block step "halow:approve-production", and the build has none');
    });

    it('four-eyes: refuses an approval by the commit author', async () => {
      const self = build({ jobs: [{ type: 'manual', step_key: 'halow:approve-production', state: 'unblocked', unblocked_by: { name: 'Ada', email: 'ADA@example.com' } }] });
      const r = await guard(await approvalPolicy(await fakeBuildkite(self)), deployJob());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('was unblocked by Ada <ada@example.com>, who wrote or started this build: four-eyes needs someone else');
    });

    it("trusts Buildkite's record over the job's env: a pull request that shadows BUILDKITE_PULL_REQUEST is refused", async () => {
      const r = await guard(await approvalPolicy(await fakeBuildkite(build({ pull_request: { id: '77' } }))), deployJob());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Buildkite records this build as pull request "77"');
    });

    it('an unreachable API refuses too (exit 4), within its deadline, without the token', async () => {
      const down = await fault({ behaviours: [{ kind: 'status', status: 503 }] });
      const r = await guard(await approvalPolicy(down), deployJob());
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('answered HTTP 503 after retries');
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    });
  });
});

describe('planGuard and checkBuild (pure)', () => {
  const policy = parseAgentPolicy(policyDoc({ steps: ['*:image', '*:deploy-*'] }), 'p.json');
  it('a step key outside the queue allow-list is refused', () => {
    expect(planGuard(policy, readJobFacts(jobEnv({ BUILDKITE_STEP_KEY: 'halow:lint' }))).refusals).toEqual(['step key "halow:lint" matches none of "*:image", "*:deploy-*"']);
  });
  it('a build Buildkite records on another branch or commit is refused', () => {
    const job = readJobFacts(jobEnv({ BUILDKITE_BRANCH: 'main' }));
    expect(checkBuild(build({ branch: 'feature/x', commit: 'f'.repeat(40) }), job, [])).toEqual([
      'Buildkite records branch "feature/x", the job claims "main"',
      `Buildkite records commit "${'f'.repeat(40)}", the job claims "${SHA}"`,
    ]);
  });
});

describe('agent-hooks/pre-command', () => {
  it('runs the host engex-ci with the host policy and only the job facts: the job env cannot redirect or inject into it', async () => {
    const { readFile: read } = await import('node:fs/promises');
    const { spawnSync } = await import('node:child_process');
    const hook = await read(join(import.meta.dirname, '..', 'agent-hooks', 'pre-command'), 'utf8');
    // A stand-in for the installed bundle that reports what it received, and refuses like the guard.
    const fake = join(dir, 'fake-engex-ci.cjs');
    await writeFile(fake, "console.log(JSON.stringify({ argv: process.argv.slice(2), env: process.env })); process.exit(process.env.BUILDKITE_PULL_REQUEST === '5' ? 1 : 0);\n");
    const script = join(dir, 'pre-command');
    await writeFile(script, hook.replace(/^ENGEX_CI=.*$/m, `ENGEX_CI=${fake}`).replace(/^POLICY=.*$/m, 'POLICY=/etc/buildkite-agent/engex-policy.json'));
    await chmod(script, 0o755);
    const run = (extra: Record<string, string>) =>
      spawnSync('bash', [script], {
        encoding: 'utf8',
        env: {
          PATH: process.env['PATH'] ?? '',
          ...jobEnv(),
          NODE_OPTIONS: `--require ${join(dir, 'checkout', 'evil.cjs')}`,
          ENGEX_AGENT_POLICY: join(dir, 'checkout', 'p.json'),
          ...extra,
        },
      });
    const ok = run({});
    expect(ok.status, ok.stderr).toBe(0);
    const seen = JSON.parse(ok.stdout) as { argv: string[]; env: Record<string, string> };
    expect(seen.argv).toEqual(['agent', 'guard', '--policy', '/etc/buildkite-agent/engex-policy.json']);
    expect(seen.env['NODE_OPTIONS']).toBeUndefined();
    expect(seen.env['ENGEX_AGENT_POLICY']).toBeUndefined();
    expect(seen.env['BUILDKITE_API_TOKEN']).toBeUndefined();
    expect(seen.env['BUILDKITE_BRANCH']).toBe('main');
    expect(run({ BUILDKITE_PULL_REQUEST: '5' }).status).toBe(1);
  });
});
