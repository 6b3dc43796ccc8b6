import type { ServiceConfig, WorkspaceConfig } from '@engex/workspace-config';
import type { CommandStep, PluginUse, StepCommand } from '../pipeline.js';
import { serviceEngexCiStep, type ServiceStepInput } from './common.js';
import { sbomPath } from './image.js';

/** The files of one service's scan. */
export interface ScanFiles {
  output: string;
  markdown: string;
  sbom: string;
  sbomOutput: string;
  containerImage: string;
}

/** Where one service's Trivy reports go. */
export function scanFilesOf(service: ServiceConfig, config: Pick<WorkspaceConfig, 'trivy'>): ScanFiles {
  return {
    output: `reports/trivy/${service.service}.json`,
    markdown: `reports/trivy/${service.service}.md`,
    sbom: sbomPath(service),
    sbomOutput: `reports/trivy/${service.service}.sbom.json`,
    containerImage: `aquasec/trivy:${config.trivy.version}`,
  };
}

/**
 * Both Trivy scans and the gate, of an image present on this agent's engine and an SBOM in this
 * checkout; shared by the trusted scan step (after its pull and download) and the untrusted image step.
 */
export function scanCommands(input: Omit<ServiceStepInput, 'common' | 'slug'> & { files: ScanFiles; config: Pick<WorkspaceConfig, 'trivy'> }): StepCommand[] {
  const { service, image, files, config, options } = input;
  return [
    { kind: 'trivy', target: 'image', image, containerImage: files.containerImage, report: files.output },
    { kind: 'trivy', target: 'sbom', sbom: files.sbom, containerImage: files.containerImage, report: files.sbomOutput },
    {
      kind: 'engex-ci',
      bin: options.engexCi,
      call: {
        command: 'scan report',
        args: [files.output],
        sbomReport: files.sbomOutput,
        failOn: config.trivy.failOn.join(','),
        ignoreUnfixed: config.trivy.ignoreUnfixed,
        annotation: files.markdown,
      },
      deferFailure: true,
    },
    { kind: 'annotate', style: 'warning', context: `trivy-${service.service}`, bodyFile: files.markdown },
  ];
}

/**
 * Trivy scans the pushed image (OS packages, runtime) and the image step's SBOM (the npm packages
 * bundled into main.cjs, invisible to an image scan); `engex-ci scan report` gates on both and
 * writes one annotation.
 */
export function scanStep(input: ServiceStepInput & { ecr: PluginUse; config: Pick<WorkspaceConfig, 'trivy'> }): CommandStep {
  const { service, slug, image, options, config } = input;
  const files = scanFilesOf(service, config);
  const { output, markdown, sbom, sbomOutput, containerImage } = files;
  return serviceEngexCiStep(input, {
    job: 'scan',
    label: `:shield: scan ${service.service}`,
    reportDirs: ['reports/trivy'],
    commands: [{ kind: 'pull', image }, { kind: 'artifact-download', path: sbom, step: `${slug}:image` }, ...scanCommands({ ...input, files })],
    dependsOn: [`${slug}:image`],
    timeoutInMinutes: options.timeouts.scan,
    // As the image step (image.ts): no scan of a red build's image.
    cancelOnBuildFailing: true,
    plugins: [input.ecr],
    artifactPaths: [output, sbomOutput, markdown],
    meta: {
      kind: 'scan',
      project: service.project,
      service: service.service,
      image,
      trivy: { version: config.trivy.version, containerImage, output, sbom, sbomOutput },
    },
  });
}
