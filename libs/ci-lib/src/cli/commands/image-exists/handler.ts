import { defineCommand } from '../../define-command.js';
import { readServiceImage } from '../../image-refs.js';
import { IMAGE_EXISTS } from './command.js';

export const imageExists = defineCommand(IMAGE_EXISTS, async (args, ctx) => {
  const { sha, refs } = await readServiceImage(ctx, args.project);
  const { client } = await ctx.registry();
  const head = await client.headManifest(refs.repository, sha);
  if (!head.exists) {
    ctx.out(`absent ${refs.dest}`);
    return 1;
  }
  ctx.out(`exists ${refs.dest}@${head.digest}`);
  return 0;
});
