import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runJob, type JobOptions } from './agent-job.js';
import { AgentStore } from './agent-store.js';
import type { LocalCommandStep } from './plan-local-run.js';
import type { LocalPlugin } from './plugin-config.js';
import { StepSupervisor } from './supervisor.js';
import { localCommandStep } from '../../test/local-step.js';

describe('runJob: the agent lifecycle around the command text', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engex-job-'));
    await mkdir(join(dir, 'checkout'), { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const step = (commands: string[], over: Partial<LocalCommandStep> = {}): LocalCommandStep => localCommandStep('k', { queue: 'q', commands, ...over });
  const job = (s: LocalCommandStep, hooks: JobOptions['hooks'] = {}, cacheWrite = true) =>
    runJob({
      step: s,
      checkout: join(dir, 'checkout'),
      agentDir: join(dir, 'agent'),
      env: { PATH: process.env['PATH'] ?? '' },
      hooks,
      store: new AgentStore(join(dir, 'run')),
      agentCommand: ['false'],
      docker: 'docker',
      registry: '127.0.0.1:1',
      depsCache: join(dir, 'deps'),
      cacheWrite,
      logFile: join(dir, 'job.log'),
      supervisor: new StepSupervisor(),
      clock: () => Date.now(),
    });

  it('an agent without write access to the cache (the untrusted queue) never saves: denied, a warning under soft-fail, else a failed job', async () => {
    const cache = (softFail: boolean): LocalPlugin => ({
      kind: 'cache',
      ref: 'cache#v1.12.0',
      path: 'node_modules',
      manifest: [],
      save: ['pipeline'],
      compression: 'none',
      keyExtra: '',
      softFail,
      force: false,
    });
    const poison = ['mkdir -p node_modules', 'echo poisoned > node_modules/nx.js'];
    const soft = await job(step(poison, { plugins: [cache(true)] }), {}, false);
    expect(soft.status).toBe('passed');
    expect(await readFile(join(dir, 'job.log'), 'utf8')).toContain('Cache save operation failed, continuing build (soft-fail enabled): AccessDenied');
    const hard = await job(step(poison, { plugins: [cache(false)] }), {}, false);
    expect(hard).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(hard.note).toContain('save failed: AccessDenied');
    expect(await readdir(join(dir, 'deps')).catch(() => [])).toEqual([]);
    // The same job on a trusted agent saves.
    const trusted = await job(step(poison, { plugins: [cache(false)] }), {}, true);
    expect(trusted.status).toBe('passed');
    expect(await readdir(join(dir, 'deps'))).toHaveLength(1);
  });

  it('runs the commands joined under bash -e -c: the first failing line ends the job with its status, and the log shows each line', async () => {
    const r = await job(step(['echo one > out.txt', 'false', 'echo never >> out.txt']));
    expect(r).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(await readFile(join(dir, 'checkout/out.txt'), 'utf8')).toBe('one\n');
    expect(await readFile(join(dir, 'job.log'), 'utf8')).toContain('~~~ Running commands\n$ echo one > out.txt\n$ false\n$ echo never >> out.txt\n');
    // A redirect into a folder the checkout lacks fails, as on an agent (issue 19, finding 1).
    expect(await job(step(['echo x > reports/deploy/a.digest']))).toMatchObject({ status: 'failed', exitCode: 1, note: expect.stringContaining('No such file or directory') });
  });

  it('a failing pre-command hook fails the job without running the command; the environment hook exports into it', async () => {
    await writeFile(join(dir, 'environment'), 'export FROM_HOOK=yes\n');
    await writeFile(join(dir, 'pre-command'), 'test "$FROM_HOOK" = yes\nexit 3\n');
    const r = await job(step(['touch ran.txt']), { environment: join(dir, 'environment'), 'pre-command': join(dir, 'pre-command') });
    expect(r).toMatchObject({ status: 'failed', exitCode: 3, note: 'the agent pre-command hook exited 3; the command did not run' });
    expect(existsSync(join(dir, 'checkout/ran.txt'))).toBe(false);
    await writeFile(join(dir, 'pre-command'), 'test "$FROM_HOOK" = yes\nexport GUARD=passed\n');
    expect(await job(step(['test "$GUARD" = passed']), { environment: join(dir, 'environment'), 'pre-command': join(dir, 'pre-command') })).toMatchObject({ status: 'passed' });
  });

  it('uploads artifact_paths after the command, also after a failure; Test Engine needs its token like the plugin', async () => {
    await job(step(['mkdir -p r && echo x > r/a.xml && exit 2'], { artifactPaths: ['r/*.xml'] }));
    expect(await readFile(join(dir, 'run/artifacts/k/r/a.xml'), 'utf8')).toBe('x\n');
    const collector = { kind: 'test-collector' as const, ref: 'test-collector#v1.11.0', files: ['r/a.xml'], format: 'junit' as const, tokenEnv: 'BUILDKITE_ANALYTICS_TOKEN' };
    expect(await job(step(['true'], { plugins: [collector] }))).toMatchObject({
      status: 'failed',
      note: 'test-collector#v1.11.0: Missing BUILDKITE_ANALYTICS_TOKEN environment variable',
    });
  });
});
