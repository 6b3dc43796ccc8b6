import type { CommandStep, PluginUse } from '../pipeline.js';
import type { ServiceStepInput } from './common.js';

/** Starts the pushed image and checks that it answers. */
export function smokeStep(input: ServiceStepInput & { ecr: PluginUse }): CommandStep {
  const { service, slug, image, options } = input;
  return {
    type: 'command',
    key: `${slug}:smoke`,
    label: `:fire_engine: smoke ${service.service}`,
    commands: [...options.setup, ...options.engexCiSetup, { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image smoke', project: service.project } }],
    dependsOn: [`${slug}:image`],
    timeoutInMinutes: options.timeouts.smoke,
    ...input.common,
    plugins: [input.ecr],
    meta: { kind: 'smoke', project: service.project, service: service.service, image },
  };
}
