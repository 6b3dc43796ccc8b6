import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from './cli.js';
import { runCommand } from './lib/run-command.js';
import { startFaultServer, type FaultServer } from './testing/fault-server.js';
import { uploadTestImage } from './testing/oci-upload.js';
import { describeNeeding, kubectlRequirement, registryRequirement } from './testing/requirements.js';
import { startLocalRegistry as startRegistry, type LocalRegistry as RunningRegistry } from './lib/local-registry.js';
import { createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from './testing/temp-workspace.js';

// `status` and `images` against the real local registry, a real bare ops repo with overlays under
// kustomize's other file names, and a real source repo with history; then with ops repos that are
// not there or never answer.

const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';
const NOW = new Date('2026-11-30T12:00:00Z');
const REVISION = 'org.opencontainers.image.revision';

const gitEnv = (date: string) => ({
  ...hermeticEnv(),
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
  GIT_AUTHOR_DATE: date,
  GIT_COMMITTER_DATE: date,
});
const git = async (cwd: string, args: string[], date = '2026-11-01T00:00:00Z') => (await runCommand('git', args, { cwd, env: gitEnv(date) })).stdout.trim();

async function write(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

/** The base every overlay renders: status reads what the render deploys. */
const BASE = {
  'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
  'base/deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: halow\nspec:\n  template:\n    spec:\n      containers:\n        - name: halow\n          image: ${ECR}/engex/halow:bootstrap\n`,
};

const overlay = (tag: string, extra = '') =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: ${ECR}/engex/halow # the service\n    newTag: "${tag}"\n${extra}`;

// status reads what the overlay renders, so it needs kubectl as much as the registry.
describeNeeding([registryRequirement(), kubectlRequirement()], 'engex-ci status and images against a real registry and real git', () => {
  let registry: RunningRegistry;
  let tmp: string;
  let ops: string;
  let ws: TempWorkspace;
  /** Source commits, oldest first: c[0] init … c[3] HEAD of main. */
  const c: string[] = [];
  const servers: FaultServer[] = [];

  const run = async (argv: string[], env: Record<string, string> = {}, cwd = ws.root) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: hermeticEnv({ REGISTRY: registry.host, TMPDIR: tmp, ...env }),
      cwd,
      now: () => NOW,
    });
    return { code, stdout, stderr };
  };
  /** Shas and the registry's port vary between runs; the table's shape and values do not. */
  const stable = (text: string) => {
    let out = text.replaceAll(registry.host, '<registry>').replaceAll(ops, '<ops>');
    c.forEach((sha, i) => (out = out.replaceAll(sha, `<c${i}>`).replaceAll(sha.slice(0, 12), `<c${i}>`)));
    return out.replace(/sha256:[0-9a-f]{64}\b/g, 'sha256:<full digest>').replace(/sha256:[0-9a-f]{12}\b/g, 'sha256:<digest>');
  };

  beforeAll(async () => {
    registry = await startRegistry();
    tmp = await mkdtemp(join(tmpdir(), 'engex-status-test-'));
    ops = join(tmp, 'halow-ops.git');
    ws = await createTempWorkspace({
      git: true,
      config: {
        opsRepo: join(tmp, '{service}-ops.git'),
        deployTargets: [
          { branch: 'main', overlay: 'overlays/staging' },
          { branch: 'release/*', overlay: 'overlays/production' },
        ],
      },
      packages: { 'apps/halow': servicePackage('@engex/halow') },
    });
    c.push(await git(ws.root, ['rev-parse', 'HEAD']));
    for (const [i, date] of [
      [1, '2026-11-20T12:00:00Z'],
      [2, '2026-11-27T12:00:00Z'],
      [3, '2026-11-30T09:00:00Z'],
    ] as const) {
      await write(ws.root, { [`apps/halow/src/change-${i}.ts`]: `export const n = ${i};\n` });
      await git(ws.root, ['add', '.'], date);
      await git(ws.root, ['commit', '--quiet', '-m', `halow: change ${i}`], date);
      c.push(await git(ws.root, ['rev-parse', 'HEAD']));
    }
    // Images of c1 and c2 exist; HEAD (c3) has none yet, as when its build is still running.
    for (const i of [1, 2]) {
      await uploadTestImage(registry.host, 'engex/halow', c[i]!, { content: `halow ${i}`, labels: { [REVISION]: c[i]! }, created: `2026-11-2${i === 1 ? 0 : 7}T12:05:00Z` });
    }
    // The ops repo: staging runs c2 (kustomization.yml), production runs c1 (Kustomization).
    const work = join(tmp, 'ops-work');
    await mkdir(work);
    await git(work, ['init', '--quiet', '--initial-branch=main']);
    await write(work, { ...BASE, 'overlays/staging/kustomization.yml': overlay(c[2]!), 'overlays/production/Kustomization': overlay(c[1]!) });
    await git(work, ['add', '.']);
    await git(work, ['commit', '--quiet', '-m', 'deploy']);
    await git(tmp, ['clone', '--quiet', '--bare', work, ops]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await registry?.stop();
    await ws?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('status: one row per deploy target, each value from its source', async () => {
    const result = await run(['status']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(stable(result.stdout)).toMatchInlineSnapshot(`
      "SERVICE  TARGET                           DEPLOYED      AGE   BEHIND    IMAGE                NEWEST IMAGE                      SUBJECT
      halow    overlays/staging (main)          <c2>  3 d   1 (main)  sha256:<digest>  = deployed                        halow: change 2
      halow    overlays/production (release/*)  <c1>  10 d  2 (main)  sha256:<digest>  <c2> sha256:<digest>  halow: change 1
      "
    `);
  });

  it('status --format json: the same data for scripts', async () => {
    const result = await run(['deploy', 'status', '--project', 'halow', '--format', 'json']);
    expect(result.code).toBe(0);
    const data = JSON.parse(result.stdout) as { now: string; rows: Record<string, unknown>[] };
    expect(data.now).toBe(NOW.toISOString());
    expect(data.rows).toHaveLength(2);
    expect(data.rows[0]).toMatchObject({
      service: 'halow',
      target: { branch: 'main', overlay: 'overlays/staging' },
      deployed: { ok: true, value: { tag: c[2], file: 'overlays/staging/kustomization.yml' } },
      commit: { ok: true, value: { sha: c[2], subject: 'halow: change 2', committedAt: '2026-11-27T12:00:00.000Z', ageSeconds: 3 * 86_400 } },
      behind: { ok: true, value: 1 },
      branch: { ok: true, value: { name: 'main', head: c[3] } },
      image: { ok: true, value: { exists: true } },
      newest: { ok: true, value: 'deployed' },
    });
    expect(data.rows[1]).toMatchObject({
      deployed: { ok: true, value: { tag: c[1], file: 'overlays/production/Kustomization' } },
      behind: { ok: true, value: 2 },
      newest: { ok: true, value: { sha: c[2] } },
    });
  });

  it('status shows an ops repo path that does not exist as unreachable, and still reads the rest', async () => {
    const missing = await createTempWorkspace({ git: true, config: { opsRepo: join(tmp, 'no-such-ops.git') }, packages: { 'apps/halow': servicePackage('@engex/halow') } });
    try {
      const result = await run(['status', '--format', 'json'], {}, missing.root);
      expect(result.code).toBe(0);
      const row = (JSON.parse(result.stdout) as { rows: Record<string, { ok: boolean; reason?: string }>[] }).rows[0]!;
      expect(row['deployed']!.ok).toBe(false);
      expect(row['deployed']!.reason).toMatch(/^ops repo .*no-such-ops\.git unreachable: git clone failed \(exit 128\): fatal: repository '.*no-such-ops\.git' does not exist$/);
      expect(row['branch']).toMatchObject({ ok: true });
      const table = await run(['status'], {}, missing.root);
      expect(table.stdout).toMatch(/\n\[1\] ops repo \S+no-such-ops\.git unreachable: git clone failed/);
      // --ops-repo (what a local run passes) wins over the configured opsRepo.
      const local = await run(['status', '--format', 'json', '--ops-repo', join(tmp, '{service}-ops.git')], {}, missing.root);
      expect((JSON.parse(local.stdout) as { rows: Record<string, unknown>[] }).rows[0]).toMatchObject({ opsRepo: ops, deployed: { ok: true, value: { tag: c[2] } } });
    } finally {
      await missing.cleanup();
    }
  });

  it('status shows an ops repo that never answers as unreachable within ENGEX_CI_GIT_DEADLINE', async () => {
    const server = await startFaultServer({ behaviours: [{ kind: 'hang' }], lifetimeMs: 15_000 });
    servers.push(server);
    const hanging = await createTempWorkspace({
      git: true,
      // The workspace's ops repo (a service may not point elsewhere: issue 18's narrowing rule).
      config: { opsRepo: 'file:///dev/null' },
      packages: { 'apps/halow': servicePackage('@engex/halow') },
    });
    try {
      // URL_RULE accepts https/ssh/file only, so the http:// remote is set through git's own url rewriting.
      const result = await run(
        ['status', '--project', 'halow'],
        { ENGEX_CI_GIT_DEADLINE: '1.5', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `url.${server.url}/ops.git.insteadOf`, GIT_CONFIG_VALUE_0: 'file:///dev/null' },
        hanging.root,
      );
      expect(result.code).toBe(0);
      // The wait git's deadline reports, and no request after it by the server's clock: bounded, not hung.
      expect(result.stdout).toMatch(/unreachable: git clone of the ops repo on file:\/\/\/dev\/null did not finish within its 1\.5 s deadline \(waited \d+\.\d s\)/);
      expect(server.requests.length).toBeGreaterThan(0);
      expect(server.requests.filter((r) => r.at - server.requests[0]!.at >= 1500)).toEqual([]);
    } finally {
      await hanging.cleanup();
    }
  });

  it('status says why an overlay has no value: two kustomization files, no entry, a tag that is no commit; and an unreachable registry', async () => {
    const work = join(tmp, 'ops-odd');
    await mkdir(work);
    await git(work, ['init', '--quiet', '--initial-branch=main']);
    await write(work, {
      ...BASE,
      'overlays/staging/kustomization.yaml': overlay(c[2]!),
      'overlays/staging/kustomization.yml': overlay(c[2]!),
      'overlays/production/kustomization.yaml': overlay('bootstrap'),
      'overlays/qa/kustomization.yaml': 'kind: Kustomization\nimages:\n  - name: someone/else\n    newTag: x\n',
      // Issue 20, finding 1: the entry names the image without registry, kustomize does not apply
      // it, and the render still runs :bootstrap. Status says what the render says.
      'overlays/short/kustomization.yaml': `kind: Kustomization\nresources:\n  - ../../base\nimages:\n  - name: engex/halow\n    newTag: "${c[2]!}"\n`,
    });
    await git(work, ['add', '.']);
    await git(work, ['commit', '--quiet', '-m', 'odd']);
    const odd = await createTempWorkspace({
      git: true,
      config: {
        opsRepo: work,
        deployTargets: [
          { branch: 'main', overlay: 'overlays/staging' },
          { branch: 'release/*', overlay: 'overlays/production' },
          { branch: 'qa', overlay: 'overlays/qa' },
          { branch: 'x', overlay: 'overlays/none' },
          { branch: 'short', overlay: 'overlays/short' },
        ],
      },
      packages: { 'apps/halow': servicePackage('@engex/halow') },
    });
    try {
      const result = await run(['status'], { REGISTRY: '127.0.0.1:1', ENGEX_CI_REGISTRY_DEADLINE: '2' }, odd.root);
      expect(result.code).toBe(0);
      expect(result.stdout.replace(/\[(\d)\] (.*)/g, (_m, n: string, text: string) => `[${n}] ${text.replaceAll(work, '<ops>')}`)).toMatchInlineSnapshot(`
        "SERVICE  TARGET                           DEPLOYED   AGE  BEHIND  IMAGE  NEWEST IMAGE  SUBJECT
        halow    overlays/staging (main)          [1]        [2]  [2]     [2]    [3]           [2]
        halow    overlays/production (release/*)  bootstrap  [4]  [4]     [4]    [3]           [4]
        halow    overlays/qa (qa)                 [5]        [2]  [2]     [2]    [3]           [2]
        halow    overlays/none (x)                [6]        [2]  [2]     [2]    [3]           [2]
        halow    overlays/short (short)           bootstrap  [4]  [4]     [4]    [3]           [4]

        [1] overlays/staging has 2 kustomization files (kustomization.yaml, kustomization.yml); kustomize refuses that too, keep one
        [2] no deployed commit to look up (the ops repo value is missing)
        [3] unreachable: cannot reach registry 127.0.0.1:1: GET http://127.0.0.1:1/v2/engex/halow/tags/list: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1
        [4] tag bootstrap is not a commit sha
        [5] overlays/qa/kustomization.yaml renders no container of 460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow
        [6] overlays/none has no kustomization: expected one of kustomization.yaml, kustomization.yml, Kustomization; check deployTargets[].overlay
        "
      `);
    } finally {
      await odd.cleanup();
    }
  });

  it('status never prints a token from the ops repo URL, in the table or in JSON', async () => {
    const token = 'ghp_PlantedStatusToken000000000000000001';
    const url = `https://x-access-token:${token}@127.0.0.1:1/{service}-ops.git`;
    for (const format of ['table', 'json']) {
      const result = await run(['status', '--format', format, '--ops-repo', url]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('unreachable: git clone failed');
      expect(result.stdout + result.stderr).not.toContain(token);
      expect(result.stdout + result.stderr).not.toContain(token.slice(4));
    }
  });

  it('a registry that never answers: status shows it unreachable within ENGEX_CI_REGISTRY_DEADLINE, images exits 4', async () => {
    const server = await startFaultServer({ behaviours: [{ kind: 'hang' }], lifetimeMs: 20_000 });
    servers.push(server);
    const env = { REGISTRY: server.host, ENGEX_CI_REGISTRY_DEADLINE: '1' };
    const status = await run(['status', '--project', 'halow'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`unreachable: registry GET /v2/engex/halow/tags/list?n=1000 on ${server.host} did not finish within its 1.0 s deadline`);
    expect(status.stdout).toContain(`unreachable: registry HEAD /v2/engex/halow/manifests/${c[2]} on ${server.host} did not finish within its 1.0 s deadline`);
    // The ops repo and git values do not depend on the registry and are still read.
    expect(status.stdout).toMatch(/overlays\/staging \(main\)\s+[0-9a-f]{12}\s+3 d\s+1 \(main\)/);
    // One tags list and one HEAD per row, each given up at its own deadline (the waits status
    // reports), and nothing asked again: three deadlines, not a hang.
    expect(status.stdout.match(/within its 1\.0 s deadline \(waited \d+\.\d s\)/g)).toHaveLength(3);
    expect(server.requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual(
      [`HEAD /v2/engex/halow/manifests/${c[1]}`, `HEAD /v2/engex/halow/manifests/${c[2]}`, 'GET /v2/engex/halow/tags/list?n=1000'].sort(),
    );
    const images = await run(['images', '--project', 'halow'], env);
    expect(images.code).toBe(4);
    expect(images.stderr).toContain('did not finish within its 1.0 s deadline');
  });

  it('images: newest first with revision label, created, size and digest', async () => {
    const result = await run(['images', '--project', 'halow']);
    expect(result.code).toBe(0);
    expect(stable(result.stdout)).toMatchInlineSnapshot(`
      "CREATED               REVISION      SIZE   DIGEST                                                                   TAGS
      2026-11-27T12:05:00Z  <c2>  312 B  sha256:<full digest>  <c2>
      2026-11-20T12:05:00Z  <c1>  312 B  sha256:<full digest>  <c1>
      "
    `);
    const json = JSON.parse((await run(['image', 'list', '--project', 'halow', '--limit', '1', '--format', 'json'])).stdout) as { images: { tags: string[]; digest: string }[] };
    expect(json.images.map((i) => i.tags)).toEqual([[c[2]]]);
    expect(json.images[0]!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('images: a repository the registry does not know exits 1', async () => {
    const other = await createTempWorkspace({ packages: { 'apps/nothere': servicePackage('@engex/nothere') } });
    try {
      const result = await run(['images', '--project', 'nothere'], {}, other.root);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`repository engex/nothere does not exist on ${registry.host}`);
    } finally {
      await other.cleanup();
    }
  });
});
