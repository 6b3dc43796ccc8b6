import { trustedBranchesFor } from '@engex/workspace-config';
import { UnprovenImageError, UsageError } from '../../../lib/errors.js';
import { pushImage, renderPushResult } from '../../../lib/push-image.js';
import { annotateRefusedPush, createPushProver, pushRecordKey, recordPush, type PushProverOptions } from '../../../lib/push-proof.js';
import { defineCommand } from '../../define-command.js';
import { writeRecord } from '../../flag-values.js';
import { readServiceImage } from '../../image-refs.js';
import { IMAGE_PUSH } from './command.js';

/** The proof lookups of `image push` (meta-data, then Buildkite's API): each within this. */
const PUSH_PROOF_DEADLINE_MS = 30_000;

export const imagePush = defineCommand(IMAGE_PUSH, async (args, ctx) => {
  const { service, sha, refs } = await readServiceImage(ctx, args.project);
  const build = ctx.build();
  const proving: PushProverOptions = {
    env: { ...ctx.env },
    onBuildkite: build.onBuildkite,
    key: pushRecordKey(service.service),
    revision: sha,
    trustedBranches: trustedBranchesFor(await ctx.config(), build.defaultBranch ?? 'main'),
    api: build.api,
    apiBaseUrl: ctx.env['ENGEX_CI_BUILDKITE_API_URL'] || undefined,
    deadlineMs: PUSH_PROOF_DEADLINE_MS,
    retry: ctx.io.retry,
    log: (l) => ctx.note(l),
  };
  const { client } = await ctx.registry();
  let results;
  try {
    results = await pushImage({ refs, revision: sha, docker: ctx.docker(), registry: client, prove: createPushProver(proving), log: (l) => ctx.note(l) });
  } catch (error) {
    if (error instanceof UnprovenImageError) {
      await annotateRefusedPush(proving, `image-push-${service.service}`, `**${service.service}**: image push refused.\n\n\`\`\`\n${error.message}\n\`\`\`\n`);
    }
    throw error;
  }
  const pushed = results.find((r) => r.tag === sha && r.status === 'push');
  if (pushed) await recordPush(proving, pushed.manifestDigest);
  // Before the result lines: a runner takes the last line as the step's outcome.
  if (args.digestFile !== undefined) {
    const own = results.find((r) => r.tag === sha) ?? results[0];
    if (own === undefined) throw new UsageError('image push pushed no tag, so there is no digest to write');
    await writeRecord(ctx.path(args.digestFile), own.manifestDigest);
    ctx.note(`digest ${own.manifestDigest} written to ${args.digestFile}`);
  }
  for (const result of results) ctx.out(renderPushResult(result));
  return 0;
});
