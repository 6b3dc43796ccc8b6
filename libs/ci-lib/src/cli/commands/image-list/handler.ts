import { describeEcrImages } from '../../../lib/ecr-credentials.js';
import { listEcrImages, listPlainImages, renderImagesTable } from '../../../lib/list-images.js';
import { stringifyForTerminal } from '../../../lib/terminal-text.js';
import { defineCommand } from '../../define-command.js';
import { outputFormat, wholeNumber } from '../../flag-values.js';
import { IMAGE_LIST } from './command.js';

export const imageList = defineCommand(IMAGE_LIST, async (args, ctx) => {
  const service = await ctx.service(args.project);
  const format = outputFormat(args.format);
  const limit = wholeNumber('limit', args.limit, 1, 9999) ?? 10;
  const { target, client } = await ctx.registry();
  let rows;
  if (target.kind === 'plain') rows = await listPlainImages(client, service.repository, limit);
  else {
    const { client: ecr, call } = await ctx.ecr(target.ecr.region);
    const details = await describeEcrImages(ecr, target.ecr.account, service.repository, call);
    rows = details && (await listEcrImages(details, client, service.repository, limit));
  }
  if (rows === undefined) {
    ctx.note(`repository ${service.repository} does not exist on ${target.host}; run \`engex-ci ecr check --project ${service.service}\``);
    return 1;
  }
  ctx.io.stdout(format === 'json' ? `${stringifyForTerminal({ repository: `${target.host}/${service.repository}`, images: rows })}\n` : renderImagesTable(rows));
  return 0;
});
