import { SBOM_FILE, digestMetaDataKey } from '@engex/ci-lib/contract';
import type { ServiceConfig } from '@engex/workspace-config';
import type { CommandStep, PluginUse } from '../pipeline.js';
import { imageReference } from '../shell.js';
import { buildFirst, serviceEngexCiStep, type ImageStepInput } from './common.js';

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
      // Each agent starts clean: the bundle comes from the Nx cache when the build step shared it.
      ...buildFirst(options, service, input.hasBuild),
      // A retried job builds at another time: the commit's time keeps `created`, and so the image, the same.
      { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image build', project: service.project, sourceDateEpoch: 'commit' } },
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

/** Where `image build` writes the SBOM; the image step uploads it and the scan step downloads it. */
export function sbomPath(service: ServiceConfig): string {
  return `${service.bundle}/${SBOM_FILE}`;
}
