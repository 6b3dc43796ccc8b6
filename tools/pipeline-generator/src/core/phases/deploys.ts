import type { PlanPipelineInput } from '../context.js';
import { reachable } from '../graph.js';
import { keyPart } from '../keys.js';
import type { BlockStep, CommandStep, GroupStep } from '../pipeline.js';
import { deploySteps } from '../steps/deploy.js';
import { CHECKS_GATE_KEY } from './job-keys.js';
import type { ServiceJobs } from './service-steps.js';
import type { Zone } from './zone.js';

/** One service's deploy-side steps, in group order, and the overlays nothing verifies. */
export interface ServiceDeploys {
  steps: readonly (CommandStep | BlockStep)[];
  unverified: readonly string[];
}

export interface Deploys {
  /** The one step `deployWhen: "build"` deploys wait for; absent when none does. */
  gate?: CommandStep;
  /** By Nx project. */
  byProject: ReadonlyMap<string, ServiceDeploys>;
}

/** The step kinds a deploy waits for: every check, the image (its job ends with the smoke test) and its scan. */
const CHECK_KINDS: readonly string[] = ['nx-task', 'nx-project', 'image', 'scan'];

/**
 * Phase 4: each deploy target's approval, deploy and verify steps, and the checks gate. A deploy
 * waits for the checks of the whole build (deployWhen "build", the seed's sequential semantics),
 * or of the projects the service depends on, transitively ("service").
 */
export function deploys(
  input: Pick<PlanPipelineInput, 'projects' | 'analysis' | 'options'>,
  zone: Pick<Zone, 'checks' | 'deploy' | 'verify'>,
  groups: readonly GroupStep[],
  services: readonly ServiceJobs[],
): Deploys {
  const checks = groups.flatMap((g) => g.steps).filter((s): s is CommandStep => s.type === 'command' && CHECK_KINDS.includes(s.meta.kind));
  const deploying = services.filter((s) => s.targets.length > 0);
  const gate = deploying.some((s) => s.service.deployWhen === 'build') ? checksGate(checks, input.options.timeouts.plan, zone.checks) : undefined;
  const names = new Set(input.projects.map((p) => p.name));
  const byProject = new Map(
    deploying.map((s) => {
      let waitFor: readonly string[] = gate ? [gate.key] : [];
      if (s.service.deployWhen === 'service') {
        const closure = new Set(reachable([s.project], (p) => (input.analysis.dependencies.get(p) ?? []).filter((d) => d !== p && names.has(d))).order);
        waitFor = checks.filter((c) => 'project' in c.meta && closure.has(c.meta.project)).map((c) => c.key);
      }
      return [s.project, serviceDeploys(s, waitFor, input.options, zone)] as const;
    }),
  );
  return { gate, byProject };
}

/**
 * The build's fan-in is written once, on a gate step, not on every deploy and approval: at 1,000
 * affected projects that is ~3,000 keys, repeated per deploy target (issue 12's bench miss).
 * A command step, not a keyed `wait`: a wait also holds back every step listed after it.
 */
function checksGate(checks: readonly CommandStep[], timeout: number, common: Zone['checks']): CommandStep {
  return {
    type: 'command',
    key: CHECKS_GATE_KEY,
    label: ':vertical_traffic_light: checks passed',
    commands: [{ kind: 'exec', argv: ['echo', `All ${checks.length} checks of this build passed: deploys may start.`] }],
    dependsOn: checks.map((s) => s.key),
    timeoutInMinutes: timeout,
    ...common,
    meta: { kind: 'checks-gate' },
  };
}

/** `overlays/staging-eu` → `staging-eu`: the part of a deploy target's step keys. */
function overlayPart(overlay: string): string {
  return keyPart(overlay.replace(/^overlays\//, '').replaceAll('/', '-'));
}

function serviceDeploys(s: ServiceJobs, waitFor: readonly string[], options: PlanPipelineInput['options'], zone: Pick<Zone, 'deploy' | 'verify'>): ServiceDeploys {
  const used = new Set<string>();
  const perTarget = s.targets.map((target) => {
    let part = overlayPart(target.overlay);
    for (let i = 2; used.has(part); i++) part = `${overlayPart(target.overlay)}-${i}`;
    used.add(part);
    return {
      target,
      ...deploySteps({
        service: s.service,
        slug: s.slug,
        image: s.image,
        engexCiFrom: s.engexCiFrom,
        part,
        target,
        waitFor,
        options,
        common: zone.deploy,
        verifyCommon: zone.verify,
      }),
    };
  });
  return {
    steps: perTarget.flatMap((d) => [d.block, d.deploy, d.verify].filter((x): x is CommandStep | BlockStep => x !== undefined)),
    unverified: perTarget.filter((d) => d.verify === undefined).map((d) => d.target.overlay),
  };
}
