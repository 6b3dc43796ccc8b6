import type { ProjectGraph, ProjectGraphProjectNode } from 'nx/src/config/project-graph.js';
import { createTaskGraph } from 'nx/src/tasks-runner/create-task-graph.js';
import { describe, expect, it } from 'vitest';
import { taskNodes, toTaskNodes } from './read-affected.js';

function node(name: string, targets: ProjectGraphProjectNode['data']['targets']): ProjectGraphProjectNode {
  return { name, type: 'lib', data: { root: `libs/${name}`, targets } };
}

const build = { executor: 'nx:run-commands', dependsOn: ['^build'], defaultConfiguration: 'production', configurations: { production: {}, development: {} } };
const typecheck = { executor: 'nx:run-commands', dependsOn: ['^typecheck'] };
const lint = { executor: 'nx:run-commands' };
const test = { executor: 'nx:run-commands', dependsOn: ['build', { target: 'lint', projects: ['d'] }] };

/** app -> mid (no build of its own) -> base; d is only named by test's dependsOn. */
const graph: ProjectGraph = {
  nodes: {
    app: node('app', { build, typecheck, lint, test }),
    mid: node('mid', { typecheck, lint }),
    base: node('base', { build, typecheck, lint: { ...lint, defaultConfiguration: 'ci', configurations: { ci: {} } } }),
    d: node('d', { lint }),
  },
  dependencies: {
    app: [{ source: 'app', target: 'mid', type: 'static' }],
    mid: [{ source: 'mid', target: 'base', type: 'static' }],
    base: [],
    d: [],
  },
};

describe('taskNodes', () => {
  it.each([
    [['app', 'mid', 'base', 'd']],
    [['app']],
    [['base', 'mid']],
  ])('matches Nx createTaskGraph for %j', (names) => {
    const targets = ['lint', 'typecheck', 'test', 'build'];
    const ours = taskNodes(graph, names, targets);
    const nx = toTaskNodes(createTaskGraph(graph, {}, names, targets, undefined, {}));
    const norm = (m: Map<string, { project: string; target: string; deps: readonly string[] }>) =>
      Object.fromEntries([...m].map(([id, t]) => [id, { ...t, deps: [...t.deps].sort() }]).sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(norm(ours)).toEqual(norm(nx));
  });
});
