import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding, dockerRequirement, registryRequirement, zstdRequirement } from '@engex/ci-lib/testing';
import type { CommandStep, Pipeline, StepCommand } from '../src/core/pipeline.js';
import { dependencyCachePlugin } from '../src/core/steps/common.js';
import type { AgentStepMetrics, AgentTotals } from '../src/local/agent-metrics.js';
import { REPO_ROOT } from './schema.js';

const CLI = join(REPO_ROOT, 'tools/pipeline-generator/src/bin.ts');
// By path: the CLI runs in the tiny workspace, where `tsx` does not resolve.
const TSX = pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
// The generated dependency cache is zstd-compressed: a fresh agent unpacks it with `tar --zstd`.
const needs = [dockerRequirement(), registryRequirement(), zstdRequirement()];

const git = (cwd: string, ...args: string[]): void => {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
};

/** A tiny npm workspace with Nx: one project whose build writes dist/out.txt, cached by Nx. */
function tinyWorkspace(root: string): void {
  const write = (file: string, text: string): void => {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  write('package.json', JSON.stringify({ name: 'tiny', private: true, workspaces: ['packages/*'], devDependencies: { nx: '23.2.1' } }, null, 2));
  write('nx.json', JSON.stringify({ neverConnectToCloud: true, targetDefaults: { build: { cache: true, outputs: ['{projectRoot}/dist'] } } }, null, 2));
  write('.gitignore', 'node_modules\n.nx\ndist\nreports\n');
  write('packages/app/package.json', JSON.stringify({ name: '@tiny/app', version: '0.0.0', scripts: { build: 'node build.js' } }, null, 2));
  write('packages/app/build.js', "require('node:fs').mkdirSync('dist', { recursive: true });\nrequire('node:fs').writeFileSync('dist/out.txt', 'built\\n');\n");
}

const sh = (script: string): StepCommand => ({ kind: 'exec', argv: ['sh', '-c', script] });
const nxBuild: StepCommand = { kind: 'nx', nx: ['npx', 'nx'], project: '@tiny/app', target: 'build' };

function step(key: string, commands: StepCommand[], over: Partial<CommandStep> = {}): CommandStep {
  return {
    type: 'command',
    key,
    label: key,
    commands,
    dependsOn: [],
    plugins: [dependencyCachePlugin({ platform: 'linux-x64', nodeMajor: '24', save: true })],
    timeoutInMinutes: 5,
    agents: { queue: 'default' },
    retry: [],
    env: {},
    artifactPaths: [],
    meta: { kind: 'nx-task', project: '@tiny/app', target: 'build', taskId: '@tiny/app:build' },
    ...over,
  };
}

// Two jobs on two fresh agents. The second must find nothing of the first's checkout, restore
// node_modules instead of installing, and read the build from the shared Nx cache.
const pipeline: Pipeline = {
  notify: [],
  steps: [
    {
      type: 'group',
      key: 'tiny',
      label: '@tiny/app',
      project: '@tiny/app',
      steps: [
        step('tiny:build', [{ kind: 'install' }, nxBuild, sh('mkdir -p reports && pwd > reports/where-build.txt && touch leftover.txt')], {
          artifactPaths: ['reports/where-build.txt'],
        }),
        step(
          'tiny:check',
          [
            { kind: 'install' },
            nxBuild,
            { kind: 'artifact-download', path: 'reports/where-build.txt', step: 'tiny:build' },
            sh('test ! -e leftover.txt && test -f packages/app/dist/out.txt && pwd > reports/where-check.txt'),
          ],
          { dependsOn: ['tiny:build'], artifactPaths: ['reports/where-check.txt'] },
        ),
      ],
    },
  ],
};

interface Metrics {
  npmCache: string;
  totals: AgentTotals;
  steps: AgentStepMetrics[];
}

describeNeeding(needs, 'run --local --fresh-agents', { timeout: 300_000 }, () => {
  const parent = mkdtempSync(join(tmpdir(), 'engex-fresh-'));
  const ws = join(parent, 'ws');
  let result: { status: number | null; stderr: string };
  let metrics: Metrics;
  let alone: Metrics;

  beforeAll(() => {
    tinyWorkspace(ws);
    // The lockfile, from the machine's npm cache where it can.
    const lock = spawnSync('npm', ['install', '--package-lock-only', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: ws, encoding: 'utf8', timeout: 120_000 });
    if (lock.status !== 0) throw new Error(`npm install --package-lock-only: ${lock.stderr}`);
    git(ws, 'init', '-q', '-b', 'main');
    git(ws, 'add', '-A');
    git(ws, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'tiny');
    writeFileSync(join(parent, 'pipeline.json'), JSON.stringify(pipeline));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(BUILDKITE|NX_|npm_)/i.test(k) && k !== 'CI' && k !== 'REGISTRY')) as Record<string, string>;
    const runFresh = (name: string, nxCache: string): { status: number | null; stderr: string; metrics: Metrics } => {
      const r = spawnSync(
        process.execPath,
        [
          '--conditions=@engex/source',
          '--import',
          TSX,
          CLI,
          'run',
          '--local',
          '--fresh-agents',
          '--pipeline',
          join(parent, 'pipeline.json'),
          '--deps-cache',
          join(parent, `${name}-deps`),
          '--nx-cache',
          nxCache,
          '--metrics-json',
          join(parent, `${name}.json`),
        ],
        { cwd: ws, env: { ...clean, NX_DAEMON: 'false', ENGEX_LOCAL_STATE: join(parent, `${name}-state`) }, encoding: 'utf8', timeout: 130_000 },
      );
      try {
        return { status: r.status, stderr: r.stderr, metrics: JSON.parse(readFileSync(join(parent, `${name}.json`), 'utf8')) as Metrics };
      } catch {
        throw new Error(`no metrics (exit ${r.status}):\n${r.stderr.slice(-4000)}`);
      }
    };
    ({ metrics, ...result } = runFresh('shared', join(parent, 'nx')));
    // Without a shared folder each agent has only its own cache, whatever Nx shares per user by default.
    ({ metrics: alone } = runFresh('alone', 'off'));
  }, 300_000);
  afterAll(() => rmSync(parent, { recursive: true, force: true }), 60_000);

  it('runs both jobs, each in its own fresh clone (nothing of the first is in the second)', () => {
    expect(result.status, result.stderr).toBe(0);
    const runs = join(parent, 'shared-state', 'runs');
    // The run's artifact store keeps each step's uploads apart (`artifact download --step`).
    const artifacts = (step: string): string => join(runs, readdirSync(runs)[0] as string, 'artifacts', encodeURIComponent(step), 'reports');
    const first = readFileSync(join(artifacts('tiny:build'), 'where-build.txt'), 'utf8').trim();
    const second = readFileSync(join(artifacts('tiny:check'), 'where-check.txt'), 'utf8').trim();
    expect(first).not.toBe(second);
    expect(first.startsWith(tmpdir())).toBe(true);
  });

  it('installs once: the second job restores node_modules from the dependency cache, saved once', () => {
    expect(metrics.steps.map((s) => [s.key, s.install])).toEqual([
      ['tiny:build', 'npm ci'],
      ['tiny:check', 'restored'],
    ]);
    expect(metrics.totals).toMatchObject({ installs: 1, restores: 1 });
    // cache#v1.12.0's fs backend: one entry named by the file-level key (a sha1), no partial left.
    expect(readdirSync(join(parent, 'shared-deps'))).toEqual([expect.stringMatching(/^[0-9a-f]{40}$/)]);
  });

  it("reads the first job's Nx build from the shared Nx cache in the second clone, and reports the figures", () => {
    expect(metrics.steps[0]?.nxExecuted).toEqual(['@tiny/app:build']);
    expect(metrics.steps[1]?.nxExecuted).toEqual([]);
    expect(metrics.steps[1]?.nxCached).toEqual(['@tiny/app:build']);
    expect(metrics.totals.executedTwice).toEqual([]);
    expect(metrics.npmCache).toBe('warm');
    for (const s of metrics.steps) expect(s.wallMs).toBeGreaterThan(0);
    expect(metrics.totals.criticalPath).toEqual(['tiny:build', 'tiny:check']);
    expect(result.stderr).toContain('installs: 1 npm ci, 1 restored from the dependency cache; Nx tasks: 1 ran, 1 from cache');
  });

  it("--nx-cache off: no agent reads another's Nx results (Nx's per-user cache is not shared either)", () => {
    expect(alone.steps.map((s) => s.nxExecuted)).toEqual([['@tiny/app:build'], ['@tiny/app:build']]);
    expect(alone.totals.executedTwice).toEqual(['@tiny/app:build']);
  });
});
