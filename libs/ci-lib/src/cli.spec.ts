import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from './cli.js';
import { COMMANDS, type CommandSpec } from './cli/commands.js';
import type { Docker } from './lib/docker.js';
import { runCommand } from './lib/run-command.js';
import { startFaultServer, type FaultServer } from './testing/fault-server.js';
import { bundleFiles, createTempWorkspace, hermeticEnv, servicePackage, type TempWorkspace } from './testing/temp-workspace.js';
import { describeNeeding, findRepoRoot, kubectlRequirement, sharedRequirement } from './testing/requirements.js';
import { seedOpsRepo } from './testing/ops-repo.js';
import { runCli, type CliRun } from './testing/run-cli.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const ECR = '460210468233.dkr.ecr.us-east-1.amazonaws.com';

const run = (argv: string[], options: { cwd: string; env?: Record<string, string>; now?: Date; docker?: Docker; ecrClient?: CliIo['ecrClient'] }): Promise<CliRun> =>
  runCli(argv, {
    ...options,
    env: options.env ?? hermeticEnv(),
    now: () => options.now ?? new Date('2026-11-27T10:00:00Z'),
    retry: { sleep: async () => {}, random: () => 0.5 },
  });

let ws: TempWorkspace;
beforeAll(async () => {
  ws = await createTempWorkspace({
    git: true,
    packages: {
      'apps/halow': servicePackage('@engex/halow', { description: 'halow HTTP service', port: 3000 }),
      'apps/billing': servicePackage('@engex/billing', { repository: 'engex/billing/api' }),
      'libs/ci-lib': { name: '@engex/ci-lib', nx: { tags: [] } },
    },
  });
});
afterAll(async () => ws?.cleanup());

describe('engex-ci help and usage errors', () => {
  it('--help exits 0 and lists every command', async () => {
    const result = await run(['--help'], { cwd: ws.root });
    expect(result.code).toBe(0);
    for (const command of ['image build', 'image push', 'image exists', 'image smoke', 'scan report', 'deploy bump', 'ecr check']) {
      expect(result.stdout).toContain(`engex-ci ${command}`);
    }
    expect(result.stderr).toBe('');
  });

  it('each subcommand has its own help', async () => {
    const result = await run(['deploy', 'bump', '--help'], { cwd: ws.root });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: engex-ci deploy bump --repo <git-url> \[--overlay <dir>\] \[--path <file>\] --image <name>/);
  });

  it('prints every help page whole: the redaction every line passes leaves help text alone', async () => {
    const pages = [['--help'], ...(COMMANDS as readonly CommandSpec[]).map((c) => [...c.name.split(' '), '--help'])];
    for (const argv of pages) {
      const result = await run(argv, { cwd: ws.root });
      expect(result.code).toBe(0);
      expect(result.stdout, argv.join(' ')).not.toContain('***');
    }
    const serve = await run(['nx-cache', 'serve', '--help'], { cwd: ws.root });
    expect(serve.stdout).toContain('Tokens (Authorization: Bearer): ENGEX_NX_CACHE_WRITE_TOKEN may read and write');
  });

  it.each([
    [['image', 'build', '--projct', 'halow'], 'engex-ci: image build: unknown flag --projct; did you mean --project?'],
    [['image', 'push'], 'engex-ci: image push: missing --project <p>'],
    [['scan', 'report', 'x.json', '--fail-on', 'SEVERE'], 'engex-ci: --fail-on: expected a comma-separated list of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL, got "SEVERE"'],
    [['image', 'exists', '--project', 'nope'], 'engex-ci: --project "nope": no such project; services in this workspace: @engex/billing, @engex/halow'],
    [['image', 'exists', '--project', 'ci-lib'], 'engex-ci: --project "ci-lib": @engex/ci-lib is not a deployable service (no "engex:service" tag in libs/ci-lib/package.json)'],
    [['image', 'exists', '--project', 'halow', '--workspace', '/nonexistent'], 'engex-ci: --workspace /nonexistent: no nx.json in /nonexistent'],
  ])('%j exits 2 naming the bad flag or value', async (argv, message) => {
    const result = await run(argv, { cwd: ws.root });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('names every bad environment variable (exit 2)', async () => {
    const result = await run(['image', 'exists', '--project', 'halow'], { cwd: ws.root, env: hermeticEnv({ BUILDKITE_COMMIT: 'abc', SOURCE_DATE_EPOCH: 'now' }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('environment: BUILDKITE_COMMIT: expected a full 40-character lowercase commit sha (or HEAD), got "abc"');
    expect(result.stderr).toContain('environment: SOURCE_DATE_EPOCH: expected whole seconds since 1970-01-01 UTC, got "now"');
  });

  it('reports an invalid engex.config.json with its path (exit 2)', async () => {
    const bad = await createTempWorkspace({ config: { registry: { account: '4602' } }, packages: { 'apps/halow': servicePackage('@engex/halow') } });
    const result = await run(['image', 'exists', '--project', 'halow'], { cwd: join(bad.root, 'apps/halow'), env: hermeticEnv({ BUILDKITE_COMMIT: SHA }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('engex.config.json: registry.account: expected a 12-digit AWS account id, got "4602"');
    await bad.cleanup();
  });

  it('refuses a workspace without engex.config.json, naming the file (exit 2, no stack)', async () => {
    const none = await createTempWorkspace({ config: null, packages: { 'apps/halow': servicePackage('@engex/halow') } });
    const result = await run(['image', 'exists', '--project', 'halow'], { cwd: none.root, env: hermeticEnv({ BUILDKITE_COMMIT: SHA }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`engex.config.json: (root): not found in ${none.root}`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    await none.cleanup();
  });

  it('reports a config path that is a directory cleanly (exit 2, no stack)', async () => {
    const dirConfig = await createTempWorkspace({ config: null, files: { 'engex.config.json/.keep': '' }, packages: { 'apps/halow': servicePackage('@engex/halow') } });
    const result = await run(['image', 'exists', '--project', 'halow'], { cwd: dirConfig.root, env: hermeticEnv({ BUILDKITE_COMMIT: SHA }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('engex.config.json: (root): is a directory, expected a JSON file');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    await dirConfig.cleanup();
  });

  it('maps an unexpected error to exit 4 with its stack', async () => {
    const broken = { inspectImage: async () => Promise.reject(new TypeError('engine exploded')), buildxAvailable: async () => true } as unknown as Docker;
    const withBundle = await createTempWorkspace({
      packages: { 'apps/halow': servicePackage('@engex/halow') },
      files: { 'apps/halow/dist/main.cjs': '', ...bundleFiles('apps/halow'), 'docker/Dockerfile': 'FROM scratch\n' },
    });
    const result = await run(['image', 'build', '--project', 'halow'], { cwd: withBundle.root, env: hermeticEnv({ BUILDKITE_COMMIT: SHA }), docker: broken });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/unexpected error \(treated as infrastructure failure, exit 4\):\nTypeError: engine exploded/);
    await withBundle.cleanup();
  });
});

describe('engex-ci --version', () => {
  it('prints the package version and the commit bin.ts read', async () => {
    let stdout = '';
    const io = { stdout: (t: string) => (stdout += t), stderr: () => undefined, env: {}, cwd: '/', now: () => new Date(0) };
    expect(await main(['--version'], { ...io, build: () => ({ name: 'engex-ci', version: '0.0.0', commit: SHA }) })).toBe(0);
    expect(stdout).toBe(`engex-ci 0.0.0 (commit ${SHA})\n`);
  });
});

describe('engex-ci image commands: service, commit and references', () => {
  // A registry that has nothing: `image exists` names the reference it asked for.
  let registry: FaultServer;
  beforeAll(async () => {
    registry = await startFaultServer({ behaviours: [{ kind: 'status', status: 404 }] });
  });
  afterAll(async () => registry?.close());

  it('finds the service by folder or project name', async () => {
    const byFolder = await run(['image', 'exists', '--project', 'halow'], { cwd: join(ws.root, 'apps'), env: hermeticEnv({ BUILDKITE_COMMIT: SHA, REGISTRY: registry.host }) });
    expect(byFolder).toEqual({ code: 1, stderr: '', stdout: `absent ${registry.host}/engex/halow:${SHA}\n` });
    const byName = await run(['image', 'exists', '--project', '@engex/billing'], { cwd: ws.root, env: hermeticEnv({ BUILDKITE_COMMIT: SHA, REGISTRY: registry.host }) });
    expect(byName.stdout).toBe(`absent ${registry.host}/engex/billing/api:${SHA}\n`);
    expect(registry.requests.map((r) => r.url)).toContain(`/v2/engex/billing/api/manifests/${SHA}`);
  });

  it('uses the workspace HEAD when BUILDKITE_COMMIT is unset or HEAD', async () => {
    for (const env of [hermeticEnv({ REGISTRY: registry.host }), hermeticEnv({ BUILDKITE_COMMIT: 'HEAD', REGISTRY: registry.host })]) {
      const result = await run(['image', 'exists', '--project', 'halow', '--workspace', ws.root], { cwd: tmpdir(), env });
      expect(result.stdout).toBe(`absent ${registry.host}/engex/halow:${ws.head}\n`);
    }
  });

  it('an AWS failure behind the ECR registry is exit 4 with the SDK error name', async () => {
    const failing: CliIo['ecrClient'] = async () => ({
      send: async () => Promise.reject(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException' })),
    });
    const result = await run(['image', 'exists', '--project', 'halow'], { cwd: ws.root, env: hermeticEnv({ BUILDKITE_COMMIT: SHA }), ecrClient: failing });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('ECR GetAuthorizationToken failed: ExpiredTokenException: The security token included in the request is expired');
  });

  it('refuses to build without the bundle', async () => {
    const result = await run(['image', 'build', '--project', 'halow'], { cwd: ws.root, env: hermeticEnv({ BUILDKITE_COMMIT: SHA }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('apps/halow/dist does not exist; build the bundle first: npx nx run @engex/halow:build');
  });
});

describe('engex-ci scan report', () => {
  const fixtures = sharedRequirement('fixtures/trivy');
  const alpine = () => join(fixtures.path, 'alpine-39-high-critical.json');

  describeNeeding([fixtures], 'on the shared Trivy fixtures', () => {
    it('exits 1 on a failing report, writing the annotation', async () => {
      const out = join(ws.root, 'annotation.md');
      const result = await run(['scan', 'report', alpine(), '--annotation', 'annotation.md'], { cwd: ws.root });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('annotation written to annotation.md');
      expect(result.stderr).toContain('engex-ci: scan: FAILED testdata/fixtures/images/alpine-39.tar.gz: 2 findings at HIGH,CRITICAL (2 CRITICAL, 0 HIGH)');
      const markdown = await readFile(out, 'utf8');
      expect(markdown).toContain('### :x: Trivy: 2 findings fail the policy');
      expect(markdown).toContain('**Trivy:** 0.58.2 \\(pinned\\)');
    });

    it('exits 0 on a passing report, Markdown on stdout', async () => {
      const result = await run(['scan', 'report', join(fixtures.path, 'npm-lockfile-medium.json')], { cwd: ws.root });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^### :white_check_mark: Trivy: passed\n/);
      expect(result.stderr).toBe('scan: passed testdata/fixtures/repo/npm (no unwaived findings at HIGH,CRITICAL)\n');
    });

    it('merges a trivy sbom report into the same verdict; a missing one is exit 2', async () => {
      const npm = join(fixtures.path, 'npm-lockfile-medium.json');
      const merged = await run(['scan', 'report', npm, '--sbom-report', alpine()], { cwd: ws.root });
      expect(merged.code).toBe(1);
      expect(merged.stderr).toContain('scan: FAILED testdata/fixtures/repo/npm + testdata/fixtures/images/alpine-39.tar.gz: 2 findings at HIGH,CRITICAL');
      expect(merged.stdout).toContain('| Severity | Found in | Title |');
      expect(merged.stdout).toContain('| CRITICAL | bundled npm (SBOM) |');
      const missing = await run(['scan', 'report', npm, '--sbom-report', 'nope.json'], { cwd: ws.root });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('nope.json');
    });

    it('honours the workspace .trivyignore until its expiry date (the date passed in)', async () => {
      await writeFile(join(ws.root, '.trivyignore'), 'CVE-2019-14697 exp:2026-12-01\n');
      try {
        expect((await run(['scan', 'report', alpine()], { cwd: ws.root, now: new Date('2026-11-30T23:00:00Z') })).code).toBe(0);
        expect((await run(['scan', 'report', alpine()], { cwd: ws.root, now: new Date('2026-12-01T00:00:00Z') })).code).toBe(1);
      } finally {
        await rm(join(ws.root, '.trivyignore'));
      }
    });
  });

  it('an unreadable or invalid report is exit 2, never a pass', async () => {
    const missing = await run(['scan', 'report', 'missing.json'], { cwd: ws.root });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing.json is not a usable Trivy report (1 problem):\n  cannot be read: ENOENT');
    await writeFile(join(ws.root, 'v1.json'), JSON.stringify({ SchemaVersion: 1, Results: [] }));
    const v1 = await run(['scan', 'report', 'v1.json'], { cwd: ws.root });
    expect(v1.code).toBe(2);
    expect(v1.stderr).toContain('SchemaVersion: expected 2');
  });
});

describeNeeding([kubectlRequirement()], 'engex-ci deploy bump', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-cli-ops-'));
    // The bump renders the overlay (kubectl kustomize) to prove it.
    await seedOpsRepo(dir, `${ECR}/engex/halow`, {
      'overlays/staging/kustomization.yaml': `kind: Kustomization\n# bumped by CI\nresources:\n  - ../../base\nimages:\n  - name: ${ECR}/engex/halow\n    newTag: old\n`,
    });
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('bumps, then reports "already at" without a commit', async () => {
    const argv = ['deploy', 'bump', '--repo', join(dir, 'ops.git'), '--overlay', 'overlays/staging', '--image', `${ECR}/engex/halow`, '--tag', SHA, '--project', 'halow'];
    const env = hermeticEnv({ BUILDKITE_BUILD_URL: 'https://buildkite.com/highspot/engex/builds/9' });
    const first = await run(argv, { cwd: ws.root, env });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(
        `^bumped overlays/staging/kustomization\\.yaml ${ECR.replace(/\./g, '\\.')}/engex/halow: old → ${SHA} in .*ops\\.git \\(main\\) commit=[0-9a-f]{40} attempts=1\\n$`,
      ),
    );
    const message = (await runCommand('git', ['log', '-1', '--format=%B', 'main'], { cwd: join(dir, 'ops.git') })).stdout;
    expect(message).toContain('Build: https://buildkite.com/highspot/engex/builds/9');
    expect(message).toContain(`Service: halow\nChange: old -> ${SHA}`);
    expect(first.stderr).toContain('runs old: its tag is not a commit sha; nothing to roll back from, deploying');
    expect(first.stderr).toContain(`rendered by kubectl kustomize: Deployment/halow spec.template.spec.containers[0] (halow) ${ECR}/engex/halow:${SHA}`);
    expect(message).toContain(`Source: https://github.com/highspot/halow/commit/${SHA}`);
    const second = await run(argv, { cwd: ws.root, env });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^already at 0123456789abcdef0123456789abcdef01234567: overlays\/staging\/kustomization\.yaml .* \(main\); no commit\n$/);
  });

  it('checks for kubectl or kustomize before cloning, and --skip-render bumps without the proof, saying so', async () => {
    // A PATH with git and nothing else: no kubectl, no kustomize.
    const bin = await mkdtemp(join(dir, 'bin-'));
    const git = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
    await runCommand('ln', ['-s', git, join(bin, 'git')]);
    const argv = ['deploy', 'bump', '--repo', join(dir, 'ops.git'), '--overlay', 'overlays/staging', '--image', `${ECR}/engex/halow`, '--tag', 'e'.repeat(40)];
    const env = hermeticEnv({ PATH: bin });
    const missing = await run(argv, { cwd: ws.root, env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('neither kubectl nor kustomize runs here (kubectl version --client: not found; kustomize version: not found)');
    expect(missing.stderr).toContain('or pass --skip-render');
    const skipped = await run([...argv, '--skip-render', '--allow-rollback'], { cwd: ws.root, env });
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toContain('not proven by a render (--skip-render)');
    expect(skipped.stdout).toMatch(/^bumped overlays\/staging\/kustomization\.yaml .* → e{40} in /);
  });

  it('takes the digest from --digest-file into the commit, and refuses a file without one', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    await mkdir(join(ws.root, 'reports/image'), { recursive: true });
    await writeFile(join(ws.root, 'reports/image/halow.digest'), `${digest}\n`);
    const newer = 'fedcba9876543210fedcba9876543210fedcba98';
    const argv = [
      'deploy',
      'bump',
      '--repo',
      join(dir, 'ops.git'),
      '--overlay',
      'overlays/staging',
      '--image',
      `${ECR}/engex/halow`,
      '--tag',
      newer,
      '--project',
      'halow',
      '--allow-rollback',
    ];
    const bumped = await run([...argv, '--digest-file', 'reports/image/halow.digest', '--ops-commit-file', 'reports/deploy/halow.ops-commit'], {
      cwd: ws.root,
      env: hermeticEnv({}),
    });
    expect(bumped.code, bumped.stderr).toBe(0);
    const opsHead = (await runCommand('git', ['rev-parse', 'main'], { cwd: join(dir, 'ops.git') })).stdout.trim();
    expect(await readFile(join(ws.root, 'reports/deploy/halow.ops-commit'), 'utf8')).toBe(`${opsHead}\n`);
    expect((await runCommand('git', ['log', '-1', '--format=%B', 'main'], { cwd: join(dir, 'ops.git') })).stdout).toContain(digest);
    await writeFile(join(ws.root, 'reports/image/halow.digest'), 'not a digest\n');
    const bad = await run([...argv, '--digest-file', 'reports/image/halow.digest'], { cwd: ws.root, env: hermeticEnv({}) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--digest-file reports/image/halow.digest: expected sha256:<64 hex>, got "not a digest"');
  });

  it('a path outside the repo is exit 2 and pushes nothing', async () => {
    const before = (await runCommand('git', ['rev-parse', 'main'], { cwd: join(dir, 'ops.git') })).stdout;
    const result = await run(['deploy', 'bump', '--repo', join(dir, 'ops.git'), '--path', '../escape.yaml', '--image', 'x', '--tag', SHA], { cwd: ws.root });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('overlay "../escape.yaml" must be a relative path inside the ops repo');
    expect((await runCommand('git', ['rev-parse', 'main'], { cwd: join(dir, 'ops.git') })).stdout).toBe(before);
  });
});

describe('engex-ci scan report on a huge report', () => {
  it('writes an annotation under 1 MiB from a 10 MB report, with the verdict and counts', async () => {
    const vulnerabilities = Array.from({ length: 60 }, (_, i) => ({
      VulnerabilityID: `CVE-2026-${String(i).padStart(4, '0')}`,
      PkgName: 'openssl',
      InstalledVersion: '1.0.0',
      FixedVersion: '1.0.1',
      Severity: 'CRITICAL',
      Title: `huge ${'ж'.repeat(90_000)}`,
    }));
    const report = { SchemaVersion: 2, ArtifactName: 'engex/halow', ArtifactType: 'container_image', Results: [{ Target: 'x', Vulnerabilities: vulnerabilities }] };
    await writeFile(join(ws.root, 'huge.json'), JSON.stringify(report));
    const result = await run(['scan', 'report', 'huge.json', '--annotation', 'huge.md'], { cwd: ws.root });
    expect(result.code).toBe(1);
    const markdown = await readFile(join(ws.root, 'huge.md'));
    expect(markdown.length).toBeLessThan(1024 * 1024);
    const text = markdown.toString('utf8');
    expect(text.split('\n')[0]).toBe('### :x: Trivy: 60 findings fail the policy');
    expect(text).toContain('| :red_circle: CRITICAL | 60 | 60 |');
    expect(text).toContain('…and 10 more failing findings; the full list is in the JSON report artifact.');
  });
});

describe('the engex-ci process', () => {
  it('exits with the code main returns (help 0, usage 2)', () => {
    const root = findRepoRoot();
    const bin = join(root, 'libs/ci-lib/src/bin.ts');
    const node = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--conditions', '@engex/source', bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const help = node(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: engex-ci <command> [flags]');
    const bad = node(['image', 'build', '--nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('engex-ci: image build: unknown flag --nope');
  });
});
