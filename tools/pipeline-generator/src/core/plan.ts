import {
  deployTargetFor,
  resolveServiceConfig,
  type ServiceConfig,
  type WorkspaceConfig,
} from '@engex/ci-lib';
import type { AffectedAnalysis, AffectedTask, WorkspaceProject } from './affected.js';
import { stableOrder } from './graph.js';
import { keyPart, projectSlugs } from './keys.js';
import type {
  AutomaticRetry,
  CommandStep,
  GroupStep,
  ImageRef,
  Pipeline,
  PipelineStep,
  PluginUse,
  StepCommand,
  StepMeta,
} from './pipeline.js';
import type { BaseSummary, BuildContext, ServicePlan } from './context.js';
import { planAnnotation } from './summary.js';

export type { BaseSummary, BuildContext } from './context.js';


/** Planner options with every default applied (see `normalizePlanOptions`). */
export interface PlanOptions {
  /** CI targets, in display order. */
  targets: readonly string[];
  /** Prefixed to every step that needs the workspace's dependencies. */
  setup: readonly StepCommand[];
  /** Argument vector that runs Nx, e.g. `npx nx`. */
  nx: readonly string[];
  /** Argument vector that runs the `engex-ci` CLI. */
  engexCi: readonly string[];
  /** Makes `engexCi` runnable (e.g. builds its bundle); after `setup`. */
  engexCiSetup: readonly StepCommand[];
  /** Step timeouts in minutes. */
  timeouts: { task: number; image: number; scan: number; smoke: number; deploy: number; plan: number };
}

export interface PlanPipelineInput {
  context: BuildContext;
  base: BaseSummary;
  config: WorkspaceConfig;
  projects: readonly WorkspaceProject[];
  analysis: AffectedAnalysis;
  options: PlanOptions;
}

export interface PlanOptionsInput {
  targets?: readonly string[];
  setup?: readonly StepCommand[];
  nx?: readonly string[];
  engexCi?: readonly string[];
  engexCiSetup?: readonly StepCommand[];
  timeouts?: Partial<PlanOptions['timeouts']>;
}

/** Default CI targets: whichever of these a project defines. */
export const DEFAULT_TARGETS = ['lint', 'typecheck', 'test', 'build'] as const;

export function normalizePlanOptions(input: PlanOptionsInput = {}): PlanOptions {
  return {
    targets: input.targets ?? DEFAULT_TARGETS,
    setup: input.setup ?? [{ argv: ['npm', 'ci', '--no-audit', '--no-fund'], role: 'setup' }],
    nx: input.nx ?? ['npx', 'nx'],
    engexCi: input.engexCi ?? ['npx', '--no', 'engex-ci'],
    engexCiSetup: input.engexCiSetup ?? [],
    timeouts: { task: 10, image: 20, scan: 10, smoke: 10, deploy: 5, plan: 5, ...input.timeouts },
  };
}

/** Agent loss: the job's agent vanished (-1) or was stopped/lost its connection (255). */
export const AGENT_LOST_RETRY: readonly AutomaticRetry[] = [
  { exitStatus: -1, limit: 2 },
  { exitStatus: 255, limit: 2 },
];

export const PLAN_STEP_KEY = 'engex-plan';

/** Files outside any project that still change what an image contains. */
const IMAGE_WORKSPACE_INPUTS = [/^docker\//, /^\.dockerignore$/, /^engex\.config\.json$/];

/**
 * Affected set + project metadata + config + context → pipeline. Pure: the same input always
 * gives the same pipeline, so it is pinned with snapshots.
 */
export function planPipeline(input: PlanPipelineInput): Pipeline {
  return planDetailed(input).pipeline;
}

/** `planPipeline`, plus what happened to each affected service (for summaries). */
export function planDetailed(input: PlanPipelineInput): { pipeline: Pipeline; services: ServicePlan[]; jobs: number } {
  const { analysis, config, context, options } = input;
  const byName = new Map(input.projects.map((p) => [p.name, p]));
  const slugs = projectSlugs(input.projects.map((p) => p.name), [PLAN_STEP_KEY]);
  const common = {
    agents: { queue: config.agents.queue },
    retry: AGENT_LOST_RETRY,
    env: {},
    artifactPaths: [] as string[],
    plugins: [] as PluginUse[],
  };

  const taskKeys = new Map<string, string>();
  const tasksByProject = new Map<string, AffectedTask[]>();
  for (const task of analysis.tasks) {
    tasksByProject.set(task.project, [...(tasksByProject.get(task.project) ?? []), task]);
  }
  const rank = (target: string): number => {
    const i = options.targets.indexOf(target);
    return i === -1 ? options.targets.length : i;
  };
  for (const tasks of tasksByProject.values()) tasks.sort((a, b) => rank(a.target) - rank(b.target));
  for (const [project, tasks] of tasksByProject) {
    const used = new Set(['image', 'scan', 'smoke', 'deploy']);
    for (const t of tasks) {
      let part = keyPart(t.target);
      for (let i = 2; used.has(part); i++) part = `${keyPart(t.target)}-${i}`;
      used.add(part);
      taskKeys.set(t.id, `${slugs.get(project)}:${part}`);
    }
  }

  const deployable = deployContext(context);
  const imageInputsChanged = analysis.changedFiles.filter((f) => IMAGE_WORKSPACE_INPUTS.some((re) => re.test(f)));
  const groups: GroupStep[] = [];

  const services: ServicePlan[] = [];
  const ecr: PluginUse = {
    ref: config.plugins.ecr,
    config: { login: true, account_ids: config.registry.account, region: config.registry.region },
  };
  /** Image, scan, smoke and (per branch) deploy steps of one service, after `taskSteps`. */
  const serviceSteps = (service: ServiceConfig, slug: string, taskSteps: readonly CommandStep[], why?: string): CommandStep[] => {
    const project = byName.get(service.project) as WorkspaceProject;
    const build = (tasksByProject.get(service.project) ?? []).find((t) => t.target === 'build');
    const hasBuild = project.targets['build'] !== undefined;
    const image: ImageRef = {
      registry: `${config.registry.account}.dkr.ecr.${config.registry.region}.amazonaws.com`,
      repository: service.repository,
      tag: context.commit,
    };
    const steps = [
      imageStep(service, slug, image, ecr, build ? taskKeys.get(build.id) : undefined, hasBuild, options, common),
      scanStep(service, slug, image, ecr, config, options, common),
      smokeStep(service, slug, image, ecr, options, common),
    ];
    const target = deployable.ok ? deployTargetFor(deployable.branch, service.deployTargets) : undefined;
    if (target) {
      const waitFor = [...taskSteps.map((s) => s.key), `${slug}:scan`, `${slug}:smoke`];
      steps.push(deployStep(service, slug, image, target.overlay, waitFor, options, common));
    }
    const skippedDeploy = target ? undefined : deployable.ok ? `branch ${JSON.stringify(deployable.branch)} has no deploy target` : deployable.why;
    services.push({ project: service.project, steps: steps.map((s) => s.key), ...(why ? { why } : {}), ...(skippedDeploy ? { skipped: `deploy: ${skippedDeploy}` } : {}) });
    return steps;
  };
  const serviceOf = (project: WorkspaceProject): ServiceConfig | undefined =>
    resolveServiceConfig(config, { name: project.name, root: project.root, tags: project.tags, metadata: project.metadata as Record<string, unknown> });
  const imageWhy = imageInputsChanged.length > 0 ? `image inputs changed: ${imageInputsChanged.slice(0, 3).join(', ')}${imageInputsChanged.length > 3 ? ` and ${imageInputsChanged.length - 3} more` : ''}` : undefined;

  const affectedNames = new Set(analysis.affected.map((a) => a.name));
  for (const affected of analysis.affected) {
    const project = byName.get(affected.name);
    if (!project) continue;
    const slug = slugs.get(project.name) as string;
    const steps: CommandStep[] = [];
    for (const task of tasksByProject.get(project.name) ?? []) {
      steps.push(taskStep(task, project, taskKeys, options, common));
    }
    const service = serviceOf(project);
    if (service) {
      const build = (tasksByProject.get(project.name) ?? []).find((t) => t.target === 'build');
      const hasBuild = project.targets['build'] !== undefined;
      if (analysis.all || build !== undefined || !hasBuild) steps.push(...serviceSteps(service, slug, steps));
      else if (imageWhy) steps.push(...serviceSteps(service, slug, steps, imageWhy));
      else services.push({ project: service.project, steps: [], skipped: 'image: no build input changed (only non-production files did)' });
    }
    if (steps.length > 0) groups.push({ type: 'group', key: slug, label: project.name, project: project.name, steps });
  }
  // The shared Dockerfile is in no project's Nx inputs: its change rebuilds every service's image.
  if (imageWhy && !analysis.all) {
    for (const project of input.projects) {
      if (affectedNames.has(project.name)) continue;
      const service = serviceOf(project);
      if (!service) continue;
      const slug = slugs.get(project.name) as string;
      groups.push({ type: 'group', key: slug, label: project.name, project: project.name, steps: serviceSteps(service, slug, [], imageWhy) });
    }
  }

  orderGroups(groups);
  const nothing = groups.length === 0;
  const annotation = planAnnotation({
    base: input.base,
    context,
    analysis,
    services,
    jobs: groups.reduce((n, g) => n + g.steps.length, 0) + 1,
  });
  const planStep: CommandStep = {
    type: 'command',
    key: PLAN_STEP_KEY,
    label: nothing ? ':white_check_mark: Nothing affected' : ':pipeline: Plan',
    commands: [
      { argv: ['buildkite-agent', 'annotate', '--style', 'info', '--context', 'engex-plan', annotation], role: 'annotate' },
      ...(nothing ? [{ argv: ['echo', 'Nothing affected by this change: no project, task or image to run.'], role: 'echo' as const }] : []),
    ],
    dependsOn: [],
    timeoutInMinutes: options.timeouts.plan,
    ...common,
    meta: nothing ? { kind: 'nothing-affected' } : { kind: 'plan' },
  };

  const steps: PipelineStep[] = [planStep, ...groups];
  const pipeline: Pipeline = {
    steps,
    notify: [{ channel: config.slack.channel, if: 'build.state == "failed"' }],
  };
  return {
    pipeline,
    services,
    jobs: groups.reduce((n, g) => n + g.steps.length, 0) + 1,
  };
}

/** Groups a group depends on come first (ties keep name order), so the YAML reads top-down. */
function orderGroups(groups: GroupStep[]): void {
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => g.steps.forEach((s) => groupOf.set(s.key, i)));
  const deps = groups.map((g, i) => g.steps.flatMap((s) => s.dependsOn.map((d) => groupOf.get(d))).filter((d): d is number => d !== undefined && d !== i));
  // A project-graph cycle leaves nothing ready: take the first remaining group.
  const order = stableOrder(groups.length, deps, (remaining) => remaining[0] as number);
  groups.splice(0, groups.length, ...order.map((i) => groups[i] as GroupStep));
}

function deployContext(context: BuildContext): { ok: true; branch: string } | { ok: false; why: string } {
  if (context.pullRequest !== undefined) return { ok: false, why: `pull request #${context.pullRequest} builds never deploy` };
  if (context.tag !== undefined) return { ok: false, why: 'tag builds never deploy' };
  if (context.branch === undefined) return { ok: false, why: 'no branch' };
  return { ok: true, branch: context.branch };
}

type Common = Pick<CommandStep, 'agents' | 'retry' | 'env' | 'artifactPaths' | 'plugins'>;

function nxRun(options: PlanOptions, project: string, target: string, extra: readonly string[] = []): StepCommand {
  return { argv: [...options.nx, 'run', `${project}:${target}`, '--outputStyle=static', ...(extra.length ? ['--', ...extra] : [])], role: 'nx' };
}

function ci(options: PlanOptions, ...args: string[]): StepCommand {
  return { argv: [...options.engexCi, ...args], role: 'engex-ci' };
}

/** vitest under `nx:run-commands` takes reporter flags after `--`; others report their own way. */
function junitFor(project: WorkspaceProject, target: string, slug: string): { args: string[]; file: string } | undefined {
  const t = project.targets[target];
  if (!t || t.executor !== 'nx:run-commands' || !/^(npx\s+)?vitest(\s|$)/.test(t.command ?? '')) return undefined;
  const file = `reports/junit/${slug}.xml`;
  const cwd = t.cwd ?? '.';
  const depth = cwd === '.' || cwd === '' ? 0 : cwd.split('/').filter(Boolean).length;
  const fromCwd = `${'../'.repeat(depth)}${file}`;
  return { args: ['--reporter=default', '--reporter=junit', `--outputFile.junit=${fromCwd}`], file };
}

function taskStep(task: AffectedTask, project: WorkspaceProject, keys: ReadonlyMap<string, string>, options: PlanOptions, common: Common): CommandStep {
  const key = keys.get(task.id) as string;
  const junit = junitFor(project, task.target, key.replace(/:/g, '-'));
  return {
    type: 'command',
    key,
    label: `${task.target} ${project.name}`,
    commands: [...options.setup, nxRun(options, project.name, task.target, junit?.args)],
    dependsOn: task.dependsOn.map((d) => keys.get(d)).filter((k): k is string => k !== undefined),
    timeoutInMinutes: options.timeouts.task,
    ...common,
    artifactPaths: junit ? [junit.file] : [],
    meta: { kind: 'nx-task', project: project.name, target: task.target, taskId: task.id },
  };
}

function imageRefText(image: ImageRef): string {
  return `${image.registry}/${image.repository}:${image.tag}`;
}

function imageStep(
  service: ServiceConfig,
  slug: string,
  image: ImageRef,
  ecr: PluginUse,
  buildKey: string | undefined,
  hasBuild: boolean,
  options: PlanOptions,
  common: Common,
): CommandStep {
  return {
    type: 'command',
    key: `${slug}:image`,
    label: `:docker: image ${service.service}`,
    commands: [
      ...options.setup,
      ...options.engexCiSetup,
      // Each agent starts clean: the bundle comes from the Nx cache when the build step shared it.
      ...(hasBuild ? [nxRun(options, service.project, 'build')] : []),
      ci(options, 'image', 'build', '--project', service.project),
      ci(options, 'image', 'push', '--project', service.project),
    ],
    dependsOn: buildKey ? [buildKey] : [],
    timeoutInMinutes: options.timeouts.image,
    ...common,
    plugins: [ecr],
    meta: { kind: 'image', project: service.project, service: service.service, image },
  };
}

function scanStep(
  service: ServiceConfig,
  slug: string,
  image: ImageRef,
  ecr: PluginUse,
  config: WorkspaceConfig,
  options: PlanOptions,
  common: Common,
): CommandStep {
  const ref = imageRefText(image);
  const output = `reports/trivy/${service.service}.json`;
  const markdown = `reports/trivy/${service.service}.md`;
  const containerImage = `aquasec/trivy:${config.trivy.version}`;
  // The gate is engex-ci's, so Trivy itself always exits 0 and only reports.
  const trivyArgs = ['image', '--format', 'json', '--quiet', '--scanners', 'vuln', '--exit-code', '0', ref];
  const report = ['scan', 'report', output, '--fail-on', config.trivy.failOn.join(','), ...(config.trivy.ignoreUnfixed ? ['--ignore-unfixed'] : []), '--annotation', markdown];
  return {
    type: 'command',
    key: `${slug}:scan`,
    label: `:shield: scan ${service.service}`,
    commands: [
      ...options.setup,
      ...options.engexCiSetup,
      { argv: ['mkdir', '-p', 'reports/trivy'], role: 'prepare' },
      { argv: ['docker', 'pull', '--quiet', ref], role: 'docker-pull' },
      {
        argv: ['docker', 'run', '--rm', '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', 'engex-trivy-cache:/root/.cache/trivy', containerImage, ...trivyArgs],
        stdout: output,
        role: 'trivy',
      },
      { ...ci(options, ...report), deferFailure: true },
      { argv: ['buildkite-agent', 'annotate', '--style', 'warning', '--context', `trivy-${service.service}`], stdin: markdown, role: 'annotate' },
    ],
    dependsOn: [`${slug}:image`],
    timeoutInMinutes: options.timeouts.scan,
    ...common,
    plugins: [ecr],
    artifactPaths: [output, markdown],
    meta: {
      kind: 'scan',
      project: service.project,
      service: service.service,
      image,
      trivy: { version: config.trivy.version, containerImage, args: trivyArgs, output },
    },
  };
}

function smokeStep(service: ServiceConfig, slug: string, image: ImageRef, ecr: PluginUse, options: PlanOptions, common: Common): CommandStep {
  return {
    type: 'command',
    key: `${slug}:smoke`,
    label: `:fire_engine: smoke ${service.service}`,
    commands: [...options.setup, ...options.engexCiSetup, ci(options, 'image', 'smoke', '--project', service.project)],
    dependsOn: [`${slug}:image`],
    timeoutInMinutes: options.timeouts.smoke,
    ...common,
    plugins: [ecr],
    meta: { kind: 'smoke', project: service.project, service: service.service, image },
  };
}

function deployStep(
  service: ServiceConfig,
  slug: string,
  image: ImageRef,
  overlay: string,
  waitFor: readonly string[],
  options: PlanOptions,
  common: Common,
): CommandStep {
  const meta: StepMeta = { kind: 'deploy', project: service.project, service: service.service, repo: service.opsRepo, overlay, image };
  return {
    type: 'command',
    key: `${slug}:deploy`,
    label: `:rocket: deploy ${service.service} to ${overlay}`,
    commands: [
      ...options.setup,
      ...options.engexCiSetup,
      ci(options, 'deploy', 'bump', '--repo', service.opsRepo, '--path', `${overlay}/kustomization.yaml`, '--image', service.deployImageName, '--tag', image.tag),
    ],
    dependsOn: [...waitFor],
    timeoutInMinutes: options.timeouts.deploy,
    ...common,
    // One bump at a time per ops repo: concurrent pushes to it would race.
    concurrency: { group: `engex-deploy/${service.opsRepo}`, limit: 1 },
    meta,
  };
}
