import { describe, expect, it } from 'vitest';
import { analyze, planInput } from '../../../test/fixtures.js';
import type { AffectedTask } from '../affected.js';
import { CHECKS_GATE_KEY, PLAN_STEP_KEY, jobKeys } from './job-keys.js';

const targetMode = (input: ReturnType<typeof planInput>) => ({ ...input, config: { ...input.config, stepGranularity: 'target' as const } });
const task = (project: string, target: string, dependsOn: string[] = []): AffectedTask => ({ id: `${project}:${target}`, project, target, dependsOn, why: 'changed' });

describe('jobKeys', () => {
  it('one job per task, keyed by project slug and target, in the order of the CI targets', () => {
    const keys = jobKeys(targetMode(planInput({}, analyze(['libs/util/src/index.ts']))));
    expect(keys.slug('@acme/util')).toBe('acme-util');
    expect(keys.tasks.get('@acme/util')?.map((t) => t.target)).toEqual(['lint', 'test', 'build']);
    expect(keys.jobOf.get('@acme/api:build')).toBe('acme-api:build');
    expect(keys.perProject.size).toBe(0);
  });

  it("a target named like a service step, or cleaning to another target's part, gets a suffix (a prefix where a suffix stays reserved)", () => {
    const input = targetMode(planInput({}, analyze([])));
    const tasks = [task('@acme/api', 'image'), task('@acme/api', 'deploy-x'), task('@acme/api', 'e2e:ci'), task('@acme/api', 'e2e-ci')];
    const keys = jobKeys({ ...input, analysis: { ...input.analysis, tasks } });
    expect(tasks.map((t) => keys.jobOf.get(t.id))).toEqual(['acme-api:image-2', 'acme-api:task-deploy-x', 'acme-api:e2e:ci', 'acme-api:e2e-ci']);
  });

  it("keeps project slugs apart from the pipeline's own keys", () => {
    const input = planInput({}, analyze([]));
    const projects = [PLAN_STEP_KEY, CHECKS_GATE_KEY].map((name) => ({ name, root: `libs/${name}`, tags: [], metadata: {}, targets: {} }));
    const keys = jobKeys({ ...input, projects });
    expect(projects.map((p) => keys.slug(p.name))).not.toContain(PLAN_STEP_KEY);
    expect(projects.map((p) => keys.slug(p.name))).not.toContain(CHECKS_GATE_KEY);
  });

  it('stepGranularity "project": every task of a project maps to its one job, except in a project-level cycle', () => {
    const input = planInput({}, analyze([]));
    const config = { ...input.config, stepGranularity: 'project' as const };
    const plain = [task('@acme/util', 'build'), task('@acme/api', 'build', ['@acme/util:build']), task('@acme/api', 'test')];
    const keys = jobKeys({ ...input, config, analysis: { ...input.analysis, tasks: plain } });
    expect(Object.fromEntries(keys.jobOf)).toEqual({ '@acme/util:build': 'acme-util:tasks', '@acme/api:build': 'acme-api:tasks', '@acme/api:test': 'acme-api:tasks' });
    const cycle = [...plain, task('@acme/util', 'lint', ['@acme/api:test'])];
    expect(jobKeys({ ...input, config, analysis: { ...input.analysis, tasks: cycle } }).perProject.size).toBe(0);
  });

  it('stepGranularity "checks" (the default): one job per project, except the build of a service, which keeps its own', () => {
    const input = planInput({}, analyze([]));
    const tasks = [task('@acme/util', 'build'), task('@acme/api', 'build', ['@acme/util:build']), task('@acme/api', 'test', ['@acme/api:build'])];
    const keys = jobKeys({ ...input, analysis: { ...input.analysis, tasks } });
    expect(Object.fromEntries(keys.jobOf)).toEqual({ '@acme/util:build': 'acme-util:tasks', '@acme/api:build': 'acme-api:build', '@acme/api:test': 'acme-api:tasks' });
    // No checks job waits for another, so a project-level cycle cannot deadlock: each project keeps its one job.
    const cycle = [...tasks, task('@acme/util', 'lint', ['@acme/api:test'])];
    expect([...jobKeys({ ...input, analysis: { ...input.analysis, tasks: cycle } }).perProject].sort()).toEqual(['@acme/api', '@acme/util']);
  });
});
