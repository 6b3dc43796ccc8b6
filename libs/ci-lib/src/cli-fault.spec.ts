import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from './cli.js';
import { createEcrClient, readEcrCredentials } from './lib/ecr-credentials.js';
import { runCommand } from './lib/run-command.js';
import { startFaultServer, type FaultBehaviour, type FaultServer } from './testing/fault-server.js';
import { findRepoRoot } from './testing/requirements.js';
import { runCli, type CliRun } from './testing/run-cli.js';
import { createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from './testing/temp-workspace.js';

// The fault suite: every engex-ci network command against a peer that drips, hangs, throttles,
// truncates or resets, with small deadlines. Each must give up at its deadline (the wait it
// reports, and no request sent after it: the fault server's own record, not this test's clock),
// exit 4, and name the operation, the host and the time waited.

const SHA = '0123456789abcdef0123456789abcdef01234567';
const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';

/**
 * Gave up at its deadline: the wait engex-ci reports is the whole deadline (its own clock), and no
 * request reached the server after it (the server's record), so nothing was retried past it.
 */
function expectGaveUpAt(result: CliRun, server: FaultServer, deadlineMs: number): void {
  const waits = [...result.stderr.matchAll(/\(waited (\d+\.\d) s\)/g)].map((m) => Number(m[1]) * 1000);
  expect(waits.length).toBeGreaterThan(0);
  for (const ms of waits) expect(ms).toBeGreaterThanOrEqual(deadlineMs - 100);
  const first = server.requests[0]!.at;
  expect(server.requests.map((r) => r.at - first).filter((t) => t >= deadlineMs)).toEqual([]);
}

const run = (argv: string[], cwd: string, env: Record<string, string>, extra: Partial<CliIo> = {}): Promise<CliRun> =>
  runCli(argv, { env, cwd, now: () => new Date('2026-11-30T10:00:00Z'), ...extra });

const servers: FaultServer[] = [];
async function fault(...behaviours: FaultBehaviour[]): Promise<FaultServer> {
  const server = await startFaultServer({ behaviours, lifetimeMs: 15_000 });
  servers.push(server);
  return server;
}

let ws: TempWorkspace;
let tmp: string;
beforeAll(async () => {
  ws = await createTempWorkspace({ git: true, packages: { 'apps/halow': servicePackage('@engex/halow', { port: 3000 }) } });
  tmp = await mkdtemp(join(tmpdir(), 'engex-fault-tmp-'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await ws?.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

const leftovers = async () => (await readdir(tmp)).filter((n) => n.startsWith('engex-bump-'));

describe('image exists against a faulty registry', () => {
  it.each([
    ['drips one byte every 300 ms', { kind: 'drip', intervalMs: 300 } as const],
    ['accepts and never answers', { kind: 'hang' } as const],
  ])('ends at ENGEX_CI_REGISTRY_DEADLINE when the registry %s (exit 4)', async (_name, behaviour) => {
    const server = await fault(behaviour);
    const result = await run(['image', 'exists', '--project', 'halow'], ws.root, hermeticEnv({ REGISTRY: server.host, BUILDKITE_COMMIT: SHA, ENGEX_CI_REGISTRY_DEADLINE: '1.5' }));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      new RegExp(`registry (HEAD|GET) /v2/engex/halow/manifests/${SHA} on 127\\.0\\.0\\.1:${server.port} did not finish within its 1\\.5 s deadline \\(waited \\d+\\.\\d s\\)`),
    );
    expectGaveUpAt(result, server, 1500);
  });

  it('waits out a 429 with Retry-After: 1 and answers (was exit 4 after one request)', async () => {
    const server = await fault({ kind: 'status', status: 429, retryAfter: '1' }, { kind: 'ok', headers: { 'Docker-Content-Digest': `sha256:${'e'.repeat(64)}` } });
    const result = await run(['image', 'exists', '--project', 'halow'], ws.root, hermeticEnv({ REGISTRY: server.host, BUILDKITE_COMMIT: SHA }));
    expect(result).toMatchObject({ code: 0, stdout: `exists ${server.host}/engex/halow:${SHA}@sha256:${'e'.repeat(64)}\n` });
    // The retry came after the second the registry asked for, by the server's clock.
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('rejects a bad deadline value with the variable name (exit 2)', async () => {
    const result = await run(['image', 'exists', '--project', 'halow'], ws.root, hermeticEnv({ REGISTRY: '127.0.0.1:1', BUILDKITE_COMMIT: SHA, ENGEX_CI_REGISTRY_DEADLINE: '0' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('environment: ENGEX_CI_REGISTRY_DEADLINE: expected seconds between 0 and 86400');
  });
});

describe('images and ecr check against a registry whose tag pages never end', () => {
  // The registry: `{"tags":[]}` with a next link, forever. It took about 100k requests in
  // 20 s before; now the first page that cannot advance ends the command.
  const endless: FaultBehaviour = {
    kind: 'ok',
    headers: { 'Content-Type': 'application/json', Link: '</v2/engex/halow/tags/list?n=1000&last=>; rel="next"' },
    body: '{"tags":[]}',
  };

  it.each([
    ['images', ['images', '--project', 'halow'], [endless]],
    ['ecr check', ['ecr', 'check', '--project', 'halow'], [{ kind: 'ok', body: '{}' } as const, endless]],
  ] as const)('%s exits 4 naming the link, after a handful of requests', async (_name, argv, behaviours) => {
    const server = await fault(...behaviours);
    const result = await run([...argv], ws.root, hermeticEnv({ REGISTRY: server.host, BUILDKITE_COMMIT: SHA }));
    expect(result.code, result.stderr).toBe(4);
    expect(result.stdout + result.stderr).toContain("has no tags but links to next /v2/engex/halow/tags/list?n=1000&last=; the registry's pagination does not advance");
    expect(server.requests.length).toBeLessThanOrEqual(3);
  });
});

describe('the ECR API against a faulty AWS endpoint (the real SDK client)', () => {
  const testCredentials = { accessKeyId: 'AKIAFAULTTESTKEY0001', secretAccessKey: 'faultTestSecretKey/not+real0000000000000' };
  const sdk: CliIo['ecrClient'] = (region, options) => createEcrClient(region, { ...options, credentials: testCredentials });

  // `ecr check` asks DescribeRepositories; `image exists` (like image push) first asks
  // GetAuthorizationToken for the registry login. Both end at the AWS deadline and say how long they waited.
  it.each([
    ['ecr check', 'DescribeRepositories', 'accepts and never answers', { kind: 'hang' } as const],
    ['ecr check', 'DescribeRepositories', 'drips one byte every 300 ms', { kind: 'drip', intervalMs: 300 } as const],
    ['image exists', 'GetAuthorizationToken', 'accepts and never answers', { kind: 'hang' } as const],
    ['image exists', 'GetAuthorizationToken', 'drips one byte every 300 ms', { kind: 'drip', intervalMs: 300 } as const],
  ])('%s: %s ends at ENGEX_CI_AWS_DEADLINE when the endpoint %s (exit 4)', async (command, operation, _name, behaviour) => {
    const server = await fault(behaviour);
    const argv = [...command.split(' '), '--project', 'halow'];
    const result = await run(argv, ws.root, hermeticEnv({ BUILDKITE_COMMIT: SHA, AWS_ENDPOINT_URL_ECR: server.url, ENGEX_CI_AWS_DEADLINE: '1.5' }), { ecrClient: sdk });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(new RegExp(`ECR ${operation} on http://127\\.0\\.0\\.1:${server.port} did not finish within its 1\\.5 s deadline \\(waited \\d+\\.\\d s\\)`));
    expect(server.requests[0]!.headers['x-amz-target']).toBe(`AmazonEC2ContainerRegistry_V20150921.${operation}`);
    expectGaveUpAt(result, server, 1500);
    expect(result.stderr).not.toContain(testCredentials.secretAccessKey);
  });

  it('reads the GetAuthorizationToken answer of the endpoint (the registry login of image push)', async () => {
    const token = Buffer.from('AWS:fault-suite-ecr-password-123').toString('base64');
    const server = await fault({
      kind: 'ok',
      headers: { 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ authorizationData: [{ authorizationToken: token, expiresAt: 1_796_036_400, proxyEndpoint: `https://${ECR}` }] }),
    });
    const client = await sdk('us-east-1', { deadlineMs: 10_000, endpoint: server.url });
    const credentials = await readEcrCredentials(client, { deadlineMs: 10_000, host: server.url });
    expect([credentials.username, credentials.password.reveal(), credentials.expiresAt?.toISOString()]).toEqual([
      'AWS',
      'fault-suite-ecr-password-123',
      '2026-11-30T11:00:00.000Z',
    ]);
    expect(server.requests[0]!.headers['x-amz-target']).toBe('AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
  });
});

describe('deploy bump against a faulty git server', () => {
  it.each([
    ['accepts and never answers', { kind: 'hang' } as const],
    ['drips one byte every 300 ms', { kind: 'drip', intervalMs: 300 } as const],
  ])('ends at ENGEX_CI_GIT_DEADLINE when the server %s, and leaves no temp clone (exit 4)', async (_name, behaviour) => {
    const server = await fault(behaviour);
    const repo = `http://x-access-token:ghp_FaultSuiteToken0000000000000000000001@127.0.0.1:${server.port}/ops.git`;
    const result = await run(
      ['deploy', 'bump', '--repo', repo, '--path', 'overlays/staging/kustomization.yaml', '--image', `${ECR}/engex/halow`, '--tag', SHA],
      ws.root,
      hermeticEnv({ BUILDKITE_COMMIT: SHA, ENGEX_CI_GIT_DEADLINE: '1.5', TMPDIR: tmp }),
    );
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(new RegExp(`deploy bump \\(git clone\\) on 127\\.0\\.0\\.1:${server.port} did not finish within its 1\\.5 s deadline \\(waited \\d+\\.\\d s\\)`));
    expectGaveUpAt(result, server, 1500);
    expect(server.requests[0]!.url).toMatch(/^\/ops\.git\/info\/refs/);
    expect(`${result.stdout}${result.stderr}`).not.toContain('ghp_FaultSuiteToken');
    expect(await leftovers()).toEqual([]);
  });

  it('a SIGTERM removes the temp clone and kills git (the real process)', async () => {
    const server = await fault({ kind: 'hang' });
    const root = findRepoRoot();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions',
        '@engex/source',
        join(root, 'libs/ci-lib/src/bin.ts'),
        '--workspace',
        ws.root,
        'deploy',
        'bump',
        '--repo',
        `${server.url}/ops.git`,
        '--path',
        'k.yaml',
        '--image',
        'x',
        '--tag',
        SHA,
      ],
      // cwd is the repo root so `--import tsx` resolves.
      { cwd: root, env: hermeticEnv({ BUILDKITE_COMMIT: SHA, TMPDIR: tmp, ENGEX_CI_GIT_DEADLINE: '30' }), stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await server.waitForRequests(1);
    expect(await leftovers()).toHaveLength(1);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(await leftovers()).toEqual([]);
    const gits = await runCommand('pgrep', ['-f', `${server.url}/ops.git`], { allowFailure: true });
    expect(gits.stdout.trim()).toBe('');
  });
});
