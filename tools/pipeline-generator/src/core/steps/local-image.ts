import type { CommandStep } from '../pipeline.js';
import { serviceEngexCiStep, type ImageStepInput } from './common.js';
import { imageInputs, sbomPath } from './image.js';
import { scanCommands, scanFilesOf } from './scan.js';

/**
 * An untrusted build's image step (a pull request, an untrusted branch): what a reviewer needs
 * from the image, on the untrusted agent, with nothing pushed. It builds the image, smokes the
 * local image (`--local`: no pull) and scans it and its SBOM in place (Trivy reads the local
 * engine through the socket), so no other agent needs it and no registry holds it. No ECR login,
 * no `ecr check` (it needs AWS credentials), no meta-data: nothing here can vouch for a digest.
 */
export function localImageStep(input: ImageStepInput): CommandStep {
  const { service, image, options, buildKey } = input;
  const scan = scanFilesOf(service, input.config);
  const inputs = imageInputs(input);
  return serviceEngexCiStep(input, {
    job: 'image',
    label: `:docker: image ${service.service} (build, smoke, scan; not pushed)`,
    reportDirs: ['reports/image', 'reports/trivy'],
    commands: [
      ...inputs.commands,
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image build', project: service.project, sourceDateEpoch: 'commit', builtSbom: inputs.builtSbom } },
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image smoke', project: service.project, local: true } },
      ...scanCommands({ ...input, files: scan }),
    ],
    dependsOn: buildKey ? [buildKey] : [],
    timeoutInMinutes: options.timeouts.image + options.timeouts.scan,
    // As the trusted image step (image.ts): a red build's image is not built, smoked or scanned.
    cancelOnBuildFailing: true,
    plugins: [],
    artifactPaths: [sbomPath(service), scan.output, scan.sbomOutput, scan.markdown],
    meta: { kind: 'image', project: service.project, service: service.service, image, zone: 'local' },
  });
}
