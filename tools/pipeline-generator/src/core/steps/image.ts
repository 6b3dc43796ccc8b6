import { BUNDLE_FILE, SBOM_FILE, digestMetaDataKey } from '@engex/ci-lib/contract';
import type { ServiceConfig } from '@engex/workspace-config';
import type { CommandStep, PluginUse, StepCommand } from '../pipeline.js';
import { imageReference } from '../shell.js';
import { nxRun, serviceEngexCiStep, type EngexCiFrom, type ImageStepInput, type ServiceStepInput } from './common.js';

/** Where the image step leaves the pushed digest; the deploy step reads it back through meta-data. */
export function digestFileOf(service: Pick<ServiceConfig, 'service'>): string {
  return `reports/image/${service.service}.digest`;
}

/** The meta-data key of the pushed digest: `engex:<service>:digest`. */
export function digestKeyOf(service: Pick<ServiceConfig, 'service'>): string {
  return digestMetaDataKey(service.service);
}

/**
 * Builds the service's image, pushes it, tagged with the commit, and smokes the pushed image: the
 * smoke test is one command after the push, so a job of its own cost a clone, a restore and an Nx
 * start-up on the critical path for seconds of work (BENCHMARKS.md, bench:agents). A deploy waits
 * for this step, so it still only ever takes a smoked image.
 */
export function imageStep(input: ImageStepInput & { ecr: PluginUse }): CommandStep {
  const { service, image, options, buildKey } = input;
  const ecrReport = `reports/image/${service.service}-ecr.md`;
  const digestFile = digestFileOf(service);
  const context = `image-${service.service}`;
  const inputs = imageInputs(input);
  return serviceEngexCiStep(input, {
    job: 'image',
    label: `:docker: image ${service.service}`,
    reportDirs: ['reports/image'],
    commands: [
      // The preflight: a missing or MUTABLE repository fails here, in seconds, with the Terraform line.
      {
        kind: 'engex-ci',
        bin: options.engexCi,
        call: { command: 'ecr check', project: service.project, annotation: ecrReport, allowMutable: input.config.registry.allowMutable },
        annotateOnFailure: { context: `ecr-${service.service}`, file: ecrReport },
      },
      ...inputs.commands,
      // A retried job builds at another time: the commit's time keeps `created`, and so the image, the same.
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image build', project: service.project, sourceDateEpoch: 'commit', builtSbom: inputs.builtSbom } },
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image push', project: service.project, digestFile } },
      { kind: 'meta-data', op: 'set', key: digestKeyOf(service), file: digestFile },
      { kind: 'annotate', style: 'info', context, body: `**${service.service}** pushed \`${imageReference(image)}\`, digest (meta-data \`${digestKeyOf(service)}\`): ` },
      { kind: 'annotate', style: 'info', context, bodyFile: digestFile, append: true },
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image smoke', project: service.project } },
    ],
    dependsOn: buildKey ? [buildKey] : [],
    timeoutInMinutes: options.timeouts.image + options.timeouts.smoke,
    // A red build gets no image: on bench:agents' failing row this job (build, push, smoke) ran 72.6 s
    // of ours' 163 s agent time after the checks failed (3.05x the single job). The cost: on main, a
    // flaky check retried by hand to green needs this canceled job retried too before the deploy runs.
    cancelOnBuildFailing: true,
    plugins: [input.ecr],
    // `image build` writes the CycloneDX SBOM of the bundled npm packages here (also baked into the image).
    artifactPaths: [digestFile, ecrReport, sbomPath(service)],
    meta: { kind: 'image', project: service.project, service: service.service, image },
  });
}

/** Where `image sbom` writes the SBOM; the image step uploads it and the scan step downloads it. */
export function sbomPath(service: Pick<ServiceConfig, 'bundle'>): string {
  return `${service.bundle}/${SBOM_FILE}`;
}

/**
 * What an image job builds from. From the service's build job (`engexCiFrom`): the bundle and its
 * SBOM, downloaded, and `image build --built-sbom` bakes that SBOM, so the job runs no install, no
 * dependency restore and no Nx: on a halow change the restore and the Nx start-up were most of
 * the image job's time before its Docker build (BENCHMARKS.md, bench:agents). Otherwise (no build
 * job in this build, or engex-ci installed from npm) the service's own `nx run <service>:build`,
 * a cache hit when another job built it, and `image build` writes the SBOM.
 */
export function imageInputs(input: ImageStepInput): { commands: StepCommand[]; builtSbom?: true } {
  const { service, options, engexCiFrom } = input;
  if (engexCiFrom) {
    const files = [`${service.bundle}/${BUNDLE_FILE}`, sbomPath(service)];
    return { commands: files.map((path) => ({ kind: 'artifact-download', path, step: engexCiFrom.step })), builtSbom: true };
  }
  return { commands: input.hasBuild ? [nxRun(options, service.project, 'build')] : [] };
}

/**
 * The service's build job, made to hand its image, scan and deploy jobs what they need: after the
 * build, engex-ci's own build and `image sbom` (it needs node_modules, which this job has), and
 * uploads of the service's bundle, its SBOM and engex-ci's bundle.
 */
export function withImageInputs(step: CommandStep, input: Pick<ServiceStepInput, 'service' | 'options'> & { engexCiFrom: EngexCiFrom }): CommandStep {
  const { service, options, engexCiFrom } = input;
  return {
    ...step,
    commands: [...step.commands, ...options.engexCiSetup, { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image sbom', project: service.project } }],
    artifactPaths: [...step.artifactPaths, `${service.bundle}/${BUNDLE_FILE}`, sbomPath(service), engexCiFrom.bundle],
  };
}
