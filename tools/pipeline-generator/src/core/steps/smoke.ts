import type { ServiceConfig } from '@engex/workspace-config';
import type { CommandStep, ImageRef, PluginUse } from '../pipeline.js';
import type { Common, PlanOptions } from './common.js';

/** Starts the pushed image and checks that it answers. */
export function smokeStep(service: ServiceConfig, slug: string, image: ImageRef, ecr: PluginUse, options: PlanOptions, common: Common): CommandStep {
  return {
    type: 'command',
    key: `${slug}:smoke`,
    label: `:fire_engine: smoke ${service.service}`,
    commands: [...options.setup, ...options.engexCiSetup, { kind: 'engex-ci', bin: options.engexCi, call: { command: 'image smoke', project: service.project } }],
    dependsOn: [`${slug}:image`],
    timeoutInMinutes: options.timeouts.smoke,
    ...common,
    plugins: [ecr],
    meta: { kind: 'smoke', project: service.project, service: service.service, image },
  };
}
