import type { ServiceConfig, WorkspaceConfig } from '@engex/workspace-config';
import type { CommandStep, ImageRef, PluginUse } from '../pipeline.js';
import type { Common, PlanOptions } from './common.js';

/** Trivy scans the pushed image; `engex-ci scan report` gates on it and writes the annotation. */
export function scanStep(
  service: ServiceConfig,
  slug: string,
  image: ImageRef,
  ecr: PluginUse,
  config: WorkspaceConfig,
  options: PlanOptions,
  common: Common,
): CommandStep {
  const output = `reports/trivy/${service.service}.json`;
  const markdown = `reports/trivy/${service.service}.md`;
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
      { kind: 'trivy', image, containerImage, report: output },
      {
        kind: 'engex-ci',
        bin: options.engexCi,
        call: { command: 'scan report', report: output, failOn: config.trivy.failOn, ignoreUnfixed: config.trivy.ignoreUnfixed, annotation: markdown },
        deferFailure: true,
      },
      { kind: 'annotate', style: 'warning', context: `trivy-${service.service}`, bodyFile: markdown },
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
      trivy: { version: config.trivy.version, containerImage, output },
    },
  };
}
