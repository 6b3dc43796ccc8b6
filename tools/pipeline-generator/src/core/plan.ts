import { decideTrust, deployTargetsFor, ecrHostFor, resolveServiceConfig, type ServiceConfig, type TrustDecision, type WorkspaceConfig } from '@engex/workspace-config';
import type { AffectedAnalysis, AffectedTask, WorkspaceProject } from './affected.js';
import { reachable, stableOrder, stronglyConnected } from './graph.js';
import { checkStep } from './steps/check.js';
import { projectChecksStep } from './steps/project-checks.js';
import { dependencyCachePlugin, nodeMajorOf, withDependencyCache, type PlanOptions } from './steps/common.js';
import { deploySteps } from './steps/deploy.js';
import { imageStep } from './steps/image.js';
import { localImageStep } from './steps/local-image.js';
import { scanStep } from './steps/scan.js';
import { smokeStep } from './steps/smoke.js';
import { keyPart, projectSlugs } from './keys.js';
import type { AutomaticRetry, BlockStep, CommandStep, GroupStep, ImageRef, Pipeline, PipelineStep, PluginUse, StepCommand } from './pipeline.js';
import type { BaseSummary, BuildContext, ServicePlan, ZoneSummary } from './context.js';
import type { Common } from './steps/common.js';
import { planAnnotation } from './summary.js';

export type { BaseSummary, BuildContext, ZoneSummary } from './context.js';
export type { PlanOptions } from './steps/common.js';

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
  dependencyCache?: PluginUse;
}

/** Default CI targets: whichever of these a project defines. */
export const DEFAULT_TARGETS = ['lint', 'typecheck', 'test', 'build'] as const;

export function normalizePlanOptions(input: PlanOptionsInput = {}): PlanOptions {
  return {
    targets: input.targets ?? DEFAULT_TARGETS,
    setup: input.setup ?? [{ kind: 'install' }],
    nx: input.nx ?? ['npx', 'nx'],
    engexCi: input.engexCi ?? ['npx', '--no', 'engex-ci'],
    engexCiSetup: input.engexCiSetup ?? [],
    timeouts: { task: 10, image: 20, scan: 10, smoke: 10, deploy: 5, plan: 5, verifyDeadline: 10, ...input.timeouts },
    ...(input.dependencyCache ? { dependencyCache: input.dependencyCache } : {}),
  };
}

/** Agent loss: the job's agent vanished (-1) or was stopped/lost its connection (255). */
export const AGENT_LOST_RETRY: readonly AutomaticRetry[] = [
  { exitStatus: -1, limit: 2 },
  { exitStatus: 255, limit: 2 },
];

/** Agent loss, and `engex-ci`'s exit 4 (infrastructure: registry, AWS, git remote) on steps that talk to them. */
export const INFRA_RETRY: readonly AutomaticRetry[] = [...AGENT_LOST_RETRY, { exitStatus: 4, limit: 2 }];

export const PLAN_STEP_KEY = 'engex-plan';

/** The one step every `deployWhen: "build"` deploy waits for. */
export const CHECKS_GATE_KEY = 'engex-checks-passed';

/** Step-key parts the service steps use; an Nx target with such a name gets a suffix. */
const RESERVED_PART = /^(image|scan|smoke|deploy|(deploy|approve|verify)-.*)$/;

/** `overlays/staging-eu` → `staging-eu`: the part of a deploy target's step keys. */
function overlayPart(overlay: string): string {
  return keyPart(overlay.replace(/^overlays\//, '').replaceAll('/', '-'));
}

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
export function planDetailed(input: PlanPipelineInput): { pipeline: Pipeline; services: ServicePlan[]; jobs: number; trust: ZoneSummary } {
  const { analysis, config, context, options } = input;
  const byName = new Map(input.projects.map((p) => [p.name, p]));
  const slugs = projectSlugs(
    input.projects.map((p) => p.name),
    [PLAN_STEP_KEY, CHECKS_GATE_KEY],
  );
  // The trust zone decides every queue: an untrusted build (a pull request, a branch outside
  // trustedBranches) runs every step on untrustedQueue, whose agents hold no push, deploy or
  // cache-write secret. The agent guard on the trusted queues enforces the same rule there, since
  // a hostile branch can edit this generator.
  const trust = decideTrust(config, context);
  const trusted = trust.zone === 'trusted';
  const queue = (name: string): string => (trusted ? name : config.untrustedQueue);
  const common: Common = {
    agents: { queue: queue(config.agents.queue) },
    retry: AGENT_LOST_RETRY,
    env: {},
    artifactPaths: [] as string[],
    plugins: [] as PluginUse[],
  };
  // Image push and deploy hold ECR-push and ops-write credentials: their own queue, never the PR queue.
  const deployCommon: Common = { ...common, agents: { queue: queue(config.deployQueue) }, retry: INFRA_RETRY };
  const verifyCommon: Common = { ...common, agents: { queue: queue(config.deployQueue) } };
  const dockerCommon: Common = { ...common, agents: { queue: queue(config.dockerQueue) } };
  const scanCommon: Common = { ...dockerCommon, retry: INFRA_RETRY };
  const dependencyCache = options.dependencyCache ?? dependencyCachePlugin({ platform: config.agents.platform, nodeMajor: nodeMajorOf(config.nodeImage), save: trusted });

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
    const used = new Set<string>();
    for (const t of tasks) {
      let part = keyPart(t.target);
      for (let i = 2; used.has(part) || RESERVED_PART.test(part); i++) part = `${keyPart(t.target)}-${i}`;
      used.add(part);
      taskKeys.set(t.id, `${slugs.get(project)}:${part}`);
    }
  }

  // stepGranularity "project": one job per project; a task's dependency is the job that runs it.
  const perProject = config.stepGranularity === 'project' ? projectsOutsideJobCycles(tasksByProject) : new Set<string>();
  const projectJobKey = (project: string): string => `${slugs.get(project)}:tasks`;
  const jobOf = new Map<string, string>();
  for (const t of analysis.tasks) jobOf.set(t.id, perProject.has(t.project) ? projectJobKey(t.project) : (taskKeys.get(t.id) as string));

  const deployable = deployContext(context, trust);
  const imageInputsChanged = analysis.changedFiles.filter((f) => IMAGE_WORKSPACE_INPUTS.some((re) => re.test(f)));
  const groups: GroupStep[] = [];

  const services: ServicePlan[] = [];
  // The ECR plugin's option is `account-ids` (ecr-buildkite-plugin v2.10.0 plugin.yml).
  const ecr: PluginUse = {
    ref: config.plugins.ecr,
    config: { login: true, 'account-ids': config.registry.account, region: config.registry.region },
  };
  /** Deploys wait until every service's checks exist, so they are attached after the groups. */
  const pending: { service: ServiceConfig; slug: string; image: ImageRef; steps: (CommandStep | BlockStep)[]; plan: ServicePlan }[] = [];
  /** Image, scan and smoke steps of one service, after `taskSteps`; its deploys come later. */
  const serviceSteps = (service: ServiceConfig, slug: string, why?: string): CommandStep[] => {
    const project = byName.get(service.project) as WorkspaceProject;
    const build = (tasksByProject.get(service.project) ?? []).find((t) => t.target === 'build');
    const hasBuild = project.targets['build'] !== undefined;
    const image: ImageRef = {
      registry: ecrHostFor(config.registry),
      repository: service.repository,
      tag: context.commit,
    };
    const buildKey = build ? jobOf.get(build.id) : undefined;
    const steps = trusted
      ? [
          imageStep(service, slug, image, ecr, buildKey, hasBuild, options, deployCommon, config),
          scanStep(service, slug, image, ecr, config, options, scanCommon),
          smokeStep(service, slug, image, ecr, options, dockerCommon),
        ]
      : [localImageStep(service, slug, image, buildKey, hasBuild, options, dockerCommon, config)];
    const targets = deployable.ok ? deployTargetsFor(deployable.branch, service.deployTargets) : [];
    const skippedDeploy = targets.length > 0 ? undefined : deployable.ok ? `branch ${JSON.stringify(deployable.branch)} has no deploy target` : deployable.why;
    const plan: ServicePlan = {
      project: service.project,
      steps: steps.map((s) => s.key),
      ...(why ? { why } : {}),
      ...(skippedDeploy ? { skipped: `deploy: ${skippedDeploy}` } : {}),
    };
    services.push(plan);
    if (targets.length > 0) pending.push({ service, slug, image, steps, plan });
    return steps;
  };
  const serviceOf = (project: WorkspaceProject): ServiceConfig | undefined =>
    resolveServiceConfig(config, { name: project.name, root: project.root, tags: project.tags, metadata: project.metadata as Record<string, unknown> });
  const imageWhy =
    imageInputsChanged.length > 0
      ? `image inputs changed: ${imageInputsChanged.slice(0, 3).join(', ')}${imageInputsChanged.length > 3 ? ` and ${imageInputsChanged.length - 3} more` : ''}`
      : undefined;

  const affectedNames = new Set(analysis.affected.map((a) => a.name));
  const pendingGroup = new Map<string, (CommandStep | BlockStep)[]>();
  // The Test Engine upload, only where the workspace turned it on (its plugin fails steps on agents without the token).
  const testCollectorRef = config.testEngine ? config.plugins.testCollector : undefined;
  for (const affected of analysis.affected) {
    const project = byName.get(affected.name);
    if (!project) continue;
    const slug = slugs.get(project.name) as string;
    const steps: CommandStep[] = [];
    const tasks = tasksByProject.get(project.name) ?? [];
    if (perProject.has(project.name)) {
      steps.push(
        projectChecksStep({
          tasks,
          project,
          key: projectJobKey(project.name),
          jobOf,
          options,
          common,
          testCollectorRef,
        }),
      );
    } else {
      for (const task of tasks) steps.push(checkStep(task, project, jobOf, options, common, testCollectorRef));
    }
    const service = serviceOf(project);
    if (service) {
      const build = (tasksByProject.get(project.name) ?? []).find((t) => t.target === 'build');
      const hasBuild = project.targets['build'] !== undefined;
      if (analysis.all || build !== undefined || !hasBuild) steps.push(...serviceSteps(service, slug));
      else if (imageWhy) steps.push(...serviceSteps(service, slug, imageWhy));
      else services.push({ project: service.project, steps: [], skipped: 'image: no build input changed (only non-production files did)' });
    }
    if (steps.length > 0) groups.push({ type: 'group', key: slug, label: project.name, project: project.name, steps });
    pendingGroup.set(slug, steps);
  }
  // The shared Dockerfile is in no project's Nx inputs: its change rebuilds every service's image.
  if (imageWhy && !analysis.all) {
    for (const project of input.projects) {
      if (affectedNames.has(project.name)) continue;
      const service = serviceOf(project);
      if (!service) continue;
      const slug = slugs.get(project.name) as string;
      const steps: (CommandStep | BlockStep)[] = serviceSteps(service, slug, imageWhy);
      groups.push({ type: 'group', key: slug, label: project.name, project: project.name, steps });
      pendingGroup.set(slug, steps);
    }
  }

  // A deploy waits for the checks of the whole build (deployWhen "build", the seed's sequential
  // semantics), or of the projects the service depends on, transitively ("service").
  const checks = groups.flatMap((g) => g.steps).filter((s): s is CommandStep => s.type === 'command' && ['nx-task', 'nx-project', 'scan', 'smoke'].includes(s.meta.kind));
  const projectOf = (s: CommandStep): string | undefined => ('project' in s.meta ? s.meta.project : undefined);
  // The build's fan-in is written once, on a gate step, not on every deploy and approval: at 1,000
  // affected projects that is ~3,000 keys, repeated per deploy target (issue 12's bench miss).
  // A command step, not a keyed `wait`: a wait also holds back every step listed after it.
  const gate: CommandStep | undefined = pending.some((p) => p.service.deployWhen === 'build')
    ? {
        type: 'command',
        key: CHECKS_GATE_KEY,
        label: ':vertical_traffic_light: checks passed',
        commands: [{ kind: 'exec', argv: ['echo', `All ${checks.length} checks of this build passed: deploys may start.`] }],
        dependsOn: checks.map((s) => s.key),
        timeoutInMinutes: options.timeouts.plan,
        ...common,
        meta: { kind: 'checks-gate' },
      }
    : undefined;
  for (const { service, slug, image, steps, plan } of pending) {
    let waitFor: readonly string[] = gate ? [gate.key] : [];
    if (service.deployWhen === 'service') {
      const closure = new Set(reachable([service.project], (p) => (analysis.dependencies.get(p) ?? []).filter((d) => d !== p && byName.has(d))).order);
      waitFor = checks.filter((s) => closure.has(projectOf(s) as string)).map((s) => s.key);
    }
    const used = new Set<string>();
    const keys: string[] = [];
    for (const target of deployTargetsFor((deployable as { branch: string }).branch, service.deployTargets)) {
      let part = overlayPart(target.overlay);
      for (let i = 2; used.has(part); i++) part = `${overlayPart(target.overlay)}-${i}`;
      used.add(part);
      const d = deploySteps({ service, slug, part, target, image, waitFor, options, common: deployCommon, verifyCommon });
      if (!d.verify) plan.unverified = [...(plan.unverified ?? []), target.overlay];
      const added = [...(d.block ? [d.block] : []), d.deploy, ...(d.verify ? [d.verify] : [])];
      (pendingGroup.get(slug) ?? steps).push(...added);
      keys.push(...added.map((s) => s.key));
    }
    plan.steps = [...plan.steps, ...keys];
  }

  // Every step that installs restores the lockfile's node_modules first: one `npm ci` per lockfile.
  for (const [i, g] of groups.entries()) {
    groups[i] = { ...g, steps: g.steps.map((s) => (s.type === 'command' ? withDependencyCache(s, dependencyCache) : s)) };
  }
  orderGroups(groups);
  const nothing = groups.length === 0;
  const jobs = groups.reduce((n, g) => n + g.steps.length, 0) + 1 + (gate ? 1 : 0);
  const annotation = planAnnotation({
    base: input.base,
    context,
    trust: describeZone(trust, config),
    analysis,
    services,
    jobs,
  });
  const planStep: CommandStep = {
    type: 'command',
    key: PLAN_STEP_KEY,
    label: nothing ? ':white_check_mark: Nothing affected' : ':pipeline: Plan',
    commands: [
      { kind: 'annotate', style: 'info', context: PLAN_STEP_KEY, body: annotation },
      ...(nothing ? [{ kind: 'exec' as const, argv: ['echo', 'Nothing affected by this change: no project, task or image to run.'] }] : []),
    ],
    dependsOn: [],
    timeoutInMinutes: options.timeouts.plan,
    ...common,
    meta: nothing ? { kind: 'nothing-affected' } : { kind: 'plan' },
  };

  const steps: PipelineStep[] = [planStep, ...groups, ...(gate ? [gate] : [])];
  const pipeline: Pipeline = {
    steps,
    notify: [{ channel: config.slack.channel, if: 'build.state == "failed"' }],
  };
  return {
    pipeline,
    services,
    jobs,
    trust: describeZone(trust, config),
  };
}

/** The zone line of the summary and annotation: which zone, why, and what that means for this build. */
function describeZone(trust: TrustDecision, config: WorkspaceConfig): ZoneSummary {
  return trust.zone === 'trusted'
    ? {
        zone: 'trusted',
        reason: trust.reason,
        effect: `checks on ${config.agents.queue}, scan and smoke on ${config.dockerQueue}, image push and deploys on ${config.deployQueue}; the dependency cache is saved`,
      }
    : {
        zone: 'untrusted',
        reason: trust.reason,
        effect: `every step on ${config.untrustedQueue}: images are built, smoked and scanned there and never pushed, no deploy, the dependency cache is restored but never saved`,
      };
}

/**
 * The projects that can have one job each. Two project jobs whose tasks depend on each other's
 * (a:build needs b:build, b:test needs a:build) would wait for each other forever; the projects
 * of such a cycle keep one job per task, which the task graph orders.
 */
function projectsOutsideJobCycles(tasksByProject: ReadonlyMap<string, readonly AffectedTask[]>): Set<string> {
  const names = [...tasksByProject.keys()];
  const index = new Map(names.map((n, i) => [n, i]));
  const projectOfTask = new Map<string, string>();
  for (const [project, tasks] of tasksByProject) for (const t of tasks) projectOfTask.set(t.id, project);
  const edges = names.map((n, i) => {
    const out = new Set<number>();
    for (const t of tasksByProject.get(n) ?? []) {
      for (const d of t.dependsOn) {
        const j = index.get(projectOfTask.get(d) ?? '');
        if (j !== undefined && j !== i) out.add(j);
      }
    }
    return [...out];
  });
  return new Set(
    stronglyConnected(names.length, edges)
      .filter((c) => c.length === 1)
      .map((c) => names[c[0] as number] as string),
  );
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

function deployContext(context: BuildContext, trust: TrustDecision): { ok: true; branch: string } | { ok: false; why: string } {
  if (context.pullRequest !== undefined) return { ok: false, why: `pull request #${context.pullRequest} builds never deploy` };
  if (context.tag !== undefined) return { ok: false, why: 'tag builds never deploy' };
  if (context.branch === undefined) return { ok: false, why: 'no branch' };
  if (trust.zone !== 'trusted') return { ok: false, why: `untrusted builds never deploy (${trust.reason})` };
  return { ok: true, branch: context.branch };
}
