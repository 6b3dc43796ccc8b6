import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from './cli.js';
import { createDocker } from './lib/docker.js';
import type { EcrClientLike } from './lib/ecr-credentials.js';
import { startFaultServer, type FaultServer } from './testing/fault-server.js';
import { seedOpsRepo } from './testing/ops-repo.js';
import { findRepoRoot } from './testing/requirements.js';
import { createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from './testing/temp-workspace.js';

// Secrets planted in env, URLs and headers; every engex-ci command's failure paths (and the
// bump's success lines) run through main(), a few through the real bundle; all output is
// searched for each secret. The figure to keep: 0 found.

const SHA = '0123456789abcdef0123456789abcdef01234567';
const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';
const S = {
  githubToken: 'ghs_PlantedEnvGithubToken0000000000000001',
  awsKeyId: 'AKIAPLANTEDKEY000001',
  awsSecret: 'PlantedAwsSecretKey/0000+aaaaaaaaaaaaaaaa',
  agentToken: 'bkaa_planted_agent_token_0001',
  webhook: 'https://hooks.slack.com/services/T0/B0/PlantedWebhook0001',
  repoToken: 'ghp_PlantedRepoUrlToken00000000000000001',
  buildUrlPassword: 'planted-build-url-password-1',
  header: 'PlantedHeaderBearer0001.abc',
  dockerPassword: 'planted-docker-password-0001',
  querySig: 'plantedsignature0001',
};
const SECRETS = Object.values(S);
const dockerAuth = Buffer.from(`AWS:${S.dockerPassword}`).toString('base64');

const plantedEnv = (extra: Record<string, string> = {}) =>
  hermeticEnv({
    BUILDKITE_COMMIT: SHA,
    GITHUB_TOKEN: S.githubToken,
    AWS_ACCESS_KEY_ID: S.awsKeyId,
    AWS_SECRET_ACCESS_KEY: S.awsSecret,
    BUILDKITE_AGENT_ACCESS_TOKEN: S.agentToken,
    SLACK_WEBHOOK_URL: S.webhook,
    GIT_AUTHOR_NAME: 'engex-ci',
    GIT_AUTHOR_EMAIL: 'ci@example.com',
    ...extra,
  });

const output: string[] = [];
async function run(argv: string[], cwd: string, env: Record<string, string>, extra: Partial<CliIo> = {}): Promise<{ code: number; out: string }> {
  // Both streams in one, in the order written: a secret split across them is still found.
  let out = '';
  const code = await main(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
    env,
    cwd,
    now: () => new Date('2026-11-30T10:00:00Z'),
    retry: { sleep: async () => {}, random: () => 0.5 },
    ...extra,
  });
  output.push(out);
  return { code, out };
}

let ws: TempWorkspace;
let dir: string;
let registry: FaultServer;
let gitServer: FaultServer;
let fakeDocker: string;
beforeAll(async () => {
  ws = await createTempWorkspace({ git: true, packages: { 'apps/halow': servicePackage('@engex/halow', { port: 3000 }) } });
  dir = await mkdtemp(join(tmpdir(), 'engex-secrets-'));
  registry = await startFaultServer({ behaviours: [{ kind: 'status', status: 429, retryAfter: '3600' }] });
  gitServer = await startFaultServer({ behaviours: [{ kind: 'status', status: 500, body: 'no' }] });
  // A docker that prints every credential form it could, then fails.
  fakeDocker = join(dir, 'docker');
  await writeFile(
    fakeDocker,
    `#!/bin/sh\ncat >/dev/null\necho "docker login --password ${S.dockerPassword} ${ECR}" >&2\necho '{"auths":{"${ECR}":{"auth":"${dockerAuth}"}}}' >&2\necho "Authorization: Bearer ${S.header}" >&2\nexit 1\n`,
  );
  await chmod(fakeDocker, 0o755);
  await seedOpsRepo(dir, `${ECR}/engex/halow`, {
    'overlays/staging/kustomization.yaml': `kind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: ${ECR}/engex/halow\n    newTag: old\n`,
  });
});
afterAll(async () => {
  await registry?.close();
  await gitServer?.close();
  await ws?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('no secret in any output', () => {
  const tokenRepo = () => `https://x-access-token:${S.repoToken}@git.example.invalid/ops.git`;
  // git maps the token URL to the local bare repo, so the bump succeeds and prints its lines.
  const insteadOf = () => ({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `url.${join(dir, 'ops.git')}.insteadOf`, GIT_CONFIG_VALUE_0: tokenRepo() });
  const bump = (repo: string, path = 'overlays/staging/kustomization.yaml') => ['deploy', 'bump', '--repo', repo, '--path', path, '--image', `${ECR}/engex/halow`, '--tag', SHA];

  it('deploy bump: "bumped" and "already at" lines never show the token in the repo URL', async () => {
    const first = await run(bump(tokenRepo()), ws.root, plantedEnv({ ...insteadOf(), TMPDIR: dir }));
    expect(first.code).toBe(0);
    expect(first.out).toContain(`→ ${SHA} in https://***@git.example.invalid/ops.git (main)`);
    const second = await run(bump(tokenRepo()), ws.root, plantedEnv({ ...insteadOf(), TMPDIR: dir }));
    // stdout and stderr together: the render's proof line on stderr comes first.
    expect(second.out).toMatch(/\nalready at .* in https:\/\/\*\*\*@git\.example\.invalid\/ops\.git \(main\); no commit\n$/);
  });

  it('deploy bump failure paths: missing file, git errors with verbose curl and an auth header', async () => {
    expect((await run(bump(tokenRepo(), 'overlays/dev/kustomization.yaml'), ws.root, plantedEnv({ ...insteadOf(), TMPDIR: dir }))).code).toBe(2);
    const verbose = plantedEnv({
      GIT_CURL_VERBOSE: '1',
      GIT_TRACE_REDACT: '0',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Bearer ${S.header}`,
      TMPDIR: dir,
    });
    const repo = `http://x-access-token:${S.repoToken}@127.0.0.1:${gitServer.port}/ops.git?token=${S.querySig}`;
    const failed = await run(bump(repo), ws.root, verbose);
    expect(failed.code).toBe(4);
    expect(failed.out).toContain('Authorization: ***');
    expect(gitServer.requests[0]!.headers['authorization']).toBe(`Bearer ${S.header}`);
  });

  it('image commands: bad env values, registry throttling, docker failures', async () => {
    const badUrl = plantedEnv({ BUILDKITE_BUILD_URL: `https://bk:${S.buildUrlPassword}@buildkite.com/x y` });
    for (const command of ['build', 'push', 'exists', 'smoke']) {
      expect((await run(['image', command, '--project', 'halow'], ws.root, badUrl)).code).toBe(2);
    }
    expect((await run(['image', 'build', '--project', 'halow'], ws.root, plantedEnv())).code).toBe(2);
    expect((await run(['image', 'exists', '--project', 'halow'], ws.root, plantedEnv({ REGISTRY: registry.host }))).code).toBe(4);
    const docker = createDocker({ binary: fakeDocker });
    expect((await run(['image', 'push', '--project', 'halow'], ws.root, plantedEnv({ REGISTRY: registry.host }), { docker })).code).toBe(4);
    expect((await run(['image', 'smoke', '--project', 'halow'], ws.root, plantedEnv({ REGISTRY: registry.host }), { docker })).code).toBe(4);
  });

  it('streamed child output: a secret split across two chunks is still hidden', async () => {
    const bin = join(dir, 'split-bin');
    await mkdir(bin, { recursive: true });
    const half = S.githubToken.length / 2;
    await writeFile(
      join(bin, 'docker'),
      `#!/bin/sh\nprintf 'pulling with ${S.githubToken.slice(0, half)}'\nsleep 0.3\nprintf '${S.githubToken.slice(half)} denied\\n' >&2\nexit 1\n`,
    );
    await chmod(join(bin, 'docker'), 0o755);
    const env = plantedEnv({ REGISTRY: registry.host, PATH: `${bin}:${process.env['PATH']}` });
    const chunks: string[] = [];
    const code = await main(['image', 'smoke', '--project', 'halow'], { stdout: (t) => chunks.push(t), stderr: (t) => chunks.push(t), env, cwd: ws.root, now: () => new Date() });
    output.push(chunks.join(''));
    expect(code).toBe(4);
    expect(chunks.join('')).toContain('pulling with *** denied');
  });

  it('scan report: an unreadable report named with a signed URL', async () => {
    const result = await run(['scan', 'report', `trivy.json?X-Amz-Signature=${S.querySig}`], ws.root, plantedEnv());
    expect(result.code).toBe(2);
  });

  it('the ECR API: an SDK error carrying keys and a signed URL (ecr check, and the registry login of image exists)', async () => {
    const failing: CliIo['ecrClient'] = async () =>
      ({
        send: async () => {
          throw Object.assign(
            new Error(`denied for ${S.awsKeyId}/${S.awsSecret} at https://api.ecr.us-east-1.amazonaws.com/?X-Amz-Credential=${S.awsKeyId}&X-Amz-Signature=${S.querySig}`),
            { name: 'AccessDeniedException' },
          );
        },
      }) as EcrClientLike;
    expect((await run(['ecr', 'check', '--project', 'halow'], ws.root, plantedEnv(), { ecrClient: failing })).code).toBe(4);
    expect((await run(['image', 'exists', '--project', 'halow'], ws.root, plantedEnv(), { ecrClient: failing })).code).toBe(4);
  });

  it('the real bundle: a bad env value, a failing bump and a usage error', async () => {
    // Bundled like the build target (one CJS file, AWS SDK inside), so this is the shipped code path.
    const { build } = await import('esbuild');
    const bundle = join(dir, 'engex-ci.cjs');
    await build({
      entryPoints: [join(findRepoRoot(), 'libs/ci-lib/src/bin.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      conditions: ['@engex/source'],
      external: ['@cyclonedx/cyclonedx-library'],
      logLevel: 'silent',
    });
    // Async: the fault server lives in this process and must keep answering.
    const node = (args: string[], env: Record<string, string>) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [bundle, '--workspace', ws.root, ...args], { env });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.stderr.on('data', (d: Buffer) => (text += d.toString()));
        child.on('close', (code) => {
          output.push(text);
          resolve(code);
        });
      });
    expect(await node(['image', 'exists', '--project', 'halow'], plantedEnv({ BUILDKITE_BUILD_URL: `https://bk:${S.buildUrlPassword}@buildkite.com/x y` }))).toBe(2);
    expect(await node(bump(`http://x-access-token:${S.repoToken}@127.0.0.1:${gitServer.port}/ops.git`), plantedEnv({ TMPDIR: dir, ENGEX_CI_GIT_DEADLINE: '10' }))).toBe(4);
    expect(await node(['deploy', 'bump', '--repo', `https://u:${S.repoToken}@h/x.git`], plantedEnv())).toBe(2);
  });

  afterAll(() => {
    const all = output.join('\n');
    // The runs above must have produced output that would have carried the secrets.
    expect(all).toContain('***');
    const found = SECRETS.filter((secret) => all.includes(secret) || all.includes(Buffer.from(secret).toString('base64')));
    expect(found).toEqual([]);
  });
});
