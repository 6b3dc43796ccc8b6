import { DEFAULT_WORKSPACE_CONFIG, SERVICE_TAG, validateWorkspaceProjects, type ServiceConfig, type WorkspaceConfig } from '@engex/workspace-config';
import { analyzeAffected, type AffectedAnalysis, type TaskNode, type WorkspaceProject } from '../src/core/affected.js';
import { filterFiles } from '../src/io/nx-adapter.js';
import { servicesByProject } from '../src/io/services.js';
import { normalizePlanOptions, type BaseSummary, type BuildContext, type PlanPipelineInput } from '../src/core/plan.js';
import type { CommandStep } from '../src/core/pipeline.js';

/** Branch, tag and project names that must stay inert all the way to the shell. */
export const HOSTILE = [
  'feat/$(id)',
  'feat/`touch /tmp/pwned`',
  "it's; rm -rf / #",
  'a"b\'c',
  'line1\nline2',
  '${HOME}',
  '$$',
  'back\\slash',
  'ünïcødé/ブランチ/🚀',
  '-rf',
  '*',
  '',
];

export const SHA = 'c0ffee0000000000000000000000000000000001';
export const BASE_SHA = 'ba5e000000000000000000000000000000000002';

const vitest = { executor: 'nx:run-commands', command: 'vitest run', outputs: ['{workspaceRoot}/coverage/{projectRoot}', '{projectRoot}/reports/junit.xml'] };

/** A small workspace: a library, and a service that depends on it. */
export const PROJECTS: WorkspaceProject[] = [
  {
    name: '@acme/util',
    root: 'libs/util',
    tags: [],
    metadata: {},
    targets: { lint: { executor: 'nx:run-commands' }, test: { ...vitest, cwd: 'libs/util' }, build: { executor: '@nx/esbuild:esbuild' } },
  },
  {
    name: '@acme/api',
    root: 'apps/api',
    tags: [SERVICE_TAG],
    metadata: { engex: { port: 3000 } },
    targets: { lint: { executor: 'nx:run-commands' }, test: { ...vitest, cwd: 'apps/api' }, build: { executor: '@nx/esbuild:esbuild' } },
  },
];

const DEPENDENCIES = new Map([['@acme/api', ['@acme/util']]]);
const DEFAULT = ['{projectRoot}/**/*', '{workspaceRoot}/tsconfig.base.json'];
const PRODUCTION = [...DEFAULT, '!{projectRoot}/**/*.spec.ts'];

/** Nx semantics of this workspace's nx.json: build uses production + ^production and ^build. */
export function analyze(changedFiles: string[], options: { all?: string; projects?: WorkspaceProject[] } = {}): AffectedAnalysis {
  const projects = options.projects ?? PROJECTS;
  const owners = new Map<string, string>();
  for (const f of changedFiles) {
    const p = projects.find((x) => f.startsWith(`${x.root}/`));
    if (p) owners.set(f, p.name);
  }
  return analyzeAffected({
    projects,
    dependencies: DEPENDENCIES,
    changedFiles,
    fileOwners: owners,
    // What Nx's implicit-dependency locator does for a workspace file in the projects' inputs.
    touchedBy: new Map(changedFiles.includes('tsconfig.base.json') ? projects.map((p) => [p.name, ['workspace file in its inputs changed']]) : []),
    all: options.all !== undefined,
    ...(options.all !== undefined ? { allReason: options.all } : {}),
    targets: ['lint', 'typecheck', 'test', 'build'],
    inputSpec: (_project, target) =>
      target === 'build'
        ? { self: PRODUCTION, dependencyInputs: ['production'], dependencyFilesets: [], dependencyOutputs: false, otherProjects: [] }
        : target === 'test'
          ? { self: DEFAULT, dependencyInputs: ['production'], dependencyFilesets: [], dependencyOutputs: false, otherProjects: [] }
          : { self: DEFAULT, dependencyInputs: [], dependencyFilesets: [], dependencyOutputs: false, otherProjects: [] },
    namedInputFilesets: (_p, input) => (input === 'production' ? PRODUCTION : DEFAULT),
    filterFiles,
    taskGraph: (names) => {
      const graph = new Map<string, TaskNode>();
      for (const name of names) {
        const project = projects.find((p) => p.name === name) as WorkspaceProject;
        for (const target of ['lint', 'test', 'build']) {
          if (!project.targets[target]) continue;
          const deps = target === 'build' ? (DEPENDENCIES.get(name) ?? []).map((d) => `${d}:build`) : [];
          graph.set(`${name}:${target}`, { project: name, target, deps });
          for (const d of deps) {
            const [dp] = d.split(':build') as [string];
            if (!graph.has(d)) graph.set(d, { project: dp, target: 'build', deps: [] });
          }
        }
      }
      return graph;
    },
  });
}

/** The services of `projects`, resolved as io/generate.ts does it: checked and resolved once, before planning. */
export function servicesOf(config: WorkspaceConfig, projects: readonly WorkspaceProject[]): Map<string, ServiceConfig> {
  return servicesByProject(validateWorkspaceProjects(config, projects), projects);
}

/** The input with another config and/or other projects, its services resolved again from them. */
export function reconfigured(input: PlanPipelineInput, change: { config?: Partial<WorkspaceConfig>; projects?: readonly WorkspaceProject[] }): PlanPipelineInput {
  const config = { ...input.config, ...change.config };
  const projects = change.projects ?? input.projects;
  return { ...input, config, projects, services: servicesOf(config, projects) };
}

export function planInput(
  context: Partial<BuildContext>,
  analysis: AffectedAnalysis,
  base: BaseSummary = { rule: 'pull-request', base: BASE_SHA, reason: 'pull request #42: merge-base of origin/main and HEAD.', notes: [] },
): PlanPipelineInput {
  // Test Engine on, as in this repo's engex.config.json, so the shapes show the upload.
  const config: WorkspaceConfig = { ...DEFAULT_WORKSPACE_CONFIG, testEngine: true };
  return {
    context: { commit: SHA, defaultBranch: 'main', ...context },
    base,
    config,
    projects: PROJECTS,
    services: servicesOf(config, PROJECTS),
    analysis,
    options: normalizePlanOptions({
      engexCi: ['node', 'libs/ci-lib/dist/engex-ci.cjs'],
      engexCiSetup: [{ kind: 'nx', nx: ['npx', 'nx'], project: '@engex/ci-lib', target: 'build', setup: true }],
      engexCiBundle: 'libs/ci-lib/dist/engex-ci.cjs',
    }),
  };
}

/**
 * A planner input for `n` projects, everything affected: a tree of libraries (each depends on
 * its parent, build on ^build) whose last three are services. No Nx needed.
 */
export function syntheticPlanInput(n: number): PlanPipelineInput {
  const projects: WorkspaceProject[] = Array.from({ length: n }, (_, i) => {
    const service = i >= n - 3;
    const name = `@syn/${service ? `svc-${n - i}` : `lib-${String(i).padStart(4, '0')}`}`;
    return {
      name,
      root: `${service ? 'apps' : 'libs'}/${name.slice(5)}`,
      tags: service ? [SERVICE_TAG] : [],
      metadata: {},
      targets: { lint: {}, test: vitest, build: {} },
    };
  });
  const parent = (i: number): number | undefined => (i === 0 ? undefined : Math.floor((i - 1) / 4));
  const analysis = analyzeAffected({
    projects,
    dependencies: new Map(projects.map((p, i) => [p.name, parent(i) === undefined ? [] : [(projects[parent(i) as number] as WorkspaceProject).name]])),
    changedFiles: [],
    fileOwners: new Map(),
    touchedBy: new Map(),
    all: true,
    allReason: '--all',
    targets: ['lint', 'typecheck', 'test', 'build'],
    inputSpec: () => ({ self: DEFAULT, dependencyInputs: [], dependencyFilesets: [], dependencyOutputs: false, otherProjects: [] }),
    namedInputFilesets: () => DEFAULT,
    filterFiles,
    taskGraph: () => {
      const graph = new Map<string, TaskNode>();
      projects.forEach((p, i) => {
        const up = parent(i);
        graph.set(`${p.name}:lint`, { project: p.name, target: 'lint', deps: [] });
        graph.set(`${p.name}:test`, { project: p.name, target: 'test', deps: [] });
        graph.set(`${p.name}:build`, { project: p.name, target: 'build', deps: up === undefined ? [] : [`${(projects[up] as WorkspaceProject).name}:build`] });
      });
      return graph;
    },
  });
  return reconfigured(planInput({ branch: 'main' }, analysis, { rule: 'all', reason: '--all', notes: [] }), { projects });
}

/** A minimal command step for tests of the pipeline's shape (split, validate), not its content. */
export function commandStep(key: string, dependsOn: string[] = [], extra: Partial<CommandStep> = {}): CommandStep {
  return {
    type: 'command',
    key,
    label: key,
    commands: [{ kind: 'exec', argv: ['true'] }],
    dependsOn,
    plugins: [],
    timeoutInMinutes: 5,
    agents: { queue: 'q' },
    retry: [],
    env: {},
    artifactPaths: [],
    meta: { kind: 'plan' },
    ...extra,
  };
}
