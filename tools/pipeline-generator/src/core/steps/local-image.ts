import type { ServiceConfig, WorkspaceConfig } from '@engex/workspace-config';
import type { CommandStep, ImageRef, StepCommand } from '../pipeline.js';
import { nxRun, type Common, type PlanOptions } from './common.js';
import { sbomPath } from './image.js';
import { scanCommands, scanFilesOf } from './scan.js';

/**
 * An untrusted build's image step (a pull request, an untrusted branch): what a reviewer needs
 * from the image, on the untrusted agent, with nothing pushed. It builds the image, smokes the
 * local image (`--local`: no pull) and scans it and its SBOM in place (Trivy reads the local
 * engine through the socket), so no other agent needs it and no registry holds it. No ECR login,
 * no `ecr check` (it needs AWS credentials), no meta-data: nothing here can vouch for a digest.
 */
export function localImageStep(
  service: ServiceConfig,
  slug: string,
  image: ImageRef,
  buildKey: string | undefined,
  hasBuild: boolean,
  options: PlanOptions,
  common: Common,
  config: Pick<WorkspaceConfig, 'trivy'>,
): CommandStep {
  const scan = scanFilesOf(service, config);
  const commands: StepCommand[] = [
    ...options.setup,
    ...options.engexCiSetup,
    { kind: 'exec', argv: ['mkdir', '-p', 'reports/image', 'reports/trivy'] },
    ...(hasBuild ? [nxRun(options, service.project, 'build')] : []),
    { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image build', project: service.project, sourceDateEpoch: 'commit' } },
    { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image smoke', project: service.project, local: true } },
    ...scanCommands(service, image, scan, config, options),
  ];
  return {
    type: 'command',
    key: `${slug}:image`,
    label: `:docker: image ${service.service} (build, smoke, scan; not pushed)`,
    commands,
    dependsOn: buildKey ? [buildKey] : [],
    timeoutInMinutes: options.timeouts.image + options.timeouts.scan,
    ...common,
    plugins: [],
    artifactPaths: [sbomPath(service), scan.output, scan.sbomOutput, scan.markdown],
    meta: { kind: 'image', project: service.project, service: service.service, image, zone: 'local' },
  };
}
