import type { ServiceConfig } from '@engex/workspace-config';
import type { CommandStep, ImageRef, PluginUse } from '../pipeline.js';
import { nxRun, type Common, type PlanOptions } from './common.js';

/** Builds the service's image and pushes it, tagged with the commit. */
export function imageStep(
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
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image build', project: service.project } },
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image push', project: service.project } },
    ],
    dependsOn: buildKey ? [buildKey] : [],
    timeoutInMinutes: options.timeouts.image,
    ...common,
    plugins: [ecr],
    // `image build` writes the CycloneDX SBOM of the bundled npm packages here (also baked into the image).
    artifactPaths: [`${service.bundle}/sbom.cdx.json`],
    meta: { kind: 'image', project: service.project, service: service.service, image },
  };
}
