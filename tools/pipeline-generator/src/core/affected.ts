/**
 * Which projects and which of their CI tasks a change affects, and why. Pure: the Nx-specific
 * pieces (input definitions, glob filtering, the task graph) arrive as data and functions, so the
 * rules here are testable without a workspace.
 */

import { postOrder, reachable } from './graph.js';

/** Only what the planner reads from a target. */
export interface WorkspaceTarget {
  executor?: string;
  command?: string;
  cwd?: string;
  /** Nx `outputs` as declared (`{projectRoot}/reports/junit.xml`): what a run writes and a cache hit restores. */
  outputs?: readonly string[];
}

export interface WorkspaceProject {
  name: string;
  root: string;
  tags: readonly string[];
  metadata: Readonly<Record<string, unknown>>;
  targets: Readonly<Record<string, WorkspaceTarget>>;
}

/** A target's inputs, as Nx defines them, reduced to what file changes can reach. */
export interface TargetInputSpec {
  /** The target's own filesets, e.g. `{projectRoot}/**\/*`, `!{projectRoot}/**\/*.spec.ts`, `{workspaceRoot}/tsconfig.base.json`. */
  self: readonly string[];
  /** Named inputs taken from every (transitive) dependency, e.g. `production` for `^production`. */
  dependencyInputs: readonly string[];
  /** Filesets applied to every dependency, e.g. `{projectRoot}/**\/*.d.ts` for `{ fileset, dependencies: true }`. */
  dependencyFilesets: readonly string[];
  /** The target hashes its dependency tasks' outputs (`dependentTasksOutputFiles`). */
  dependencyOutputs: boolean;
  /** Projects named explicitly in `{ input, projects }`. */
  otherProjects: readonly string[];
}

export interface TaskNode {
  project: string;
  target: string;
  /** Task ids this task depends on (Nx task graph). */
  deps: readonly string[];
}

export interface AnalyzeAffectedInput {
  projects: readonly WorkspaceProject[];
  /** Project (or external node) → the nodes it depends on. */
  dependencies: ReadonlyMap<string, readonly string[]>;
  changedFiles: readonly string[];
  /** Changed file → the project that owns it; files missing here are workspace files. */
  fileOwners: ReadonlyMap<string, string>;
  /** Nodes Nx touched for a reason other than owning a changed file (nx.json, lock file, …). */
  touchedBy: ReadonlyMap<string, readonly string[]>;
  /** Every project is affected; `allReason` says why. */
  all: boolean;
  allReason?: string;
  targets: readonly string[];
  inputSpec: (project: string, target: string) => TargetInputSpec;
  /** The filesets of a named input as defined for `project` (a dependency). */
  namedInputFilesets: (project: string, input: string) => readonly string[];
  /** Nx's glob filter: the files among `files` that `patterns` select for a project at `root`. */
  filterFiles: (root: string, files: readonly string[], patterns: readonly string[]) => string[];
  /** The Nx task graph of `targets` for the given projects. */
  taskGraph: (projects: readonly string[]) => ReadonlyMap<string, TaskNode>;
}

export interface AffectedProject {
  name: string;
  /** Changed files inside the project. */
  files: string[];
  /** Why Nx touched it besides its own files. */
  touchedBy: string[];
  /** For a project affected through dependencies: itself, then each dependency down to a touched one. */
  via?: string[];
}

export interface AffectedTask {
  /** Nx task id, `<project>:<target>`. */
  id: string;
  project: string;
  target: string;
  /** Emitted tasks this one waits for (the Nx task graph, collapsed over tasks that do not run). */
  dependsOn: string[];
  /** Why it runs, one line. */
  why: string;
}

export interface SkippedTask {
  project: string;
  target: string;
  why: string;
}

export interface AffectedAnalysis {
  all: boolean;
  allReason?: string;
  changedFiles: string[];
  /** Sorted by name. */
  affected: AffectedProject[];
  /** Dependencies first, then by project and target order. */
  tasks: AffectedTask[];
  /** CI targets of affected projects that do not run because no change reaches their inputs. */
  skipped: SkippedTask[];
  projectCount: number;
  /** Project → the projects it depends on (the Nx project graph), for a deploy's dependency closure. */
  dependencies: ReadonlyMap<string, readonly string[]>;
}

const IMPLICIT = 'workspace file in its inputs changed';

export function analyzeAffected(input: AnalyzeAffectedInput): AffectedAnalysis {
  const byName = new Map(input.projects.map((p) => [p.name, p]));
  const ownFiles = new Map<string, string[]>();
  const globalFiles: string[] = [];
  for (const f of input.changedFiles) {
    const owner = input.fileOwners.get(f);
    if (owner === undefined) globalFiles.push(f);
    else {
      const list = ownFiles.get(owner);
      if (list) list.push(f);
      else ownFiles.set(owner, [f]);
    }
  }

  // Reverse edges, sorted so dependency paths are deterministic.
  const dependents = new Map<string, string[]>();
  for (const [source, targets] of input.dependencies) {
    for (const t of targets) dependents.set(t, [...(dependents.get(t) ?? []), source]);
  }
  for (const list of dependents.values()) list.sort();

  const touched = new Set<string>([...ownFiles.keys(), ...input.touchedBy.keys()]);
  const affectedNames = new Set<string>();
  const parent = new Map<string, string>();
  if (input.all) {
    for (const p of input.projects) affectedNames.add(p.name);
  } else {
    // Breadth-first from every touched node: the first path found is a shortest one.
    const walk = reachable([...touched].sort(), (node) => dependents.get(node) ?? []);
    for (const node of walk.order) if (byName.has(node)) affectedNames.add(node);
    for (const [node, from] of walk.parent) parent.set(node, from);
  }

  const affected: AffectedProject[] = [...affectedNames].sort().map((name) => {
    const entry: AffectedProject = { name, files: ownFiles.get(name) ?? [], touchedBy: [...(input.touchedBy.get(name) ?? [])] };
    if (!input.all && !touched.has(name)) {
      const via = [name];
      for (let n = parent.get(name); n !== undefined; n = parent.get(n)) via.push(n);
      entry.via = via;
    }
    return entry;
  });

  const graph = input.taskGraph([...affectedNames].sort());
  const order = topologicalOrder(graph, input.targets);
  const kept = new Map<string, string>();
  const skipped: SkippedTask[] = [];
  const everything = input.all || globalFiles.includes('nx.json');

  // Touched nodes each project reaches through its dependencies (only needed to refine tasks).
  const touchedDeps = everything ? new Map<string, Set<string>>() : reachedFrom(touched, dependents);

  const reach = makeReach(input, ownFiles, globalFiles);
  // What a dependency's changes show a target through its `^` inputs; most targets share specs.
  const viaDep = new Map<TargetInputSpec, Map<string, string[]>>();
  const reachDep = (spec: TargetInputSpec, dep: WorkspaceProject): string[] => {
    let byDep = viaDep.get(spec);
    if (!byDep) viaDep.set(spec, (byDep = new Map()));
    let files = byDep.get(dep.name);
    if (!files) {
      const patterns = [...spec.dependencyInputs.flatMap((n) => input.namedInputFilesets(dep.name, n)), ...spec.dependencyFilesets];
      byDep.set(dep.name, (files = reach(patterns, dep)));
    }
    return files;
  };
  for (const id of order) {
    const task = graph.get(id) as TaskNode;
    if (!affectedNames.has(task.project)) continue;
    if (everything) {
      kept.set(id, input.all ? (input.allReason ?? 'every project runs') : 'nx.json changed');
      continue;
    }
    const why = taskReason(input, task, byName, reach, reachDep, touchedDeps.get(task.project), affectedNames, graph, kept);
    if (why.run) kept.set(id, why.text);
    else skipped.push({ project: task.project, target: task.target, why: why.text });
  }

  const tasks: AffectedTask[] = [];
  const collapsed = new Map<string, string[]>();
  for (const id of order) {
    const why = kept.get(id);
    const task = graph.get(id) as TaskNode;
    if (why === undefined) continue;
    tasks.push({ id, project: task.project, target: task.target, dependsOn: collapseDeps(id, graph, kept, collapsed), why });
  }
  return {
    all: input.all,
    ...(input.allReason !== undefined && input.all ? { allReason: input.allReason } : {}),
    changedFiles: [...input.changedFiles],
    affected,
    tasks,
    skipped,
    projectCount: input.projects.length,
    dependencies: input.dependencies,
  };
}

function taskReason(
  input: AnalyzeAffectedInput,
  task: TaskNode,
  byName: ReadonlyMap<string, WorkspaceProject>,
  reach: Reach,
  reachDep: (spec: TargetInputSpec, dep: WorkspaceProject) => string[],
  deps: ReadonlySet<string> | undefined,
  affectedNames: ReadonlySet<string>,
  graph: ReadonlyMap<string, TaskNode>,
  kept: ReadonlyMap<string, string>,
): { run: boolean; text: string } {
  const project = byName.get(task.project) as WorkspaceProject;
  const strong = (input.touchedBy.get(project.name) ?? []).filter((r) => r !== IMPLICIT);
  if (strong.length > 0) return { run: true, text: strong.join('; ') };

  const spec = input.inputSpec(project.name, task.target);
  const own = reach(spec.self, project);
  if (own.length > 0) return { run: true, text: `inputs changed: ${list(own)}` };

  const named = spec.otherProjects.filter((p) => affectedNames.has(p));
  if (named.length > 0) return { run: true, text: `input project affected: ${list(named)}` };

  for (const dep of [...(deps ?? [])].sort()) {
    if (dep === project.name) continue;
    const depProject = byName.get(dep);
    if (!depProject) return { run: true, text: `dependency ${dep} changed` };
    const depStrong = (input.touchedBy.get(dep) ?? []).filter((r) => r !== IMPLICIT);
    if (depStrong.length > 0) return { run: true, text: `dependency ${dep}: ${depStrong.join('; ')}` };
    const files = reachDep(spec, depProject);
    if (files.length > 0) return { run: true, text: `dependency ${dep} inputs changed: ${list(files)}` };
  }

  if (spec.dependencyOutputs) {
    const upstream = transitiveDeps(task, graph).find((d) => kept.has(d));
    if (upstream !== undefined) return { run: true, text: `consumes outputs of ${upstream}, which runs` };
  }
  return { run: false, text: 'no change reaches its inputs' };
}

type Reach = (patterns: readonly string[], project: WorkspaceProject) => string[];

/** Memoized per project and pattern list: at 1,000 projects most targets share their inputs. */
function makeReach(input: AnalyzeAffectedInput, ownFiles: ReadonlyMap<string, readonly string[]>, globalFiles: readonly string[]): Reach {
  const memo = new Map<string, string[]>();
  return (patterns, project) => {
    const own = ownFiles.get(project.name) ?? [];
    if (patterns.length === 0 || (own.length === 0 && globalFiles.length === 0)) return [];
    const key = `${project.name}\u0000${patterns.join('\u0000')}`;
    let files = memo.get(key);
    if (!files) memo.set(key, (files = filesReaching(input, patterns, project.root, own, globalFiles)));
    return files;
  };
}

/** Files (own, or workspace-level) that a target's filesets select. */
function filesReaching(input: AnalyzeAffectedInput, patterns: readonly string[], root: string, own: readonly string[], global: readonly string[]): string[] {
  if (patterns.length === 0 || (own.length === 0 && global.length === 0)) return [];
  const ws = (p: string): boolean => p.startsWith('{workspaceRoot}/');
  const strip = (p: string): string => (ws(p) ? p.slice('{workspaceRoot}/'.length) : p);
  const negatives = patterns.filter((p) => p.startsWith('!')).map((p) => `!${strip(p.slice(1))}`);
  const positives = patterns.filter((p) => !p.startsWith('!'));
  const projectPositives = positives.filter((p) => !ws(p));
  const workspacePositives = positives.filter(ws).map(strip);
  const out: string[] = [];
  if (own.length > 0 && projectPositives.length > 0) out.push(...input.filterFiles(root, own, [...projectPositives, ...negatives]));
  // Placeholder-free globs are workspace-relative and may select a workspace file too.
  const loose = projectPositives.filter((p) => !p.includes('{projectRoot}'));
  const globalPatterns = [...workspacePositives, ...loose];
  if (global.length > 0 && globalPatterns.length > 0) out.push(...input.filterFiles(root, global, [...globalPatterns, ...negatives]));
  return [...new Set(out)];
}

/** For each project, the touched nodes it depends on (itself included when touched). */
function reachedFrom(touched: ReadonlySet<string>, dependents: ReadonlyMap<string, readonly string[]>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const start of touched) {
    for (const node of reachable([start], (n) => dependents.get(n) ?? []).order) {
      let set = out.get(node);
      if (!set) out.set(node, (set = new Set()));
      set.add(start);
    }
  }
  return out;
}

function transitiveDeps(task: TaskNode, graph: ReadonlyMap<string, TaskNode>): string[] {
  return reachable(task.deps, (id) => graph.get(id)?.deps ?? []).order.sort();
}

/** Dependencies first; ties by project name, then by the order of `targets`. */
function topologicalOrder(graph: ReadonlyMap<string, TaskNode>, targets: readonly string[]): string[] {
  const rank = new Map<string, number>();
  for (const [id, t] of graph) {
    const i = targets.indexOf(t.target);
    rank.set(id, i === -1 ? targets.length : i);
  }
  const compare = (a: string, b: string): number => {
    const ta = graph.get(a) as TaskNode;
    const tb = graph.get(b) as TaskNode;
    if (ta.project !== tb.project) return ta.project < tb.project ? -1 : 1;
    return (rank.get(a) as number) - (rank.get(b) as number) || (ta.target < tb.target ? -1 : ta.target > tb.target ? 1 : 0);
  };
  const ids = [...graph.keys()].sort(compare);
  return postOrder(ids, (id) => {
    const deps = (graph.get(id)?.deps ?? []).filter((d) => graph.has(d));
    return deps.length > 1 ? deps.sort(compare) : deps;
  });
}

/** The nearest kept tasks behind `id`, looking through tasks that do not run. */
function collapseDeps(id: string, graph: ReadonlyMap<string, TaskNode>, kept: ReadonlyMap<string, string>, memo: Map<string, string[]>): string[] {
  const out = new Set<string>();
  for (const d of graph.get(id)?.deps ?? []) {
    if (kept.has(d)) out.add(d);
    else {
      let through = memo.get(d);
      if (!through) {
        memo.set(d, []);
        through = collapseDeps(d, graph, kept, memo);
        memo.set(d, through);
      }
      through.forEach((x) => out.add(x));
    }
  }
  return [...out].sort();
}

function list(items: readonly string[], max = 3): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
