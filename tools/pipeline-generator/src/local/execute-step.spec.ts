import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StepSupervisor, executeStep, metaDataFile } from './execute-step.js';
import type { LocalAction, LocalStep } from './plan-local-run.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function localStep(key: string, actions: LocalAction[]): LocalStep {
  return { key, label: key, dependsOn: [], timeoutMs: 60_000, env: {}, actions, notes: [], artifactPaths: [], meta: { kind: 'plan' } };
}

describe('executeStep: buildkite-agent meta-data, file-backed', () => {
  it('a later step gets what an earlier one set; an unset key fails like buildkite-agent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engex-meta-'));
    dirs.push(dir);
    const options = {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      logFile: join(dir, 'logs', 'step.log'),
      annotationsDir: join(dir, 'annotations'),
      supervisor: new StepSupervisor(),
      ranOnce: new Set<string>(),
      metaDataDir: join(dir, 'meta-data'),
    };
    const digest = `sha256:${'d'.repeat(64)}`;
    await writeFile(join(dir, 'pushed.digest'), `${digest}\n`);
    const set = await executeStep(localStep('image', [{ kind: 'meta-data', op: 'set', key: 'engex:halow:digest', file: 'pushed.digest' }]), options);
    expect(set.status).toBe('passed');
    expect(await readFile(metaDataFile(options.metaDataDir, 'engex:halow:digest'), 'utf8')).toBe(digest);

    const get = await executeStep(localStep('deploy', [{ kind: 'meta-data', op: 'get', key: 'engex:halow:digest', file: 'reports/deploy/halow.digest' }]), options);
    expect(get.status).toBe('passed');
    expect(await readFile(join(dir, 'reports/deploy/halow.digest'), 'utf8')).toBe(`${digest}\n`);

    const missing = await executeStep(localStep('other', [{ kind: 'meta-data', op: 'get', key: 'engex:api:digest', file: 'x' }]), options);
    expect(missing).toMatchObject({ status: 'failed', exitCode: 1, note: 'meta-data get engex:api:digest: no such key in this build (the step that sets it did not run)' });
  });

  it('writes the failure annotation of a command that asks for one, and fails with its status', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engex-onfail-'));
    dirs.push(dir);
    await writeFile(join(dir, 'ecr.md'), 'repository engex/halow is missing: add the Terraform line');
    const outcome = await executeStep(
      localStep('image', [
        { kind: 'exec', argv: ['sh', '-c', 'exit 2'], reportsOutcome: false, deferFailure: false, once: false, annotateOnFailure: { context: 'ecr-halow', file: 'ecr.md' } },
        { kind: 'exec', argv: ['sh', '-c', 'touch never'], reportsOutcome: false, deferFailure: false, once: false },
      ]),
      {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        logFile: join(dir, 'step.log'),
        annotationsDir: join(dir, 'annotations'),
        supervisor: new StepSupervisor(),
        ranOnce: new Set<string>(),
        metaDataDir: join(dir, 'meta-data'),
      },
    );
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 2 });
    expect(await readFile(outcome.annotations[0] as string, 'utf8')).toBe('<!-- style: error -->\nrepository engex/halow is missing: add the Terraform line');
    await expect(readFile(join(dir, 'never'))).rejects.toThrow();
  });
});
