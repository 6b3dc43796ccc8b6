import type { ServiceConfig } from '@engex/workspace-config';
import { planImageRefs, type ImageRefs } from '../lib/image-ref.js';
import { planTags } from '../lib/tags.js';
import type { CommandContext } from './context.js';

export interface ServiceImage {
  service: ServiceConfig;
  sha: string;
  refs: ImageRefs;
}

/** The image commands' shared start: the service, the commit and every reference of its image. */
export async function readServiceImage(ctx: CommandContext, project: string): Promise<ServiceImage> {
  const config = await ctx.config();
  const build = ctx.build();
  const service = await ctx.service(project);
  const sha = await ctx.commit();
  const tags = planTags({ sha, branch: build.branch, pullRequest: build.pullRequest, gitTag: build.tag }, config.tags);
  const { target } = await ctx.registry();
  return { service, sha, refs: planImageRefs(target, service.repository, tags) };
}
