import { verifyDeployment } from '../../../lib/deploy-verify.js';
import { UsageError } from '../../../lib/errors.js';
import { Secret } from '../../../lib/secret.js';
import { FULL_SHA_PATTERN, assertFullSha } from '../../../lib/tags.js';
import { defineCommand } from '../../define-command.js';
import { duration, readRecord, wholeNumber } from '../../flag-values.js';
import { DEPLOY_VERIFY } from './command.js';

export const deployVerify = defineCommand(DEPLOY_VERIFY, async (args, ctx) => {
  const revision = args.revision ?? (await ctx.commit());
  assertFullSha(revision, '--revision');
  const { argocdServer: server, argocdApp: application } = args;
  if ((server === undefined) !== (application === undefined)) throw new UsageError('--argocd-server and --argocd-app go together');
  const token = ctx.env['ARGOCD_AUTH_TOKEN'];
  if (server !== undefined && !token) throw new UsageError('ArgoCD needs a token: set ARGOCD_AUTH_TOKEN in the agent environment (never in the pipeline YAML)');
  const opsCommit =
    args.opsCommit ??
    (args.opsCommitFile === undefined
      ? undefined
      : await readRecord(ctx.path(args.opsCommitFile), 'ops-commit-file', args.opsCommitFile, { pattern: FULL_SHA_PATTERN, what: 'a full commit sha' }));
  const result = await verifyDeployment({
    url: args.url,
    revision,
    argocd: server !== undefined && application !== undefined ? { server, application, token: new Secret(token!), opsCommit } : undefined,
    deadlineMs: duration('timeout', args.timeout ?? '10m'),
    agreeRounds: wholeNumber('rounds', args.rounds, 1, 100, 'consecutive rounds in which every source agrees'),
    log: (l) => ctx.note(l),
  });
  const rounds = `${result.rounds} round${result.rounds === 1 ? '' : 's'}`;
  ctx.out(`verified ${revision} after ${Math.round(result.elapsedMs / 1000)} s (${rounds}): ${result.observations.map((o) => `${o.source} ${o.detail}`).join('; ')}`);
  return 0;
});
