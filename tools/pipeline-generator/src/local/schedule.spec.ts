import { describe, expect, it } from 'vitest';
import { localCommandStep as command } from '../../test/local-step.js';
import type { LocalBlockStep } from './plan-local-run.js';
import type { StepStatus } from './render-summary.js';
import { decideStep, retryRule, type ScheduleState } from './schedule.js';

const block = (key: string, dependsOn: string[] = []): LocalBlockStep => ({ type: 'block', key, label: key, dependsOn, notes: [], prompt: 'Deploy?' });
const running: ScheduleState = { interrupted: false, approve: false };
const settled = (entries: Record<string, StepStatus>): ReadonlyMap<string, StepStatus> => new Map(Object.entries(entries));

describe('decideStep: what runs next', () => {
  it('runs a command step whose dependencies passed or were skipped with a reason', () => {
    const step = command('b', { dependsOn: ['a', 'scan'] });
    expect(decideStep(step, settled({ a: 'passed', scan: 'skipped' }), running)).toEqual({ kind: 'run', step });
  });

  it.each<[StepStatus, string]>([
    ['failed', 'needs a (failed)'],
    ['blocked', 'needs a (not run)'],
    ['waiting', 'needs a (waiting for approval)'],
    ['interrupted', 'needs a (interrupted)'],
  ])('does not run a step whose dependency is %s, and names it', (status, note) => {
    for (const step of [command('b', { dependsOn: ['a'] }), block('b', ['a'])]) {
      expect(decideStep(step, settled({ a: status }), running)).toEqual({ kind: 'settle', status: 'blocked', note, announce: 'end-only' });
    }
  });

  it('names the first dependency, in depends_on order, that keeps a step from running', () => {
    const step = command('c', { dependsOn: ['a', 'b'] });
    expect(decideStep(step, settled({ a: 'passed', b: 'failed' }), running)).toMatchObject({ note: 'needs b (failed)' });
    expect(decideStep(step, settled({ a: 'waiting', b: 'failed' }), running)).toMatchObject({ note: 'needs a (waiting for approval)' });
  });

  it('skips a step that cannot run here, with its reason, once its dependencies are done', () => {
    const step = command('scan', { dependsOn: ['image'], skip: 'no Trivy image' });
    expect(decideStep(step, settled({ image: 'passed' }), running)).toEqual({ kind: 'settle', status: 'skipped', note: 'no Trivy image', announce: 'reached' });
    expect(decideStep(step, settled({ image: 'failed' }), running)).toMatchObject({ status: 'blocked' });
  });

  it('lets a block step wait for approval, or pass under --approve', () => {
    expect(decideStep(block('approve'), settled({}), running)).toEqual({
      kind: 'settle',
      status: 'waiting',
      note: 'waiting for approval: rerun with --approve to unblock',
      announce: 'reached',
    });
    expect(decideStep(block('approve'), settled({}), { ...running, approve: true })).toEqual({
      kind: 'settle',
      status: 'passed',
      note: 'approved (--approve)',
      announce: 'reached',
    });
  });

  describe('cancel_on_build_failing: once a job failed for good, the build is failing', () => {
    const image = command('image', { dependsOn: ['build'], cancelOnBuildFailing: true });
    const canceled = { kind: 'settle', status: 'canceled', note: 'canceled: checks failed (cancel_on_build_failing)', announce: 'end-only' };

    it('cancels such a step instead of starting it, naming the first job that failed', () => {
      expect(decideStep(image, settled({ checks: 'failed', build: 'passed', lint: 'failed' }), running)).toEqual(canceled);
      // A step that could not run here is canceled all the same: on Buildkite it would have started.
      expect(decideStep({ ...image, skip: 'no Trivy image' }, settled({ checks: 'failed', build: 'passed' }), running)).toEqual(canceled);
    });

    it('leaves a step whose own dependency did not pass not run, naming it: it would not have started', () => {
      expect(decideStep(image, settled({ build: 'failed' }), running)).toEqual({ kind: 'settle', status: 'blocked', note: 'needs build (failed)', announce: 'end-only' });
      expect(decideStep(image, settled({ checks: 'failed', build: 'blocked' }), running)).toMatchObject({ status: 'blocked', note: 'needs build (not run)' });
    });

    it('starts it while nothing failed: a skipped, blocked, waiting or canceled step does not make the build fail', () => {
      expect(decideStep(image, settled({ build: 'passed', scan: 'skipped', deploy: 'blocked', approve: 'waiting', other: 'canceled' }), running)).toEqual({
        kind: 'run',
        step: image,
      });
    });

    it('starts every other step of a failing build, and a dependent of a canceled step names it', () => {
      const build = command('build');
      expect(decideStep(build, settled({ checks: 'failed' }), running)).toEqual({ kind: 'run', step: build });
      expect(decideStep(command('deploy', { dependsOn: ['image'] }), settled({ checks: 'failed', image: 'canceled' }), running)).toMatchObject({
        status: 'blocked',
        note: 'needs image (canceled)',
      });
    });
  });

  it('starts nothing after an interrupt, silently, whatever the step', () => {
    for (const step of [command('a'), block('b'), command('c', { skip: 'x' })]) {
      expect(decideStep(step, settled({}), { interrupted: true, approve: true })).toEqual({ kind: 'settle', status: 'blocked', note: 'run interrupted', announce: 'silent' });
    }
  });
});

describe('retryRule: retry.automatic', () => {
  const step = command('a', {
    retry: [
      { exitStatus: 4, limit: 2 },
      { exitStatus: '*', limit: 1 },
    ],
  });

  it('picks the first rule matching the exit status, "*" for any failure, until its limit', () => {
    expect(retryRule(step, { status: 'failed', exitCode: 4 }, new Map())).toEqual({ exitStatus: 4, limit: 2 });
    expect(retryRule(step, { status: 'failed', exitCode: 4 }, new Map([[4, 1]]))).toEqual({ exitStatus: 4, limit: 2 });
    expect(retryRule(step, { status: 'failed', exitCode: 4 }, new Map([[4, 2]]))).toBeUndefined();
    expect(retryRule(step, { status: 'failed', exitCode: 1 }, new Map())).toEqual({ exitStatus: '*', limit: 1 });
    expect(retryRule(step, { status: 'failed', exitCode: 1 }, new Map([['*', 1]]))).toBeUndefined();
  });

  it('never retries a pass, an interrupted or canceled job or a failure without an exit status', () => {
    expect(retryRule(step, { status: 'passed', exitCode: 0 }, new Map())).toBeUndefined();
    expect(retryRule(step, { status: 'interrupted', exitCode: 4 }, new Map())).toBeUndefined();
    expect(retryRule(step, { status: 'canceled', exitCode: 4 }, new Map())).toBeUndefined();
    expect(retryRule(step, { status: 'failed' }, new Map())).toBeUndefined();
    expect(retryRule(command('b'), { status: 'failed', exitCode: 4 }, new Map())).toBeUndefined();
  });
});
