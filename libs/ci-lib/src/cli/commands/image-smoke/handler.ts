import { smokeImage } from '../../../lib/smoke-image.js';
import { defineCommand } from '../../define-command.js';
import { readServiceImage } from '../../image-refs.js';
import { IMAGE_SMOKE } from './command.js';

export const imageSmoke = defineCommand(IMAGE_SMOKE, async (args, ctx) => {
  const { sha, refs } = await readServiceImage(ctx, args.project);
  const docker = ctx.docker();
  // No port: smokeImage picks one and starts again on a new one if it was taken before the bind.
  const result = await smokeImage({ docker, reference: refs.dest, revision: sha, pull: args.local !== true, log: (l) => ctx.note(l) });
  ctx.out(`smoke ok ${result.reference} revision=${sha} port=${result.port}`);
  return 0;
});
