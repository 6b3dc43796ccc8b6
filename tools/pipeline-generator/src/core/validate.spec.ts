import { describe, expect, it } from 'vitest';
import { commandStep } from '../../test/fixtures.js';
import type { Pipeline } from './pipeline.js';
import { PipelineInvalidError } from './errors.js';
import { assertValidPipeline, validatePipeline } from './validate.js';

const step = commandStep;
const pipeline = (...steps: Pipeline['steps']): Pipeline => ({ steps, notify: [] });

describe('validatePipeline', () => {
  it('accepts a sound pipeline', () => {
    expect(validatePipeline([pipeline(step('a'), { type: 'group', key: 'g', label: 'g', project: 'g', steps: [step('b', ['a'])] })])).toEqual([]);
  });

  it('reports every problem with its path', () => {
    const issues = validatePipeline([
      pipeline(step('a', ['missing']), step('a'), step('bad key!', [], { commands: [] }), step('c', ['c'], { label: ' ', timeoutInMinutes: 0 }), {
        type: 'group',
        key: 'g',
        label: 'g',
        project: 'g',
        steps: [],
      }),
    ]);
    expect(issues).toEqual([
      { path: 'steps[0].depends_on[0]', message: '"missing" is not a step of this or an earlier upload' },
      { path: 'steps[1].key', message: 'duplicate key "a"' },
      { path: 'steps[2].key', message: 'key "bad key!" breaks Buildkite\'s key rules' },
      { path: 'steps[2].commands', message: 'is empty' },
      { path: 'steps[3].label', message: 'is empty' },
      { path: 'steps[3].timeout_in_minutes', message: 'must be positive' },
      { path: 'steps[3].depends_on[0]', message: 'a step cannot depend on itself' },
      { path: 'steps[4].steps', message: 'a group needs at least one step' },
    ]);
  });

  it('finds dependency cycles', () => {
    expect(validatePipeline([pipeline(step('a', ['c']), step('b', ['a']), step('c', ['b']))])).toEqual([{ path: 'depends_on', message: 'dependency cycle: a -> c -> b -> a' }]);
  });

  it('allows depends_on into earlier uploads only', () => {
    expect(validatePipeline([pipeline(step('a')), pipeline(step('b', ['a']))])).toEqual([]);
    expect(validatePipeline([pipeline(step('a', ['b'])), pipeline(step('b'))])).toEqual([
      { path: 'uploads[0].steps[0].depends_on[0]', message: '"b" is not a step of this or an earlier upload' },
    ]);
  });

  it('enforces the per-upload job limit and refuses empty uploads', () => {
    expect(validatePipeline([pipeline(step('a'), step('b'), step('c'))], 2)).toEqual([{ path: 'steps', message: "3 jobs exceed Buildkite's 2 per upload; split the pipeline" }]);
    expect(validatePipeline([pipeline()])).toEqual([{ path: 'steps', message: 'an upload must contain at least one step' }]);
    expect(validatePipeline([])).toHaveLength(1);
  });

  it('throws a named error that lists the problems', () => {
    expect(() => assertValidPipeline([pipeline(step('a', ['x']))])).toThrow(PipelineInvalidError);
    expect(() => assertValidPipeline([pipeline(step('a', ['x']))])).toThrow(/steps\[0\]\.depends_on\[0\]/);
  });
});
