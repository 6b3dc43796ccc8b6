import { deployBump } from '../../../lib/deploy-bump.js';
import { readCommitRelation } from '../../../lib/deploy-guard.js';
import { UsageError } from '../../../lib/errors.js';
import { FULL_SHA_PATTERN } from '../../../lib/tags.js';
import { defineCommand } from '../../define-command.js';
import { readRecord, writeRecord } from '../../flag-values.js';
import { DEPLOY_BUMP } from './command.js';

export const deployBumpCommand = defineCommand(DEPLOY_BUMP, async (args, ctx) => {
  const root = ctx.root();
  const config = await ctx.config();
  const build = ctx.build();
  const { tag, image } = args;
  const service = args.project !== undefined ? await ctx.service(args.project) : undefined;
  const overlay = args.overlay ?? args.path;
  if (overlay === undefined) throw new UsageError('deploy bump needs --overlay <dir> (the overlay directory in the ops repo)');
  const digest =
    args.digest ??
    (args.digestFile === undefined
      ? undefined
      : await readRecord(ctx.path(args.digestFile), 'digest-file', args.digestFile, {
          pattern: /^sha256:[0-9a-f]{64}$/,
          what: 'sha256:<64 hex>',
          writer: 'the image step records it with image push --digest-file',
        }));
  const revision = build.commit !== undefined && build.commit !== 'HEAD' ? build.commit : FULL_SHA_PATTERN.test(tag) ? tag : await ctx.commit();
  const allowRollback = args.allowRollback === true || ctx.env['ENGEX_ALLOW_ROLLBACK'] === '1' || ctx.env['ENGEX_ALLOW_ROLLBACK'] === 'true';
  const { gitMs } = ctx.deadlines();
  const result = await deployBump({
    deadlineMs: gitMs,
    tmpRoot: ctx.env['TMPDIR'] || undefined,
    repo: args.repo,
    overlay,
    image,
    tag,
    aliases: service && service.deployImageName !== image ? [service.deployImageName] : undefined,
    digest,
    pinDigest: args.pinDigest,
    create: args.create,
    renderer: args.skipRender === true ? 'skip' : undefined,
    relation: (current) => readCommitRelation(current, tag, { cwd: root, env: { ...ctx.env }, deadlineMs: gitMs }),
    allowRollback,
    message: { service: service?.service ?? image.split('/').pop()!, revision, sourceUrl: service?.source ?? config.source, buildUrl: build.buildUrl },
    branch: args.branch,
    author: { name: ctx.env['GIT_AUTHOR_NAME'] || 'engex-ci', email: ctx.env['GIT_AUTHOR_EMAIL'] || 'engex-ci@noreply.hspt.io' },
    env: { ...ctx.env },
    retry: ctx.io.retry,
    log: (l) => ctx.note(l),
  });
  if (result.proof) for (const c of result.proof.containers) ctx.note(`rendered by ${result.proof.renderer}: ${c.resource} ${c.path} (${c.container}) ${c.image}`);
  else ctx.note('not proven by a render (--skip-render): check the overlay with kubectl kustomize');
  // `--ops-commit-file`: the ops-repo commit that carries the tag, for `deploy verify` (ArgoCD Synced at it).
  if (args.opsCommitFile !== undefined) await writeRecord(ctx.path(args.opsCommitFile), result.commit);
  if (result.status === 'already') {
    ctx.out(`already at ${result.tag}: ${result.path} ${result.image} in ${result.repo} (${result.branch}); no commit`);
  } else {
    const change = result.created ? `created entry with newTag ${result.tag}` : `${result.previousTag ?? '(no tag)'} → ${result.tag}`;
    ctx.out(`bumped ${result.path} ${result.image}: ${change} in ${result.repo} (${result.branch}) commit=${result.commit} attempts=${result.attempts}`);
  }
  return 0;
});
