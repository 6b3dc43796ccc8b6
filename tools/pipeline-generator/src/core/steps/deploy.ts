import type { ServiceConfig } from '@engex/workspace-config';
import type { CommandStep, ImageRef } from '../pipeline.js';
import type { Common, PlanOptions } from './common.js';

/** Bumps the image tag in the service's ops repo overlay; ArgoCD takes it from there. */
export function deployStep(
  service: ServiceConfig,
  slug: string,
  image: ImageRef,
  overlay: string,
  waitFor: readonly string[],
  options: PlanOptions,
  common: Common,
): CommandStep {
  return {
    type: 'command',
    key: `${slug}:deploy`,
    label: `:rocket: deploy ${service.service} to ${overlay}`,
    commands: [
      ...options.setup,
      ...options.engexCiSetup,
      {
        kind: 'engex-ci',
        bin: options.engexCi,
        call: { command: 'deploy bump', repo: service.opsRepo, path: `${overlay}/kustomization.yaml`, image: service.deployImageName, tag: image.tag },
      },
    ],
    dependsOn: [...waitFor],
    timeoutInMinutes: options.timeouts.deploy,
    ...common,
    // One bump at a time per ops repo: concurrent pushes to it would race.
    concurrency: { group: `engex-deploy/${service.opsRepo}`, limit: 1 },
    meta: { kind: 'deploy', project: service.project, service: service.service, repo: service.opsRepo, overlay, imageName: service.deployImageName, image },
  };
}
