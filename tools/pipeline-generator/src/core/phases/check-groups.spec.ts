import { describe, expect, it } from 'vitest';
import { analyze, planInput, reconfigured } from '../../../test/fixtures.js';
import { checkGroups } from './check-groups.js';
import { jobKeys } from './job-keys.js';
import { planZone } from './zone.js';

const groupsOf = (input: ReturnType<typeof planInput>) => checkGroups(input, jobKeys(input), planZone(input.config, input.context, input.options).checks);

describe('checkGroups', () => {
  it('stepGranularity "target": one group per affected project, in the analysis order, one job per task', () => {
    const groups = groupsOf(reconfigured(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts'])), { config: { stepGranularity: 'target' } }));
    expect(groups.map((g) => [g.key, g.steps.map((s) => s.key)])).toEqual([
      ['acme-api', ['acme-api:test', 'acme-api:build']],
      ['acme-util', ['acme-util:lint', 'acme-util:test', 'acme-util:build']],
    ]);
    expect(groups[0]?.steps[1]?.dependsOn).toEqual(['acme-util:build']);
  });

  it('stepGranularity "checks" (the default): a service\'s build apart, and no checks job waits for another (Nx runs the dependency tasks in each)', () => {
    const input = planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts']));
    // api:test needs api:build (as halow's test does): the checks job runs the build itself.
    const tasks = input.analysis.tasks.map((t) => (t.id === '@acme/api:test' ? { ...t, dependsOn: ['@acme/api:build'] } : t));
    const groups = groupsOf({ ...input, analysis: { ...input.analysis, tasks } });
    expect(groups.map((g) => g.steps.map((s) => `${s.key} <- ${s.dependsOn.join(' ')}`))).toEqual([['acme-api:tasks <- ', 'acme-api:build <- '], ['acme-util:tasks <- ']]);
    expect(groups[0]?.steps[0]?.meta).toMatchObject({ kind: 'nx-project', targets: ['test'] });
  });

  it('stepGranularity "project": one job per project, depending on the jobs of its dependencies', () => {
    const groups = groupsOf(reconfigured(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts'])), { config: { stepGranularity: 'project' } }));
    expect(groups.map((g) => g.steps.map((s) => `${s.key} <- ${s.dependsOn.join(' ')}`))).toEqual([['acme-api:tasks <- acme-util:tasks'], ['acme-util:tasks <- ']]);
  });

  it('keeps an affected project without tasks as an empty group: its service steps come next', () => {
    const input = planInput({ branch: 'main' }, analyze(['apps/api/src/main.ts']));
    const groups = groupsOf({ ...input, analysis: { ...input.analysis, tasks: [] } });
    expect(groups).toEqual([{ type: 'group', key: 'acme-api', label: '@acme/api', project: '@acme/api', steps: [] }]);
  });
});
