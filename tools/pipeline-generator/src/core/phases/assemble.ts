import type { PlanPipelineInput, ServicePlan, ZoneSummary } from '../context.js';
import { stableOrder } from '../graph.js';
import type { CommandStep, GroupStep, Pipeline } from '../pipeline.js';
import { withDependencyCache } from '../steps/common.js';
import { planAnnotation } from '../summary.js';
import type { Deploys } from './deploys.js';
import { PLAN_STEP_KEY } from './job-keys.js';
import type { ServiceJobs } from './service-steps.js';
import type { Zone } from './zone.js';

/** The planner's answer: the pipeline, and what happened to each service (for summaries). */
export interface PlanResult {
  pipeline: Pipeline;
  services: ServicePlan[];
  /** Command and block steps, the plan step and the gate included. */
  jobs: number;
  trust: ZoneSummary;
}

/**
 * Phase 5: the deploys joined to their groups, the dependency cache on every step that installs,
 * groups in dependency order, and the plan step, whose annotation says what runs and why.
 */
export function assemble(
  input: Pick<PlanPipelineInput, 'base' | 'context' | 'analysis' | 'options' | 'config'>,
  zone: Zone,
  groups: readonly GroupStep[],
  services: readonly ServiceJobs[],
  deployed: Deploys,
): PlanResult {
  // Every step that installs restores the lockfile's node_modules first: one `npm ci` per lockfile.
  const complete = groups.map((g) => ({
    ...g,
    steps: [...g.steps, ...(deployed.byProject.get(g.project)?.steps ?? [])].map((s) => (s.type === 'command' ? withDependencyCache(s, zone.dependencyCache) : s)),
  }));
  const ordered = orderGroups(complete);
  const plans = services.map((s): ServicePlan => {
    const d = deployed.byProject.get(s.project);
    return {
      project: s.project,
      steps: [...s.steps, ...(d?.steps ?? [])].map((step) => step.key),
      why: s.why,
      skipped: s.skipped,
      unverified: d && d.unverified.length > 0 ? d.unverified : undefined,
    };
  });
  const jobs = ordered.reduce((n, g) => n + g.steps.length, 0) + 1 + (deployed.gate ? 1 : 0);
  const annotation = planAnnotation({ base: input.base, context: input.context, trust: zone.summary, analysis: input.analysis, services: plans, jobs });
  const nothing = ordered.length === 0;
  const planStep: CommandStep = {
    type: 'command',
    key: PLAN_STEP_KEY,
    label: nothing ? ':white_check_mark: Nothing affected' : ':pipeline: Plan',
    commands: [
      { kind: 'annotate', style: 'info', context: PLAN_STEP_KEY, body: annotation },
      ...(nothing ? [{ kind: 'exec' as const, argv: ['echo', 'Nothing affected by this change: no project, task or image to run.'] }] : []),
    ],
    dependsOn: [],
    timeoutInMinutes: input.options.timeouts.plan,
    ...zone.checks,
    meta: nothing ? { kind: 'nothing-affected' } : { kind: 'plan' },
  };
  return {
    pipeline: {
      steps: [planStep, ...ordered, ...(deployed.gate ? [deployed.gate] : [])],
      notify: [{ channel: input.config.slack.channel, if: 'build.state == "failed"' }],
    },
    services: plans,
    jobs,
    trust: zone.summary,
  };
}

/** Groups a group depends on come first (ties keep name order), so the YAML reads top-down. */
export function orderGroups(groups: readonly GroupStep[]): GroupStep[] {
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => g.steps.forEach((s) => groupOf.set(s.key, i)));
  const deps = groups.map((g, i) => g.steps.flatMap((s) => s.dependsOn.map((d) => groupOf.get(d))).filter((d): d is number => d !== undefined && d !== i));
  // A project-graph cycle leaves nothing ready: take the first remaining group.
  return stableOrder(groups.length, deps, (remaining) => remaining[0] ?? 0)
    .map((i) => groups[i])
    .filter((g): g is GroupStep => g !== undefined);
}
