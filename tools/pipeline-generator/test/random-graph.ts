import type { ProjectGraph, ProjectGraphProjectNode } from '../src/io/nx-adapter.js';

function node(name: string, targets: ProjectGraphProjectNode['data']['targets']): ProjectGraphProjectNode {
  return { name, type: 'lib', data: { root: `libs/${name}`, targets } };
}

/**
 * A seeded random workspace: 80 projects with assorted dependsOn forms. Without `cycles` it is
 * what real workspaces look like: project dependencies point at lower-numbered projects, and a
 * target only names lower-ranked targets of its own project (lint < typecheck < build < test),
 * so there is no task cycle. With `cycles`, a few project edges point upward.
 */
export function randomGraph(seed: number, cycles: boolean): ProjectGraph {
  let s = seed;
  const rand = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const FORMS: Record<string, unknown[][]> = {
    lint: [[], ['^lint']],
    typecheck: [['^typecheck'], ['^typecheck', 'lint'], []],
    build: [['^build'], ['^build', 'typecheck'], [{ target: 'build', dependencies: true }], ['^typecheck', '^lint']],
    test: [['build'], ['^test'], ['build', { target: 'lint', projects: ['p3', 'p7'] }], []],
  };
  const nodes: ProjectGraph['nodes'] = {};
  const dependencies: ProjectGraph['dependencies'] = {};
  for (let i = 0; i < 80; i++) {
    const targets: Record<string, object> = {};
    for (const t of ['lint', 'typecheck', 'build', 'test']) {
      if (rand() < 0.75) {
        let form = pick(FORMS[t] as unknown[][]);
        if (i <= 7 && form.some((f) => typeof f === 'object')) form = [];
        targets[t] = { executor: 'nx:run-commands', dependsOn: form, ...(rand() < 0.2 ? { defaultConfiguration: 'ci', configurations: { ci: {} } } : {}) };
      }
    }
    nodes[`p${i}`] = node(`p${i}`, targets);
    dependencies[`p${i}`] = [];
    for (let k = 0; k < 3; k++) {
      const j = Math.floor(rand() * 80);
      if (j !== i && (j < i || (cycles && rand() < 0.05))) dependencies[`p${i}`]?.push({ source: `p${i}`, target: `p${j}`, type: 'static' });
    }
    if (rand() < 0.2) dependencies[`p${i}`]?.push({ source: `p${i}`, target: 'npm:left-pad', type: 'static' });
  }
  return { nodes, dependencies, externalNodes: { 'npm:left-pad': { name: 'npm:left-pad', type: 'npm', data: { version: '1.0.0', packageName: 'left-pad' } } } };
}
