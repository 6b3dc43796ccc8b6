import { describe, expect, it } from 'vitest';
import { analyze, planInput, reconfigured } from '../../test/fixtures.js';
import { planPipeline } from '../core/plan.js';
import { pipelineShapeIssues } from './pipeline-file.js';

describe('--pipeline: a typed pipeline read from JSON', () => {
  it('reports every shape problem with its path', () => {
    expect(
      pipelineShapeIssues({
        steps: [
          {
            type: 'command',
            key: 'a',
            commands: [{ kind: 'install' }, { kind: 'rm -rf' }, { kind: 'nx-run-many' }],
            dependsOn: 'b',
            plugins: [],
            retry: [],
            agents: {},
            env: {},
            meta: {},
            artifactPaths: [],
            timeoutInMinutes: 0,
            cancelOnBuildFailing: 'yes',
          },
          { type: 'group', key: 'g', steps: [{ type: 'group', key: 'nested', steps: [] }] },
        ],
      }),
    ).toEqual([
      'notify: expected an array',
      'steps[0].dependsOn: expected an array of strings',
      'steps[0].timeoutInMinutes: expected a positive number',
      'steps[0].cancelOnBuildFailing: expected true or false, got "yes"',
      'steps[0].commands[1].kind: expected one of install, nx, nx-run-many, engex-ci, meta-data, annotate, pull, artifact-download, trivy, exec',
      'steps[1].steps[0].type: expected command or block, got "group"',
    ]);
    expect(pipelineShapeIssues([])).toEqual(['(root): expected an object with steps and notify, got []']);
    expect(pipelineShapeIssues({ notify: [], steps: [] })).toEqual([]);
  });

  it.each(['checks', 'target', 'project'] as const)('accepts what the planner plans (stepGranularity %s), every command kind included', (stepGranularity) => {
    const input = reconfigured(planInput({ branch: 'main' }, analyze([], { all: '--all' })), { config: { stepGranularity } });
    expect(pipelineShapeIssues(JSON.parse(JSON.stringify(planPipeline(input))))).toEqual([]);
  });
});
