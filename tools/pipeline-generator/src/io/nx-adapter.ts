import { createProjectGraphAsync } from 'nx/src/project-graph/project-graph.js';
import type { NxJsonConfiguration, ProjectGraph, ProjectGraphProjectNode, TaskGraph } from '@nx/devkit';
import { taskNodes } from './nx-task-graph.js';
import { readNxJson } from 'nx/src/config/nx-json.js';
import { workspaceRoot } from 'nx/src/utils/workspace-root.js';
import { calculateFileChanges, readPackageJson, type FileChange } from 'nx/src/project-graph/file-utils.js';
import { createProjectRootMappings, findProjectForPath } from 'nx/src/project-graph/utils/find-project-for-path.js';
import { getImplicitlyTouchedProjects } from 'nx/src/project-graph/affected/locators/workspace-projects.js';
import { getTouchedProjectsFromProjectGlobChanges } from 'nx/src/project-graph/affected/locators/project-glob-changes.js';
import { getTouchedProjects as getTouchedJsProjects } from 'nx/src/plugins/js/project-graph/affected/touched-projects.js';
import { cleanupPlugins } from 'nx/src/project-graph/plugins/get-plugins.js';
import { expandNamedInput, filterUsingGlobPatterns, getNamedInputs, splitInputsIntoSelfAndDependencies } from 'nx/src/hasher/task-hasher.js';
import { WorkspaceError } from '../core/errors.js';
import { analyzeAffected, type AffectedAnalysis, type TargetInputSpec, type WorkspaceProject, type WorkspaceTarget } from '../core/affected.js';

/**
 * The one door to Nx. Every `nx/src/*` import of the generator is in this file and its task-graph
 * half, nx-task-graph.ts: they are private Nx modules (why Nx is pinned exactly), so an Nx
 * upgrade is checked there and nowhere else. Types
 * come from `@nx/devkit`, the public API. The `@nx/devkit` runtime entry is not used: it loads
 * generator utilities the pipeline never needs, and startup time is benchmarked.
 */

export type { NxJsonConfiguration, ProjectGraph, ProjectGraphProjectNode, TaskGraph };

/** The workspace the generator runs in: its root (Nx's rule: nearest nx.json) and nx.json. */
export function readNxWorkspace(): { root: string; nxJson: NxJsonConfiguration } {
  return { root: workspaceRoot, nxJson: readNxJson() };
}

export interface ReadAffectedOptions {
  /** Absent: every project is affected (`--all`, or no base could be established). */
  base?: string;
  /** Absent: the working tree, uncommitted and untracked files included (as `nx affected`). */
  head?: string;
  /** The CI targets to consider, e.g. lint, typecheck, test, build. */
  targets: readonly string[];
  /**
   * The exact changed paths between `base` and `head` (git.ts `changedFiles`, NUL-separated).
   * Nx's own reading (`parseFiles`) lists `--name-only` output without `-z`, where git quotes
   * non-ASCII names, so it is never used. Required when `base` is given.
   */
  changedFiles?: readonly string[];
  /** Projects to treat as changed whatever the files say, with why (a service whose deployed commit is unknown). */
  touched?: ReadonlyMap<string, string>;
  /** Why everything runs, when `base` is absent. */
  allReason?: string;
}

/** The Nx project graph, read in-process (no daemon, no `nx` child process). */
export async function readProjectGraph(): Promise<{ graph: ProjectGraph; nxJson: NxJsonConfiguration }> {
  try {
    const graph = await createProjectGraphAsync({ exitOnError: false });
    return { graph, nxJson: readNxJson() };
  } catch (error) {
    throw new WorkspaceError(`Could not read the Nx project graph: ${(error as Error).message}\nRun \`npx nx show projects\` to see the underlying error.`, { cause: error });
  }
}

/**
 * Everything the planner needs from Nx: the projects, the changed files, which projects Nx
 * considers affected and why, and the task graph of their CI targets. All of it comes from
 * Nx's own functions, so the answer matches `nx show projects --affected`.
 */
export async function readAffected(
  graph: ProjectGraph,
  nxJson: NxJsonConfiguration,
  options: ReadAffectedOptions,
): Promise<{ projects: WorkspaceProject[]; analysis: AffectedAnalysis }> {
  const nodes = graph.nodes;
  const projects = Object.values(nodes).map(toWorkspaceProject);
  const all = options.base === undefined;

  let changedFiles: string[] = [];
  const touchedBy = new Map<string, string[]>();
  const addTouch = (names: readonly string[], why: string): void => {
    for (const name of names) {
      const list = touchedBy.get(name) ?? [];
      if (!list.includes(why)) list.push(why);
      touchedBy.set(name, list);
    }
  };
  let owner = new Map<string, string>();

  if (!all) {
    if (options.changedFiles === undefined) throw new WorkspaceError('readAffected: a base without its changed files; list them with Git.changedFiles.');
    changedFiles = [...options.changedFiles];
    const changes = calculateFileChanges(changedFiles, { base: options.base, head: options.head } as Parameters<typeof calculateFileChanges>[1]);
    // Ignored files (by .nxignore/.gitignore) are not changes for Nx; keep the same list.
    changedFiles = changes.map((c) => c.file);
    const rootMap = createProjectRootMappings(nodes);
    owner = new Map();
    for (const f of changedFiles) {
      const p = findProjectForPath(f, rootMap);
      if (p) owner.set(f, p);
    }
    const globalFiles = changedFiles.filter((f) => !owner.has(f));
    const packageJson = readPackageJson();
    if (globalFiles.includes('nx.json')) addTouch(Object.keys(nodes), 'nx.json changed');
    const implicit = await getImplicitlyTouchedProjects(changes, nodes, nxJson, packageJson, graph);
    if (!globalFiles.includes('nx.json')) addTouch(implicit, 'workspace file in its inputs changed');
    const glob = await getTouchedProjectsFromProjectGlobChanges(changes, nodes, nxJson, packageJson, graph, true);
    addTouch(glob, 'a project was deleted');
    const js = await getTouchedJsProjects(changes as FileChange[], nodes, nxJson, packageJson, graph);
    addTouch(js, 'npm dependencies or tsconfig paths changed');
    for (const [name, why] of options.touched ?? []) if (nodes[name]) addTouch([name], why);
  }

  // Nx keeps its plugin workers (one node process per plugin) until exit, and they stay busy for
  // a while; the graph is built and the locators ran, so stop them now rather than pay for them.
  cleanupPlugins();
  const specs = new Map<string, TargetInputSpec>();
  const named = new Map<string, string[]>();
  const analysis = analyzeAffected({
    projects,
    dependencies: projectDependencies(graph),
    changedFiles,
    fileOwners: owner,
    touchedBy,
    all,
    allReason: options.allReason,
    targets: options.targets,
    inputSpec: (project, target) => {
      // Most projects share their inputs (target defaults, nx.json named inputs): convert once.
      const node = nodeOf(nodes, project);
      const key = `${target}\u0000${JSON.stringify(node.data.targets?.[target]?.inputs ?? null)}\u0000${JSON.stringify(node.data.namedInputs ?? null)}`;
      let spec = specs.get(key);
      if (!spec) specs.set(key, (spec = toInputSpec(nxJson, node, target)));
      return spec;
    },
    namedInputFilesets: (project, input) => {
      const key = `${project}\u0000${input}`;
      let filesets = named.get(key);
      if (!filesets) named.set(key, (filesets = namedInputFilesets(nxJson, nodeOf(nodes, project), input)));
      return filesets;
    },
    filterFiles,
    taskGraph: (names) => taskNodes(graph, names, options.targets),
  });
  return { projects, analysis };
}

function nodeOf(nodes: ProjectGraph['nodes'], name: string): ProjectGraphProjectNode {
  const node = nodes[name];
  if (!node) throw new WorkspaceError(`Project ${name} is not in the Nx project graph; run \`npx nx reset\` and try again.`);
  return node;
}

function toWorkspaceProject(node: ProjectGraphProjectNode): WorkspaceProject {
  const targets: Record<string, WorkspaceTarget> = {};
  for (const [name, t] of Object.entries(node.data.targets ?? {})) {
    const opts = (t.options ?? {}) as Record<string, unknown>;
    targets[name] = {
      executor: t.executor || undefined,
      command: typeof opts['command'] === 'string' ? opts['command'] : undefined,
      cwd: typeof opts['cwd'] === 'string' ? opts['cwd'] : undefined,
      outputs: t.outputs?.length ? [...t.outputs] : undefined,
    };
  }
  return {
    name: node.name,
    root: node.data.root,
    tags: node.data.tags ?? [],
    metadata: (node.data.metadata ?? {}) as Record<string, unknown>,
    targets,
  };
}

function projectDependencies(graph: ProjectGraph): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const [source, edges] of Object.entries(graph.dependencies)) {
    deps.set(
      source,
      edges.map((e) => e.target),
    );
  }
  return deps;
}

/** Nx's default when a target declares no inputs: everything in the project and its deps. */
const DEFAULT_INPUTS = ['default', '^default'];

/**
 * A target's inputs as Nx's hasher reads them (named inputs expanded, `^` split off), reduced to
 * what a file change can reach. Anything that is not a fileset (env, runtime, npm packages) is
 * not a file change; npm changes reach projects through Nx's lock-file locator instead.
 */
export function toInputSpec(nxJson: NxJsonConfiguration, node: ProjectGraphProjectNode, target: string): TargetInputSpec {
  const named = getNamedInputs(nxJson, node);
  const inputs = node.data.targets?.[target]?.inputs ?? DEFAULT_INPUTS;
  const split = splitInputsIntoSelfAndDependencies(inputs, named);
  return {
    self: split.selfInputs.flatMap((i) => ('fileset' in i && typeof i.fileset === 'string' ? [i.fileset] : [])),
    dependencyInputs: split.depsInputs.map((d) => d.input),
    dependencyFilesets: split.depsFilesets.map((d) => d.fileset),
    dependencyOutputs: split.depsOutputs.length > 0,
    otherProjects: split.projectInputs.flatMap((p) => p.projects),
  };
}

/** The filesets of `input` as `node` defines it (a dependency may override a named input). */
export function namedInputFilesets(nxJson: NxJsonConfiguration, node: ProjectGraphProjectNode, input: string): string[] {
  const named = getNamedInputs(nxJson, node) as Record<string, unknown>;
  if (!named[input]) return [];
  return expandNamedInput(input, named as Parameters<typeof expandNamedInput>[1]).flatMap((i) => ('fileset' in i && typeof i.fileset === 'string' ? [i.fileset] : []));
}

/** Nx's own glob filter, on plain paths. */
export function filterFiles(root: string, files: readonly string[], patterns: readonly string[]): string[] {
  return filterUsingGlobPatterns(
    root,
    files.map((file) => ({ file, hash: '' })),
    [...patterns],
  ).map((f) => f.file);
}
