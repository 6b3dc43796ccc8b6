import { describe, expect, it } from 'vitest';
import { randomGraph } from '../../test/random-graph.js';
import type { ProjectGraph, ProjectGraphProjectNode } from './nx-adapter.js';
import { nxTaskNodes, taskNodes, walkTaskGraph } from './nx-task-graph.js';

function node(name: string, targets: ProjectGraphProjectNode['data']['targets']): ProjectGraphProjectNode {
  return { name, type: 'lib', data: { root: `libs/${name}`, targets } };
}

const build = { executor: 'nx:run-commands', dependsOn: ['^build'], defaultConfiguration: 'production', configurations: { production: {}, development: {} } };
const typecheck = { executor: 'nx:run-commands', dependsOn: ['^typecheck'] };
const lint = { executor: 'nx:run-commands' };
const test = { executor: 'nx:run-commands', dependsOn: ['build', { target: 'lint', projects: ['d'] }] };
/** Two ^ entries: looking through a project without `e2e` applies both, as Nx's dummy tasks do. */
const e2e = { executor: 'nx:run-commands', dependsOn: ['^e2e', '^lint', 'typecheck'] };

/** app -> mid (no build of its own) -> base; d is only named by test's dependsOn. */
const graph: ProjectGraph = {
  nodes: {
    app: node('app', { build, typecheck, lint, test, e2e }),
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

const norm = (m: Map<string, { project: string; target: string; deps: readonly string[] }>) =>
  Object.fromEntries([...m].map(([id, t]) => [id, { ...t, deps: [...t.deps].sort() }]).sort(([a], [b]) => (a < b ? -1 : 1)));

describe('taskNodes', () => {
  it('walks most random workspaces itself (the comparisons below test the walk, not the fallback)', () => {
    const walked = [1, 2, 3, 4, 5, 8, 9, 10].filter((seed) => {
      const g = randomGraph(seed * 7919, false);
      return walkTaskGraph(g, Object.keys(g.nodes), ['lint', 'typecheck', 'test', 'build']) !== undefined;
    });
    expect(walked).toHaveLength(8);
  });

  it.each([
    [1, false],
    [2, false],
    [3, false],
    [4, false],
    [5, false],
    [8, false],
    [9, false],
    [10, false],
    [6, true],
    [7, true],
  ])('matches Nx createTaskGraph on random workspace %i (project cycles: %s)', (seed, cycles) => {
    const g = randomGraph(seed * 7919, cycles);
    const names = Object.keys(g.nodes).filter((_, i) => i % 3 !== 0);
    const targets = ['lint', 'typecheck', 'test', 'build'];
    expect(norm(taskNodes(g, names, targets))).toEqual(norm(nxTaskNodes(g, names, targets)));
  });

  it.each([[['app', 'mid', 'base', 'd']], [['app']], [['base', 'mid']], [['mid', 'app']]])('matches Nx createTaskGraph for %j', (names) => {
    const targets = ['lint', 'typecheck', 'test', 'build', 'e2e'];
    const ours = taskNodes(graph, names, targets);
    const nx = nxTaskNodes(graph, names, targets);
    expect(norm(ours)).toEqual(norm(nx));
  });
});
