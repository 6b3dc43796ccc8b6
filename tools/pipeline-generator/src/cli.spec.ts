import { describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { parseRunArgs } from './local/command.js';
import { BaseUnavailableError, GitError, LocalPlanError, LocalSetupError, PipelineInvalidError, UsageError } from './core/errors.js';

/** `main` in-process, with its output captured. */
async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env,
    cwd: process.cwd(),
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
  return { code, stdout, stderr };
}

describe('main', () => {
  it('prints usage: --help, -h and help exit 0, no command exits 2', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await run(argv);
      expect(r).toMatchObject({ code: 0, stdout: '' });
      expect(r.stderr).toContain('Usage: engex-pipeline generate [options]');
    }
    expect(await run([])).toMatchObject({ code: 2, stdout: '' });
    expect((await run(['generate', '--help'])).code).toBe(0);
    const local = await run(['run', '--help']);
    expect(local.code).toBe(0);
    expect(local.stderr).toContain('Usage: engex-pipeline run --local');
  });

  it.each([
    [['frobnicate'], 'Unknown command "frobnicate".'],
    [['generate', '--format', 'xml'], '--format must be yaml or json, got "xml".'],
    [['generate', '--frobnicate'], "Unknown option '--frobnicate'"],
    [['generate', '--base'], "Option '--base <value>' argument missing"],
    [['generate', '--base='], '--base needs a value.'],
    [['generate', '--all', '--base', 'main'], '--all and --base contradict each other; pass one.'],
    [['run'], 'Only `run --local` exists'],
    [['run', '--local', '--all', '--base', 'main'], '--all and --base contradict each other'],
    [['run', '--local', '--npm-cache', 'tepid'], '--npm-cache must be cold or warm, got "tepid".'],
    [['run', '--local', '--bogus'], "Unknown option '--bogus'"],
    [['run', '--local', '--pipeline', 'p.json', '--all'], '--pipeline runs the given pipeline: --all, --base and --head do not apply.'],
  ])('%j is a usage error: exit 2, the reason, nothing on stdout', async (argv, reason) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`engex-pipeline: ${reason}`);
    expect(r.stderr).not.toContain('    at ');
  });

  it('run --local: every job on a fresh agent (--fresh-agents is accepted and changes nothing); the caches as flags, npm warm by default', () => {
    expect(parseRunArgs(['--local'])).toEqual({ all: false, verbose: false, approve: false, agents: { npmCache: 'warm' } });
    expect(parseRunArgs(['--local', '--fresh-agents'])).toEqual(parseRunArgs(['--local']));
    expect(parseRunArgs(['--local', '--npm-cache', 'cold', '--deps-cache', 'd', '--nx-cache', 'off', '--metrics-json', 'm.json', '--pipeline', 'p.json'])).toEqual({
      all: false,
      verbose: false,
      approve: false,
      agents: { npmCache: 'cold', depsCache: 'd', nxCache: 'off', metricsJson: 'm.json' },
      pipelineFile: 'p.json',
    });
  });

  it('an invalid Buildkite environment exits 2, naming the variable, then the hint', async () => {
    const r = await run(['generate'], { BUILDKITE: 'true', BUILDKITE_PULL_REQUEST: 'yes' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('BUILDKITE_PULL_REQUEST: expected "false" or a pull request number');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('Buildkite sets these itself; when running by hand, unset them or give valid values.');
  });
});

describe('GeneratorError', () => {
  it('carries its exit code and hint, so the one catch needs no table of classes', () => {
    const errors = [
      new UsageError('x'),
      new BaseUnavailableError('first build'),
      new PipelineInvalidError([{ path: 'steps', message: 'is empty' }]),
      new GitError(['status'], 'fatal: not a git repository'),
      new LocalSetupError('No Docker engine'),
      new LocalPlanError('Step a depends on unknown step b.'),
    ];
    expect(errors.map((e) => [e.name, e.code, e.exitCode, e.hint !== undefined])).toEqual([
      ['UsageError', 'USAGE', 2, false],
      ['BaseUnavailableError', 'BASE_UNAVAILABLE', 1, true],
      ['PipelineInvalidError', 'PIPELINE_INVALID', 1, true],
      ['GitError', 'GIT_FAILED', 4, true],
      ['LocalSetupError', 'LOCAL_SETUP', 4, false],
      ['LocalPlanError', 'LOCAL_PLAN_INVALID', 4, true],
    ]);
  });
});

describe('engex-pipeline --version', () => {
  it('prints the package version and the commit bin.ts read', async () => {
    let stdout = '';
    const sha = '0123456789abcdef0123456789abcdef01234567';
    const io = { stdout: (t: string) => (stdout += t), stderr: () => undefined, env: {}, cwd: '/', now: () => new Date(0) };
    expect(await main(['--version'], { ...io, build: () => ({ name: 'engex-pipeline', version: '0.0.0', commit: sha }) })).toBe(0);
    expect(stdout).toBe(`engex-pipeline 0.0.0 (commit ${sha})\n`);
  });
});
