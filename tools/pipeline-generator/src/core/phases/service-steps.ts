import { deployTargetsFor, ecrHostFor, type DeployTarget, type ServiceConfig } from '@engex/workspace-config';
import type { PlanPipelineInput } from '../context.js';
import type { BlockStep, CommandStep, GroupStep, ImageRef, PluginUse } from '../pipeline.js';
import type { EngexCiFrom } from '../steps/common.js';
import { imageStep, withImageInputs } from '../steps/image.js';
import { localImageStep } from '../steps/local-image.js';
import { scanStep } from '../steps/scan.js';
import type { JobKeys } from './job-keys.js';
import type { Zone } from './zone.js';

/** Files outside any project that still change what an image contains. */
const IMAGE_WORKSPACE_INPUTS = [/^docker\//, /^\.dockerignore$/, /^engex\.config\.json$/];

/** What one affected service gets in this build, before its deploys. */
export interface ServiceJobs {
  /** The Nx project. */
  project: string;
  service: ServiceConfig;
  slug: string;
  image: ImageRef;
  /** Image (built, pushed and smoked) and scan (trusted), or the one local image step (untrusted); none when no image is built. */
  steps: readonly CommandStep[];
  /** The deploy targets this build bumps (none when it builds no image or does not deploy). */
  targets: readonly DeployTarget[];
  /** Why its image is rebuilt when Nx did not say so. */
  why?: string;
  /** The build job that hands this service's steps engex-ci's bundle (see `ServiceStepInput.engexCiFrom`). */
  engexCiFrom?: EngexCiFrom;
  /** What it does not get, and why (`image: …` or `deploy: …`). */
  skipped?: string;
}

/**
 * Phase 3: the image and scan steps of every service whose image this build makes, added
 * to its project's group (a group of its own for a service only the shared Dockerfile touched),
 * and what each service skips. Groups left empty are dropped.
 */
export function serviceSteps(input: PlanPipelineInput, keys: JobKeys, zone: Zone, checks: readonly GroupStep[]): { groups: GroupStep[]; services: ServiceJobs[] } {
  const { analysis } = input;
  const byName = new Map(input.projects.map((p) => [p.name, p]));
  const hasBuild = (project: string): boolean => byName.get(project)?.targets['build'] !== undefined;
  const imageWhy = imageInputsWhy(analysis.changedFiles);
  const jobs = serviceJobs(input, keys, zone, hasBuild);
  const affectedServices = checks.flatMap((group) => {
    const service = input.services.get(group.project);
    if (!service) return [];
    const buildRuns = (keys.tasks.get(group.project) ?? []).some((t) => t.target === 'build');
    if (analysis.all || buildRuns || !hasBuild(group.project)) return [jobs(group.project, service)];
    if (imageWhy) return [jobs(group.project, service, imageWhy)];
    const skipped = 'image: no build input changed (only non-production files did)';
    return [{ project: group.project, service, slug: group.key, image: imageOf(input, service), steps: [], targets: [], skipped }];
  });
  // The shared Dockerfile is in no project's Nx inputs: its change rebuilds every service's image.
  const affected = new Set(analysis.affected.map((a) => a.name));
  const imageOnly =
    imageWhy && !analysis.all
      ? input.projects.flatMap((p) => {
          const service = affected.has(p.name) ? undefined : input.services.get(p.name);
          return service ? [jobs(p.name, service, imageWhy)] : [];
        })
      : [];
  const byProject = new Map(affectedServices.map((s) => [s.project, s]));
  // The build job of a service whose steps take its artifacts also writes and uploads them.
  const own =
    (s: ServiceJobs | undefined) =>
    (step: CommandStep | BlockStep): CommandStep | BlockStep =>
      step.type === 'command' && s?.engexCiFrom?.step === step.key ? withImageInputs(step, { service: s.service, options: input.options, engexCiFrom: s.engexCiFrom }) : step;
  return {
    groups: [
      ...checks
        .map((g) => {
          const s = byProject.get(g.project);
          return { ...g, steps: [...g.steps.map(own(s)), ...(s?.steps ?? [])] };
        })
        .filter((g) => g.steps.length > 0),
      ...imageOnly.map((s) => ({ type: 'group' as const, key: s.slug, label: s.project, project: s.project, steps: s.steps })),
    ],
    services: [...affectedServices, ...imageOnly],
  };
}

/** Why images rebuild although no project input changed: the workspace files they contain changed. */
function imageInputsWhy(changedFiles: readonly string[]): string | undefined {
  const changed = changedFiles.filter((f) => IMAGE_WORKSPACE_INPUTS.some((re) => re.test(f)));
  if (changed.length === 0) return undefined;
  return `image inputs changed: ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ` and ${changed.length - 3} more` : ''}`;
}

/** The service's image of this build: its repository, tagged with the commit. */
function imageOf(input: Pick<PlanPipelineInput, 'config' | 'context'>, service: ServiceConfig): ImageRef {
  return { registry: ecrHostFor(input.config.registry), repository: service.repository, tag: input.context.commit };
}

/** Builds one service's jobs: the steps of its zone, and the deploy targets of this build. */
function serviceJobs(
  input: PlanPipelineInput,
  keys: JobKeys,
  zone: Zone,
  hasBuild: (project: string) => boolean,
): (project: string, service: ServiceConfig, why?: string) => ServiceJobs {
  const { config, options } = input;
  // The ECR plugin's option is `account-ids` (ecr-buildkite-plugin v2.10.0 plugin.yml).
  const ecr: PluginUse = { ref: config.plugins.ecr, config: { login: true, 'account-ids': config.registry.account, region: config.registry.region } };
  const { deployable } = zone;
  return (project, service, why) => {
    const slug = keys.slug(project);
    const image = imageOf(input, service);
    const build = (keys.tasks.get(project) ?? []).find((t) => t.target === 'build');
    const buildKey = build && keys.jobOf.get(build.id);
    // Where engex-ci is this workspace's own bundle, the build job hands it over (`withImageInputs`).
    const engexCiFrom = buildKey !== undefined && options.engexCiBundle !== undefined ? { step: buildKey, bundle: options.engexCiBundle } : undefined;
    const base = { service, slug, image, options, buildKey, engexCiFrom, hasBuild: hasBuild(project), config };
    const steps = zone.trusted
      ? [imageStep({ ...base, ecr, common: zone.deploy }), scanStep({ ...base, ecr, common: zone.scan })]
      : [localImageStep({ ...base, common: zone.docker })];
    const targets = deployable.ok ? deployTargetsFor(deployable.branch, service.deployTargets) : [];
    const skipped = targets.length > 0 ? undefined : `deploy: ${deployable.ok ? `branch ${JSON.stringify(deployable.branch)} has no deploy target` : deployable.why}`;
    return { project, service, slug, image, steps, targets, why, skipped, engexCiFrom };
  };
}
