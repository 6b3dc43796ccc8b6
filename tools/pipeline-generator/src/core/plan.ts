import type { PlanPipelineInput } from './context.js';
import type { Pipeline, PluginUse, StepCommand } from './pipeline.js';
import { assemble, type PlanResult } from './phases/assemble.js';
import { checkGroups } from './phases/check-groups.js';
import { deploys } from './phases/deploys.js';
import { jobKeys } from './phases/job-keys.js';
import { serviceSteps } from './phases/service-steps.js';
import { planZone } from './phases/zone.js';
import type { PlanOptions } from './steps/common.js';

export type { BaseSummary, BuildContext, PlanPipelineInput, ZoneSummary } from './context.js';
export type { PlanResult } from './phases/assemble.js';
export type { PlanOptions } from './steps/common.js';

export interface PlanOptionsInput {
  targets?: readonly string[];
  setup?: readonly StepCommand[];
  nx?: readonly string[];
  engexCi?: readonly string[];
  engexCiSetup?: readonly StepCommand[];
  engexCiBundle?: string;
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
    engexCiBundle: input.engexCiBundle,
    timeouts: { task: 10, image: 20, scan: 10, smoke: 10, deploy: 5, plan: 5, verifyDeadline: 10, ...input.timeouts },
    dependencyCache: input.dependencyCache,
  };
}

/**
 * Affected set + project metadata + config + context → pipeline. Pure: the same input always
 * gives the same pipeline, so it is pinned with snapshots.
 */
export function planPipeline(input: PlanPipelineInput): Pipeline {
  return planDetailed(input).pipeline;
}

/**
 * `planPipeline`, plus what happened to each affected service (for summaries). Each phase is a
 * pure function of the input and the phases before it (`phases/`), testable alone.
 */
export function planDetailed(input: PlanPipelineInput): PlanResult {
  const zone = planZone(input.config, input.context, input.options);
  const keys = jobKeys(input);
  const { groups, services } = serviceSteps(input, keys, zone, checkGroups(input, keys, zone.checks));
  return assemble(input, zone, groups, services, deploys(input, zone, groups, services));
}
