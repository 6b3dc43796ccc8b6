import { readWorkspaceProjects, resolveServiceConfig } from '@engex/workspace-config';
import { readDeployStatus, renderStatusTable } from '../../../lib/deploy-status.js';
import { stringifyForTerminal } from '../../../lib/terminal-text.js';
import { defineCommand } from '../../define-command.js';
import { outputFormat } from '../../flag-values.js';
import { DEPLOY_STATUS } from './command.js';

export const deployStatus = defineCommand(DEPLOY_STATUS, async (args, ctx) => {
  const root = ctx.root();
  const config = await ctx.config();
  const format = outputFormat(args.format);
  const configured =
    args.project !== undefined
      ? [await ctx.service(args.project)]
      : (await readWorkspaceProjects(root)).flatMap((p) => resolveServiceConfig(config, p) ?? []).sort((a, b) => a.service.localeCompare(b.service));
  const { opsRepo } = args;
  const services = opsRepo === undefined ? configured : configured.map((s) => ({ ...s, opsRepo: opsRepo.replaceAll('{service}', s.service) }));
  const { client } = await ctx.registry();
  const rows = await readDeployStatus({
    services,
    root,
    defaultBranch: args.defaultBranch ?? 'main',
    registry: client,
    now: ctx.now(),
    gitDeadlineMs: ctx.deadlines().gitMs,
    env: { ...ctx.env },
    retry: ctx.io.retry,
    tmpRoot: ctx.env['TMPDIR'] || undefined,
  });
  ctx.io.stdout(format === 'json' ? `${stringifyForTerminal({ now: ctx.now().toISOString(), rows })}\n` : renderStatusTable(rows));
  return 0;
});
