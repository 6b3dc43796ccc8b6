import type { ProjectGraph, ProjectGraphProjectNode, TaskGraph } from '@nx/devkit';
import { createTaskGraph } from 'nx/src/tasks-runner/create-task-graph.js';
import { createTaskId, getDependencyConfigs } from 'nx/src/tasks-runner/utils.js';
import type { TaskNode } from '../core/affected.js';
import { findCycle } from '../core/graph.js';

/**
 * The Nx adapter's task graph half (nx-adapter.ts reads the project graph and the affected set):
 * the CI targets' task graph, walked with Nx's own dependency rules. Like the adapter, it imports
 * private `nx/src/*` modules, so an Nx upgrade is checked in these two files only.
 */

/** Nx's own `createTaskGraph`, reduced to ids and dependencies (the reference `taskNodes` is checked against). */
export function nxTaskNodes(graph: ProjectGraph, names: readonly string[], targets: readonly string[]): Map<string, TaskNode> {
  return toTaskNodes(createTaskGraph(graph, {}, [...names], [...targets], undefined, {}));
}

/**
 * Nx's task graph for `targets` of `names`, reduced to ids and dependencies. It walks the same
 * rules as Nx's `ProcessTasks` (dependsOn read through Nx's own `getDependencyConfigs`, default
 * configurations in ids, targetless projects looked through like Nx's dummy tasks) but builds no
 * task objects: `createTaskGraph` also computes every task's outputs and then prunes its dummy
 * tasks, which at 1,000 projects costs more than the rest of the generator. nx-adapter.spec.ts
 * checks the result equals `createTaskGraph`.
 */
export function taskNodes(graph: ProjectGraph, names: readonly string[], targets: readonly string[]): Map<string, TaskNode> {
  return walkTaskGraph(graph, names, targets) ?? nxTaskNodes(graph, names, targets);
}

/**
 * The walk behind `taskNodes`; undefined where Nx's answer depends on its dummy-task cycle
 * handling (a dependency cycle through a project without the target), which it does not imitate.
 */
export function walkTaskGraph(graph: ProjectGraph, names: readonly string[], targets: readonly string[]): Map<string, TaskNode> | undefined {
  if (hasProjectCycle(graph)) return undefined;
  const nodes = graph.nodes;
  const allTargetNames = [...new Set(Object.values(nodes).flatMap((n) => Object.keys(n.data.targets ?? {})))];
  const out = new Map<string, { project: string; target: string; deps: Set<string> }>();
  const seen = new Set<string>();

  const idOf = (project: ProjectGraphProjectNode, target: string): string => {
    const config = project.data.targets?.[target];
    const conf = config?.defaultConfiguration !== undefined && config.configurations?.[config.defaultConfiguration] !== undefined ? config.defaultConfiguration : undefined;
    return createTaskId(project.name, target, conf);
  };
  const ensure = (project: ProjectGraphProjectNode, target: string): string => {
    const id = idOf(project, target);
    if (!out.has(id)) {
      out.set(id, { project: project.name, target, deps: new Set() });
      walk(id, project.name, target, project.name);
    }
    return id;
  };
  // Nx links a dummy task to its own task when dependsOn names the target itself: a cycle.
  let dummySelfLink = false;
  const link = (from: string, to: string, viaDummy: boolean): void => {
    if (from !== to) out.get(from)?.deps.add(to);
    else if (viaDummy) dummySelfLink = true;
  };
  // `deriveFrom` differs from `project` when looking through a dependency without the target.
  function walk(id: string, project: string, target: string, deriveFrom: string): void {
    const key = `${id}\u0000${deriveFrom}`;
    if (seen.has(key)) return;
    seen.add(key);
    const viaDummy = deriveFrom !== project;
    for (const config of getDependencyConfigs({ project, target }, {}, graph, allTargetNames) ?? []) {
      if (config.projects) {
        for (const p of config.projects) {
          const node = nodes[p];
          if (node?.data.targets?.[config.target]) link(id, ensure(node, config.target), viaDummy);
        }
      } else if (config.dependencies) {
        for (const dep of graph.dependencies[deriveFrom] ?? []) {
          const node = nodes[dep.target];
          if (!node) continue;
          if (node.data.targets?.[config.target]) link(id, ensure(node, config.target), viaDummy);
          else walk(id, project, target, node.name);
        }
      } else {
        const node = nodes[project];
        if (node?.data.targets?.[config.target]) link(id, ensure(node, config.target), viaDummy);
      }
    }
  }

  for (const name of names) {
    const node = nodes[name];
    if (!node) continue;
    for (const target of targets) if (node.data.targets?.[target]) ensure(node, target);
  }
  const result = new Map([...out].map(([id, t]) => [id, { project: t.project, target: t.target, deps: [...t.deps] }]));
  return dummySelfLink || hasCycle(result) ? undefined : result;
}

function hasProjectCycle(graph: ProjectGraph): boolean {
  const nodes = Object.keys(graph.nodes);
  return findCycle(nodes, (n) => (graph.dependencies[n] ?? []).map((e) => e.target).filter((t) => graph.nodes[t] !== undefined)) !== undefined;
}

function hasCycle(tasks: ReadonlyMap<string, TaskNode>): boolean {
  return findCycle(tasks.keys(), (id) => tasks.get(id)?.deps ?? []) !== undefined;
}

export function toTaskNodes(tg: TaskGraph): Map<string, TaskNode> {
  const out = new Map<string, TaskNode>();
  for (const [id, task] of Object.entries(tg.tasks)) {
    out.set(id, { project: task.target.project, target: task.target.target, deps: [...(tg.dependencies[id] ?? [])] });
  }
  return out;
}
