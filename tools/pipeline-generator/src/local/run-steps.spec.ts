import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localCommandStep } from '../../test/local-step.js';
import { tempDir } from '../../test/temp-dir.js';
import { openFreshCloneAgents, type AgentPool } from './agents.js';
import type { LocalCommandStep } from './plan-local-run.js';
import { runExitCode, renderSummary } from './render-summary.js';
import { runSteps, type RunStepsContext } from './run-steps.js';
import { StepSupervisor } from './supervisor.js';

const command = (key: string, commands: string[], over: Partial<LocalCommandStep> = {}): LocalCommandStep => localCommandStep(key, { commands, ...over });

describe('runSteps: cancel_on_build_failing on fresh agents (real clones, real jobs)', () => {
  /** Runs `steps` on fresh clones of a one-commit repo; the keys of the jobs an agent was started for, and every progress line. */
  async function run(steps: LocalCommandStep[]) {
    const dir = await tempDir('engex-run-steps-');
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    await writeFile(join(dir, 'README.md'), 'x\n');
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'x');
    const commit = git('rev-parse', 'HEAD');
    const pool = await openFreshCloneAgents({ flags: { npmCache: 'warm' }, cwd: dir, repo: dir, commit, env: process.env });
    const started: string[] = [];
    const lines: string[] = [];
    const agents: AgentPool = { ...pool, start: (job) => (started.push(job.key), pool.start(job)) };
    const ctx: RunStepsContext = {
      env: { PATH: process.env['PATH'] },
      build: { workspaceRoot: dir, commit, branch: 'main', defaultBranch: 'main', pullRequest: 'false', registry: '127.0.0.1:1', buildx: false, runDir: join(dir, 'run') },
      infra: { agents, supervisor: new StepSupervisor(), signalled: () => undefined },
      queues: { default: { env: {}, hooks: {}, cacheWrite: true } },
      agentCommand: ['false'],
      docker: 'docker',
      approve: false,
      verbose: false,
      stderr: { write: () => true },
      say: (line) => void lines.push(line),
      clock: () => Date.now(),
    };
    try {
      return { results: await runSteps(steps, ctx), started, lines, commit };
    } finally {
      await pool.close();
    }
  }

  // The failing row's shape: checks fail while nothing depends on them; the image would follow the build.
  const steps = (checks: string): LocalCommandStep[] => [
    command('checks', [checks]),
    command('build', ['true']),
    command('image', ['true'], { dependsOn: ['build'], cancelOnBuildFailing: true }),
    command('deploy', ['true'], { dependsOn: ['image'] }),
  ];

  it('never starts a cancel_on_build_failing job once another failed, shows it canceled, and the build fails', async () => {
    const { results, started, lines, commit } = await run(steps('exit 3'));
    expect(results.map((r) => [r.key, r.status, r.note])).toEqual([
      ['checks', 'failed', expect.anything()],
      // Buildkite runs the other jobs of a failing build: only the flagged step is canceled.
      ['build', 'passed', undefined],
      ['image', 'canceled', 'canceled: checks failed (cancel_on_build_failing)'],
      ['deploy', 'blocked', 'needs image (canceled)'],
    ]);
    expect(started).toEqual(['checks', 'build']);
    expect(results.find((r) => r.key === 'image')?.agent).toBeUndefined();
    expect(lines).toContain('    CANCELED image in 0.0s · canceled: checks failed (cancel_on_build_failing)');
    expect(runExitCode(results)).toBe(3);
    const summary = renderSummary({ commit, branch: 'main', registry: 'r', results, totalMs: 1, notifications: [], annotations: [], runDir: 'run' });
    expect(summary).toMatch(/^ {2}CANCELED +0\.0s +image +canceled: checks failed/m);
    expect(summary).toContain('Local pipeline FAILED');
    expect(summary).toContain('1 passed, 1 failed, 0 skipped, 1 not run, 1 canceled');
  });

  it('runs it as usual while the build is green', async () => {
    const { results, started } = await run(steps('true'));
    expect(results.map((r) => r.status)).toEqual(['passed', 'passed', 'passed', 'passed']);
    expect(started).toEqual(['checks', 'build', 'image', 'deploy']);
  });
});
