import type { DeployTarget } from '@engex/workspace-config';
import type { BlockStep, CommandStep } from '../pipeline.js';
import { digestKeyOf } from './image.js';
import { engexCiPrelude, serviceEngexCiStep, type Common, type ServiceStepInput } from './common.js';

/** The deploy, its approval gate and its proof, for one service and one deploy target. */
export interface DeploySteps {
  block?: BlockStep;
  deploy: CommandStep;
  verify?: CommandStep;
}

export interface DeployStepsInput extends ServiceStepInput {
  /** Distinguishes the targets of one service in step keys, e.g. `staging`. */
  part: string;
  target: DeployTarget;
  /** The checks the deploy waits for (deployWhen). */
  waitFor: readonly string[];
  /** Fields of the verify step (the deploy queue, agent-loss retries only); `common` is the deploy step's (retry on exit 4 too). */
  verifyCommon: Common;
}

/** Bumps the image tag in the service's ops repo overlay; ArgoCD takes it from there. */
export function deploySteps(input: DeployStepsInput): DeploySteps {
  const { service, slug, part, target, image, options } = input;
  const overlay = target.overlay;
  const digestFile = `reports/deploy/${service.service}-${part}.digest`;
  // ArgoCD must be Synced at the commit the bump made: the deploy step hands it to verify.
  const opsCommit = target.argocd ? { file: `reports/deploy/${service.service}-${part}.ops-commit`, key: `engex:${service.service}:${part}:ops-commit` } : undefined;
  const block: BlockStep | undefined =
    target.approval === 'manual'
      ? {
          type: 'block',
          key: `${slug}:approve-${part}`,
          label: `:rocket: Deploy ${service.service} to ${overlay}?`,
          prompt: [
            `Deploy ${service.service} at commit ${image.tag} to ${overlay} (${service.opsRepo}).`,
            `Image digest: the "image ${service.service}" annotation (meta-data ${digestKeyOf(service)}).`,
            `Scan summary: the trivy-${service.service} annotation and the artifact reports/trivy/${service.service}.md.`,
          ].join('\n'),
          dependsOn: [...input.waitFor],
          meta: { kind: 'approval', project: service.project, service: service.service, overlay },
        }
      : undefined;
  const deploy = serviceEngexCiStep(input, {
    job: `deploy-${part}`,
    label: `:rocket: deploy ${service.service} to ${overlay}`,
    reportDirs: ['reports/deploy'],
    commands: [
      { kind: 'meta-data', op: 'get', key: digestKeyOf(service), file: digestFile },
      {
        kind: 'engex-ci',
        bin: options.engexCi,
        call: {
          command: 'deploy bump',
          repo: service.opsRepo,
          overlay,
          image: service.deployImageName,
          tag: image.tag,
          project: service.project,
          digestFile,
          pinDigest: target.pinDigest,
          opsCommitFile: opsCommit?.file,
        },
      },
      ...(opsCommit ? [{ kind: 'meta-data' as const, op: 'set' as const, key: opsCommit.key, file: opsCommit.file }] : []),
    ],
    dependsOn: [...input.waitFor, ...(block ? [block.key] : [])],
    timeoutInMinutes: options.timeouts.deploy,
    // One bump at a time per ops repo: concurrent pushes to it would race.
    concurrency: { group: `engex-deploy/${service.opsRepo}`, limit: 1 },
    // A passed deploy re-run from the UI would bump again outside the approval: rebuild instead.
    retryManual: { permitOnPassed: false },
    meta: { kind: 'deploy', project: service.project, service: service.service, repo: service.opsRepo, overlay, imageName: service.deployImageName, image },
  });
  // Verify whenever there is something to ask: the environment's URL, ArgoCD, or both. A target
  // with neither gets no verify step, and the plan summary says it is unverified.
  if (target.url === undefined && target.argocd === undefined) return { block, deploy };
  const verify: CommandStep = {
    type: 'command',
    key: `${slug}:verify-${part}`,
    label: `:mag: verify ${service.service} in ${overlay}`,
    commands: [
      // The verify job is a fresh checkout too: the meta-data redirect needs its folder.
      ...(opsCommit
        ? [...engexCiPrelude(input, 'reports/deploy'), { kind: 'meta-data' as const, op: 'get' as const, key: opsCommit.key, file: opsCommit.file }]
        : engexCiPrelude(input)),
      {
        kind: 'engex-ci',
        bin: options.engexCi,
        call: {
          command: 'deploy verify',
          url: target.url,
          revision: image.tag,
          argocdServer: target.argocd?.server,
          argocdApp: target.argocd?.application,
          opsCommitFile: opsCommit?.file,
          timeout: `${options.timeouts.verifyDeadline}m`,
        },
      },
    ],
    dependsOn: [deploy.key],
    // The step's own timeout leaves room for setup around verify's deadline.
    timeoutInMinutes: options.timeouts.verifyDeadline + 5,
    ...input.verifyCommon,
    meta: { kind: 'verify', project: service.project, service: service.service, overlay, url: target.url, image },
  };
  return { block, deploy, verify };
}
