import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding, dockerRequirement, registryRequirement } from '@engex/ci-lib/testing';
import { REPO_ROOT } from './schema.js';
import { writeStubTools } from './stub-tools.js';

/**
 * Every step of the generated pipelines, run by `run --local` as uploaded text: interpolated,
 * joined, under `bash -e -c`, each in a fresh clone (nothing gitignored), with the local
 * `buildkite-agent`, the plugin emulations and each queue's environment. npm, npx, engex-ci and
 * docker's image work are stubs (test/stub-tools.ts) that, like the real tools, create no
 * folders: this test is about the shell text and the agent contract. The real tools run in
 * tools/e2e. Covers a halow change on main, on release/*, in a pull request, and --all.
 */

const CLI = join(REPO_ROOT, 'tools/pipeline-generator/src/bin.ts');
const TSX = pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

const git = (cwd: string, ...args: string[]): string => {
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

interface Run {
  code: number | null;
  stderr: string;
  runDir: string;
  registry: string;
}

describeNeeding([dockerRequirement(), registryRequirement()], 'every generated step as uploaded text', { timeout: 900_000 }, () => {
  const parent = mkdtempSync(join(tmpdir(), 'engex-uploaded-'));
  const ws = join(parent, 'ws');
  let stubs: { bin: string; calls: string };
  let sha: string;

  beforeAll(() => {
    git(parent, 'clone', '--quiet', REPO_ROOT, ws);
    git(ws, 'checkout', '--quiet', '-B', 'main', git(REPO_ROOT, 'rev-parse', 'HEAD'));
    // The generator reads the Nx graph with this repo's installed plugins; agents never see them.
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(ws, 'node_modules'));
    appendFileSync(join(ws, '.git/info/exclude'), 'node_modules\n');
    // The trusted queues' agent guard runs the host's engex-ci (the test target builds it first).
    mkdirSync(join(ws, 'libs/ci-lib/dist'), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'libs/ci-lib/dist/engex-ci.cjs'), join(ws, 'libs/ci-lib/dist/engex-ci.cjs'));
    appendFileSync(join(ws, 'apps/halow/src/app.ts'), '// a halow change\n');
    git(ws, 'commit', '--quiet', '-am', 'change halow');
    sha = git(ws, 'rev-parse', 'HEAD');
    const realDocker = spawnSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();
    stubs = writeStubTools(join(parent, 'stubs'), realDocker);
  }, 120_000);
  afterAll(() => rmSync(parent, { recursive: true, force: true }), 120_000);

  const runLocal = (name: string, args: string[], env: Record<string, string>, deps = join(parent, 'deps')): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--conditions=@engex/source', '--import', TSX, CLI, 'run', '--local', '--deps-cache', deps, ...args], {
        cwd: ws,
        env: {
          PATH: `${stubs.bin}:${process.env['PATH'] ?? ''}`,
          HOME: process.env['HOME'] ?? parent,
          NX_DAEMON: 'false',
          NX_NO_CLOUD: 'true',
          ENGEX_LOCAL_STATE: join(parent, `state-${name}`),
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({
          code,
          stderr,
          runDir: /Logs, annotations and artifacts: (.+)$/m.exec(stderr)?.[1] ?? '',
          registry: /^Registry (\S+) started/m.exec(stderr)?.[1] ?? '',
        }),
      );
    });

  const explain = (r: Run): string => `exit ${r.code}\n${r.stderr.slice(-8000)}`;
  const log = (r: Run, key: string): string => readFileSync(join(r.runDir, 'logs', `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.log`), 'utf8');
  const uploadedCommands = (r: Run, key: string): string[] => {
    type Step = { key: string; steps?: Step[]; commands?: { kind: string }[] };
    const steps = (JSON.parse(readFileSync(join(r.runDir, 'pipeline.json'), 'utf8')) as { steps: Step[] }).steps.flatMap((s) => s.steps ?? [s]);
    return steps.find((s) => s.key === key)?.commands?.map((c) => c.kind) ?? [];
  };
  const ran = (r: Run): string[] => [...r.stderr.matchAll(/^ {4}ok (.+?) in /gm)].map((m) => m[1] as string);

  /** No step failed or was left unrun; every command step's log shows its shell lines and ran in its own clone. */
  const expectAllPassed = (r: Run): void => {
    expect(r.code, explain(r)).toBe(0);
    expect(r.stderr).not.toMatch(/^ {4}(FAILED|not run|INTERRUPTED) /m);
    for (const file of readdirSync(join(r.runDir, 'logs'))) expect(readFileSync(join(r.runDir, 'logs', file), 'utf8')).toMatch(/^~~~ Running commands\n\$ /m);
  };

  it('a halow change on main: image (with its smoke test), scan and the staging deploy run their literal text', async () => {
    const r = await runLocal('main', ['--base', 'HEAD~1'], { BUILDKITE_BRANCH: 'main' });
    expectAllPassed(r);
    expect(ran(r)).toEqual(expect.arrayContaining([':docker: image halow', ':shield: scan halow', ':rocket: deploy halow to overlays/staging']));
    // The smoke test is the image job's last command, after the push.
    const image = log(r, 'engex-halow:image');
    expect(image.indexOf('image smoke --project @engex/halow')).toBeGreaterThan(image.indexOf('image push --project @engex/halow'));
    expect(image.indexOf('image push --project @engex/halow')).toBeGreaterThan(-1);
    // The image job starts from the build job's artifacts: engex-ci, the bundle and its SBOM; no install, no Nx.
    expect(image).toContain('$ buildkite-agent artifact download libs/ci-lib/dist/engex-ci.cjs . --step engex-halow:build');
    expect(image).toContain('$ buildkite-agent artifact download apps/halow/dist/sbom.cdx.json . --step engex-halow:build');
    expect(image).toContain('image build --project @engex/halow --source-date-epoch commit --built-sbom');
    expect(image).not.toMatch(/^\$ .*(npm ci|npx nx)/m);
    expect(log(r, 'engex-halow:build')).toContain('image sbom --project @engex/halow');
    expect(uploadedCommands(r, 'engex-halow:deploy-staging')).toContain('meta-data');
    // The deploy step read the digest the image step set, through the local buildkite-agent, into a folder it made itself.
    expect(log(r, 'engex-halow:deploy-staging')).toContain('$ buildkite-agent meta-data get engex:halow:digest > reports/deploy/halow-staging.digest');
    expect(readFileSync(join(r.runDir, 'meta-data', 'engex%3Ahalow%3Adigest.txt'), 'utf8')).toBe(`sha256:${'0'.repeat(63)}7\n`);
    expect(readFileSync(join(r.runDir, 'annotations', 'image-halow.md'), 'utf8')).toMatch(/^<!-- style: info -->\n\*\*halow\*\* pushed .*sha256:0+7\n$/s);
    // `$$` arrived as `$`: the scan step's deferred status and "$PWD" are the shell's.
    expect(log(r, 'engex-halow:scan')).toContain('exit "${ENGEX_DEFERRED_STATUS:-0}"');
    const calls = readFileSync(stubs.calls, 'utf8');
    // The ECR stand-in: docker reached the pushed image at the run's registry; the ops repo through the deploy queue's git config.
    expect(calls).toContain(`docker pull --quiet ${r.registry}/engex/halow:${sha}`);
    expect(calls).toContain('engex-ci deploy bump --repo https://github.com/highspot/halow-ops.git --overlay overlays/staging');
    expect(existsSync(join(r.runDir, 'test-engine'))).toBe(true);
  });

  it('release/*: the approved production deploy runs', async () => {
    const r = await runLocal('release', ['--base', 'HEAD~1', '--approve'], { BUILDKITE_BRANCH: 'release/1' });
    expectAllPassed(r);
    expect(ran(r)).toEqual(expect.arrayContaining([':rocket: deploy halow to overlays/production']));
  });

  const PR = { BUILDKITE_BRANCH: 'feat/x', BUILDKITE_PULL_REQUEST: '12', BUILDKITE_PULL_REQUEST_BASE_BRANCH: 'main' };
  let prRun: Run;

  it('a pull request: checks, image and scan, no deploy', async () => {
    const r = (prRun = await runLocal('pr', ['--base', 'HEAD~1'], PR));
    expectAllPassed(r);
    expect(ran(r).some((l) => l.includes('deploy'))).toBe(false);
    expect(ran(r).length).toBeGreaterThan(0);
  });

  it('an attacker: a pull request whose pipeline asks for the deploy queue and saves a tampered node_modules does nothing privileged; then main restores a clean cache and ships', async () => {
    type Plugin = { ref: string; config: Record<string, unknown> };
    type Step = {
      key: string;
      steps?: Step[];
      agents?: { queue: string };
      commands?: unknown[];
      plugins?: Plugin[];
      dependsOn?: string[];
      meta?: { kind: string; target?: string };
    };
    const pipeline = JSON.parse(readFileSync(join(prRun.runDir, 'pipeline.json'), 'utf8')) as { steps: Step[] };
    const steps = pipeline.steps.flatMap((s) => s.steps ?? [s]);
    const image = steps.find((s) => s.key === 'engex-halow:image')!;
    // The edit a hostile branch can make to its own pipeline: the credential-holding queue, and a push.
    image.agents = { queue: 'deploy' };
    image.commands = [...image.commands!, { kind: 'exec', argv: ['node', 'libs/ci-lib/bin/engex-ci.cjs', 'image', 'push', '--project', '@engex/halow'] }];
    // And on its own untrusted queue: tamper with the installed tree, then ask the cache plugin to save it.
    // A check job the image does not wait for (its failed save must not keep the image job from being tried).
    const check = steps.find(
      (s) => ['nx-task', 'nx-project'].includes(s.meta?.kind ?? '') && !image.dependsOn?.includes(s.key) && s.plugins?.some((p) => p.ref.startsWith('cache#')),
    )!;
    check.commands = [...check.commands!, { kind: 'exec', argv: ['sh', '-c', 'echo pwned > node_modules/.engex-poison'] }];
    for (const p of check.plugins!) if (p.ref.startsWith('cache#')) p.config = { ...p.config, save: 'file' };
    const edited = join(parent, 'attacker-pipeline.json');
    writeFileSync(edited, JSON.stringify(pipeline));
    const deps = join(parent, 'attacker-deps');
    const before = readFileSync(stubs.calls, 'utf8').length;

    const attack = await runLocal('attack', ['--pipeline', edited], PR, deps);
    const attackCalls = readFileSync(stubs.calls, 'utf8').slice(before);
    expect(attack.code, explain(attack)).not.toBe(0);
    // The deploy queue's guard refused the pull request before its command ran: no push, no deploy.
    const refused = log(attack, 'engex-halow:image');
    expect(refused).toContain('agent guard: refused this job on the deploy queue');
    expect(refused).toContain('the build is pull request "12"');
    expect(refused).not.toContain('~~~ Running commands');
    expect(attackCalls).not.toMatch(/engex-ci (image push|deploy bump)/);
    // The untrusted agent may not write the cache bucket: nothing saved.
    expect(log(attack, check.key)).toContain('AccessDenied');
    expect(existsSync(deps) ? readdirSync(deps) : []).toEqual([]);

    // The same commit on main: the guard allows it, the image is pushed and deployed, and the cache it restores is its own.
    const main = await runLocal('after-attack', ['--base', 'HEAD~1'], { BUILDKITE_BRANCH: 'main' }, deps);
    expectAllPassed(main);
    expect(log(main, 'engex-halow:image')).toMatch(/agent guard: allowed local build \S+ step engex-halow:image on branch main/);
    const mainCalls = readFileSync(stubs.calls, 'utf8').slice(before + attackCalls.length);
    expect(mainCalls).toContain('engex-ci image push --project @engex/halow');
    expect(mainCalls).toContain('engex-ci deploy bump');
    expect(main.stderr).toMatch(/restored from the dependency cache/);
    for (const entry of readdirSync(deps)) expect(readFileSync(join(deps, entry)).includes('pwned')).toBe(false);
  });

  it('--all on main: every step of every project', async () => {
    const r = await runLocal('all', ['--all'], { BUILDKITE_BRANCH: 'main' });
    expectAllPassed(r);
    type Step = { steps?: Step[]; type: string };
    const count = (JSON.parse(readFileSync(join(r.runDir, 'pipeline.json'), 'utf8')) as { steps: Step[] }).steps.flatMap((s) => s.steps ?? [s]).length;
    expect(ran(r)).toHaveLength(count);
    // Every test step's JUnit file went to Test Engine's emulation: recorded, not sent.
    expect(readdirSync(join(r.runDir, 'test-engine')).length).toBeGreaterThan(3);
  });
});
