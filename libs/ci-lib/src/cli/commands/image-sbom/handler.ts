import type { ServiceConfig } from '@engex/workspace-config';
import { resolveCreated } from '../../../lib/labels.js';
import { runCommand } from '../../../lib/run-command.js';
import type { CommandContext } from '../../context.js';
import { defineCommand } from '../../define-command.js';
import { IMAGE_SBOM } from './command.js';

export const imageSbom = defineCommand(IMAGE_SBOM, async (args, ctx) => {
  const service = await ctx.service(args.project);
  const sha = await ctx.commit();
  const sbom = await writeServiceSbom(ctx, service, sha);
  ctx.out(`sbom ${sbom.file} ${sbom.digest} packages=${sbom.packages.length}`);
  return 0;
});

/**
 * The SBOM of the service's bundle, what `image build` bakes in too. The CycloneDX library is
 * loaded on first use: it stays external to the bundle (its validator reads the schema files
 * shipped beside it), so only the commands that write an SBOM need node_modules.
 */
export async function writeServiceSbom(ctx: CommandContext, service: ServiceConfig, sha: string) {
  const { writeSbom } = await import('../../../lib/write-sbom.js');
  return writeSbom({ root: ctx.root(), service, sha, timestamp: await sbomTime(ctx, sha) });
}

/**
 * The SBOM's timestamp: SOURCE_DATE_EPOCH, else the commit time, so a rebuild of the same commit
 * writes the same bytes (and the same digest label). The clock only when git cannot say.
 */
async function sbomTime(ctx: CommandContext, sha: string): Promise<Date> {
  const { sourceDateEpoch } = ctx.build();
  if (sourceDateEpoch !== undefined) return resolveCreated(ctx.now(), sourceDateEpoch);
  const seconds = await commitEpoch(ctx.root(), sha);
  return seconds !== undefined ? new Date(Number(seconds) * 1000) : ctx.now();
}

/** The commit's committer time in Unix seconds, or undefined when git cannot say. */
export async function commitEpoch(root: string, sha: string): Promise<string | undefined> {
  const shown = await runCommand('git', ['show', '-s', '--format=%ct', sha], { cwd: root, allowFailure: true }).catch(() => undefined);
  const seconds = shown?.exitCode === 0 ? shown.stdout.trim() : '';
  return /^\d+$/.test(seconds) ? seconds : undefined;
}
