import type { ServiceConfig, WorkspaceConfig } from '@engex/workspace-config';
import type { CommandStep, ImageRef, PluginUse } from '../pipeline.js';
import type { Common, PlanOptions } from './common.js';
import { sbomPath } from './image.js';

/**
 * Trivy scans the pushed image (OS packages, runtime) and the image step's SBOM (the npm packages
 * bundled into main.cjs, invisible to an image scan); `engex-ci scan report` gates on both and
 * writes one annotation.
 */
export function scanStep(service: ServiceConfig, slug: string, image: ImageRef, ecr: PluginUse, config: WorkspaceConfig, options: PlanOptions, common: Common): CommandStep {
  const output = `reports/trivy/${service.service}.json`;
  const markdown = `reports/trivy/${service.service}.md`;
  const sbom = sbomPath(service);
  const sbomOutput = `reports/trivy/${service.service}.sbom.json`;
  const containerImage = `aquasec/trivy:${config.trivy.version}`;
  return {
    type: 'command',
    key: `${slug}:scan`,
    label: `:shield: scan ${service.service}`,
    commands: [
      ...options.setup,
      ...options.engexCiSetup,
      { kind: 'exec', argv: ['mkdir', '-p', 'reports/trivy'] },
      { kind: 'pull', image },
      { kind: 'trivy', target: 'image', image, containerImage, report: output },
      { kind: 'artifact-download', path: sbom, step: `${slug}:image` },
      { kind: 'trivy', target: 'sbom', sbom, containerImage, report: sbomOutput },
      {
        kind: 'engex-ci',
        bin: options.engexCi,
        call: {
          command: 'scan report',
          args: [output],
          sbomReport: sbomOutput,
          failOn: config.trivy.failOn.join(','),
          ignoreUnfixed: config.trivy.ignoreUnfixed,
          annotation: markdown,
        },
        deferFailure: true,
      },
      { kind: 'annotate', style: 'warning', context: `trivy-${service.service}`, bodyFile: markdown },
    ],
    dependsOn: [`${slug}:image`],
    timeoutInMinutes: options.timeouts.scan,
    ...common,
    plugins: [ecr],
    artifactPaths: [output, sbomOutput, markdown],
    meta: {
      kind: 'scan',
      project: service.project,
      service: service.service,
      image,
      trivy: { version: config.trivy.version, containerImage, output, sbom, sbomOutput },
    },
  };
}
